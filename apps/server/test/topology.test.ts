/**
 * Issue 24: the multi-machine topology of deploy/compose.yaml, started as processes with the same commands and the
 * same environment (production mode, PostgreSQL, an S3-compatible store, explicit log email provider): two API
 * processes (`violawake serve --no-workers`) and two workers (`violawake worker`) sharing one engine directory, as
 * the compose file's `engine` volume. An account registered and verified (from the emailed link, which a worker
 * wrote) through API 1 uploads takes and submits a job through API 1; a worker trains it with the real engine
 * (reduced data volumes); the model is followed and downloaded through API 2, and its objects are in the S3 store.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { type Proc, spawnViolawake, waitFor } from './helpers/processes.ts';
import { SHARED_DATA } from './helpers/repo.ts';
import { type S3Server, startS3Server } from './storage-helpers.ts';

const began = Date.now();
const mark = (what: string) =>
  process.stderr.write(`topology +${((Date.now() - began) / 1000).toFixed(1)} s: ${what}\n`);

let db: TestDatabase;
let s3: S3Server;
const dirs: string[] = [];
const procs: Proc[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startS3Server('violawake');
}, 60_000);
afterAll(async () => {
  for (const p of procs) await p.stop('SIGTERM').catch(() => {});
  await s3?.close();
  await db?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The compose file's x-violawake environment, pointed at the local services. */
function composeEnv(dataDir: string, consoleBaseUrl: string): Record<string, string> {
  return {
    VIOLAWAKE_ENV: 'production',
    VIOLAWAKE_SECRET_KEY: 'topology-test-secret-Zq8vN2pX5rT9wK3mB7cF1hJ4gL6dS0aY',
    VIOLAWAKE_CONSOLE_BASE_URL: consoleBaseUrl,
    VIOLAWAKE_DB_URL: db.url,
    VIOLAWAKE_S3_ENDPOINT: s3.endpoint,
    VIOLAWAKE_S3_BUCKET: 'violawake',
    VIOLAWAKE_S3_ACCESS_KEY_ID: s3.config.accessKeyId,
    VIOLAWAKE_S3_SECRET_ACCESS_KEY: s3.config.secretAccessKey,
    VIOLAWAKE_S3_REGION: 'us-east-1',
    VIOLAWAKE_S3_FORCE_PATH_STYLE: 'true',
    VIOLAWAKE_DATA_DIR: dataDir,
    VIOLAWAKE_EMAIL_PROVIDER: 'log',
    // small engine data volumes (the suite's values) so the real training takes a minute, not ten
    VIOLAWAKE_ENGINE_BANK_SCALE: '0.02',
    VIOLAWAKE_ENGINE_SYNTH_SCALE: '0.25',
  };
}

async function dbq(text: string, params: unknown[]): Promise<unknown[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

describe('two API processes and two workers on PostgreSQL and S3', () => {
  it('a job submitted through API 1 trains on a worker and downloads through API 2', async () => {
    // The workers share one engine directory (the compose file's `engine` volume); the suite's warm cache.
    const engine = path.join(tmpdir(), 'violawake-test-engine-cache');
    mkdirSync(engine, { recursive: true });
    const dataDir = (name: string, sharedEngine: boolean) => {
      const d = mkdtempSync(path.join(tmpdir(), `vw-topo-${name}-`));
      dirs.push(d);
      if (sharedEngine) symlinkSync(engine, path.join(d, 'engine'), 'dir');
      return d;
    };
    const base = 'http://console.example.test';
    const workerDirs = [dataDir('worker-1', true), dataDir('worker-2', true)];
    const [api1, api2, w1, w2] = await Promise.all([
      spawnViolawake('api-1', ['serve', '--no-workers'], composeEnv(dataDir('api-1', false), base)),
      spawnViolawake('api-2', ['serve', '--no-workers'], composeEnv(dataDir('api-2', false), base)),
      spawnViolawake('worker-1', ['worker'], composeEnv(workerDirs[0]!, base), { http: false }),
      spawnViolawake('worker-2', ['worker'], composeEnv(workerDirs[1]!, base), { http: false }),
    ]);
    procs.push(api1!, api2!, w1!, w2!);
    mark('four processes up');

    // Register through API 1; production with the log provider verifies nobody: the link is in a worker's mail.
    const email = 'topology@example.com';
    const password = 'correct horse battery staple 9';
    const reg = await fetch(`${api1!.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password, name: 'Topo' }),
    });
    expect(reg.status).toBe(201);
    const { token } = (await reg.json()) as { token: string };
    const verifyToken = await waitFor(
      'the verification email in a worker',
      async () => {
        for (const d of workerDirs) {
          const mail = path.join(d, 'mail');
          if (!existsSync(mail)) continue;
          for (const f of readdirSync(mail).filter((x) => x.endsWith('.txt'))) {
            const text = readFileSync(path.join(mail, f), 'utf8');
            const m = /[?&]token=([A-Za-z0-9._-]+)/.exec(text);
            if (text.includes(email) && m) {
              expect(text).toContain(base); // the link points where people open the console
              return m[1]!;
            }
          }
        }
        return null;
      },
      60_000,
    );
    const verify = await fetch(`${api2!.url}/api/auth/verify-email`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: verifyToken }),
    });
    expect(verify.status, await verify.clone().text()).toBe(200);
    const headers = { Authorization: `Bearer ${token}` };

    // Upload five takes and submit the job through API 1.
    const dir = path.join(SHARED_DATA, 'computer');
    const takes = readdirSync(dir)
      .filter((f) => f.endsWith('.wav'))
      .sort()
      .slice(0, 6);
    const ids: number[] = [];
    for (const f of takes) {
      const form = new FormData();
      form.append('wake_word', 'computer');
      form.append('file', new Blob([readFileSync(path.join(dir, f))], { type: 'audio/wav' }), f);
      const res = await fetch(`${api1!.url}/api/recordings/upload`, { method: 'POST', headers, body: form });
      expect(res.status, await res.clone().text()).toBe(200);
      ids.push(((await res.json()) as { recording_id: number }).recording_id);
    }
    const start = await fetch(`${api1!.url}/api/jobs`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ wake_word: 'computer', recording_ids: ids }),
    });
    expect(start.status, await start.clone().text()).toBe(202);
    const { job_id } = (await start.json()) as { job_id: number };
    mark(`job ${job_id} submitted through api-1`);

    // Follow it through API 2 to the end.
    const final = await waitFor(
      'the job to finish (followed through api-2)',
      async () => {
        const j = (await (
          await fetch(`${api2!.url}/api/jobs/${job_id}`, { headers, signal: AbortSignal.timeout(10_000) })
        ).json()) as { status: string; model_id?: number; error?: string };
        return ['completed', 'failed', 'cancelled'].includes(j.status) ? j : null;
      },
      480_000,
    );
    mark(`job ${final.status}`);
    expect(final.status, JSON.stringify(final)).toBe('completed');
    // it ran once (one attempt), on one of the worker processes: the API processes have no workers
    const row = (await dbq(`SELECT attempts, status FROM training_jobs WHERE id = $1`, [job_id]))[0] as {
      attempts: number;
      status: string;
    };
    expect(row.attempts).toBe(1);

    // Download through API 2, and the same bytes through API 1; the objects are in the S3 store.
    const dl = await fetch(`${api2!.url}/api/models/${final.model_id}/download?format=onnx`, { headers });
    expect(dl.status).toBe(200);
    const onnx = Buffer.from(await dl.arrayBuffer());
    expect(onnx.length).toBeGreaterThan(1000);
    const again = await fetch(`${api1!.url}/api/models/${final.model_id}/download?format=onnx`, { headers });
    expect(
      createHash('sha256')
        .update(Buffer.from(await again.arrayBuffer()))
        .digest('hex'),
    ).toBe(createHash('sha256').update(onnx).digest('hex'));
    for (const d of [...workerDirs]) {
      // nothing was written to a local storage directory: every object went to S3
      expect(existsSync(path.join(d, 'storage', 'models'))).toBe(false);
    }
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3.config.accessKeyId, secretAccessKey: s3.config.secretAccessKey },
    });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'violawake' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    expect(keys).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^models\/.*\.onnx$/),
        expect.stringMatching(/^recordings\//),
      ]),
    );
    client.destroy();
  }, 600_000);
});
