/**
 * The README's curl quick start cannot rot: the ```sh block under "## API quick start (curl)" is run verbatim with
 * bash (curl + jq) against a running server on real PostgreSQL, with the variables it names (`VW`, `EMAIL`,
 * `PASSWORD`) and six spoken takes (espeak-ng) in the working directory. The pipeline is the controllable fixture,
 * so this measures the API, not the engine. The downloaded file must be the stored model, byte for byte.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStorage } from '../src/core/storage/index.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { REPO_ROOT } from './helpers/repo.ts';
import { createUser } from './helpers/users.ts';

process.env.VIOLAWAKE_TRAINING_PIPELINE_MODULE = fileURLToPath(
  new URL('./fixtures/fake-pipeline.ts', import.meta.url),
);
process.env.FAKE_PIPELINE_MS = '300';

/** The first ```sh block after the quick-start heading. */
export function quickStartBlock(readme: string): string {
  const start = readme.indexOf('## API quick start (curl)');
  if (start < 0) throw new Error('README has no "## API quick start (curl)" section');
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(start));
  if (!m) throw new Error('the quick-start section has no sh block');
  return m[1]!;
}

function run(script: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(path.join(tmpdir(), 'vw-quickstart-'));
  for (let i = 0; i < 6; i++) {
    const f = path.join(dir, `take${i + 1}.wav`);
    execFileSync('espeak-ng', ['-s', String(120 + 12 * i), '-p', String(35 + 6 * i), '-w', f, 'hey nova']);
  }
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('README curl quick start', () => {
  it('runs as written: key → upload → train → poll → download', { timeout: 120_000 }, async () => {
    const script = quickStartBlock(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
    for (const step of ['/api/auth/api-keys', '/api/recordings/upload', '/api/jobs', '/download']) {
      expect(script).toContain(step);
    }
    const user = await createUser(server, { password: "quick start pass'word 1" });
    const res = await run(script, dir, { VW: server.url, EMAIL: user.email, PASSWORD: user.password });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);

    const db = server.ctx.database;
    const keys = await db.query('SELECT name FROM api_keys WHERE user_id = $1', [user.id]);
    expect(keys.rows).toEqual([{ name: 'quick start' }]);
    const recs = await db.query('SELECT wake_word FROM recordings WHERE user_id = $1', [user.id]);
    expect(recs.rows).toHaveLength(6);
    expect(new Set(recs.rows.map((r: any) => r.wake_word))).toEqual(new Set(['hey nova']));
    const jobs = await db.query<any>(
      'SELECT status, recording_ids, model_id FROM training_jobs WHERE user_id = $1',
      [user.id],
    );
    expect(jobs.rows).toHaveLength(1);
    expect(jobs.rows[0].status).toBe('completed');
    expect(jobs.rows[0].recording_ids).toHaveLength(6);
    const model = await db.query<any>('SELECT storage_key FROM trained_models WHERE id = $1', [
      jobs.rows[0].model_id,
    ]);
    const stored = await getStorage(server.ctx).get(model.rows[0].storage_key);
    const chunks: Buffer[] = [];
    for await (const c of stored) chunks.push(Buffer.from(c));
    const downloaded = readFileSync(path.join(dir, 'hey_nova.onnx'));
    expect(downloaded.length).toBeGreaterThan(1000);
    expect(downloaded.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('stops with curl’s error when a step is refused (wrong password: 401 at the first step)', async () => {
    const script = quickStartBlock(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
    const user = await createUser(server);
    const res = await run(script, dir, { VW: server.url, EMAIL: user.email, PASSWORD: 'not the password' });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/401/);
    const jobs = await server.ctx.database.query('SELECT 1 FROM training_jobs WHERE user_id = $1', [user.id]);
    expect(jobs.rows).toHaveLength(0);
  });
});
