/**
 * The training service on real PostgreSQL: submission rules, quota atomicity, priority dispatch, progress events,
 * cancellation across processes, one runner per job, a killed worker process, and the circuit breaker. The
 * pipeline is the controllable fixture (test/fixtures/fake-pipeline.ts) so these tests measure the queue, not the
 * engine; the real engine runs end to end in training-e2e.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getStorage } from '../src/core/storage/index.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { SERVER_BIN, SHARED_DATA } from './helpers/repo.ts';
import { createUser, type TestUser } from './helpers/users.ts';

const FAKE = fileURLToPath(new URL('./fixtures/fake-pipeline.ts', import.meta.url));
process.env.VIOLAWAKE_TRAINING_PIPELINE_MODULE = FAKE;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false>,
  ms = 30_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Recording rows (and objects) for a user, as the upload route would leave them. */
async function addRecordings(server: TestServer, userId: number, word: string, n: number): Promise<number[]> {
  const ids: number[] = [];
  const storage = getStorage(server.ctx);
  const wav = readFileSync(path.join(SHARED_DATA, 'computer/0386da81-9db7-499c-b4f8-910beec53c23.wav'));
  for (let i = 0; i < n; i++) {
    const r = await server.ctx.database.query<{ id: number }>(
      `INSERT INTO recordings (user_id, wake_word, filename, storage_key, source_format, duration_s, size_bytes)
       VALUES ($1, $2, 'x.wav', 'pending-' || gen_random_uuid(), 'wav', 1.5, $3) RETURNING id`,
      [userId, word, wav.length],
    );
    const id = Number(r.rows[0]!.id);
    const key = `recordings/${userId}/${id}.wav`;
    await storage.put(key, wav);
    await server.ctx.database.query('UPDATE recordings SET storage_key = $1, filename = $2 WHERE id = $3', [
      key,
      `${id}.wav`,
      id,
    ]);
    ids.push(id);
  }
  return ids;
}

async function job(server: TestServer, user: TestUser, id: number) {
  const res = await fetch(`${server.url}/api/jobs/${id}`, { headers: user.headers });
  return (await res.json()) as any;
}

async function submit(
  server: TestServer,
  user: TestUser,
  body: Record<string, unknown>,
  route = '/api/training/start',
) {
  return fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { ...user.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function usage(server: TestServer, userId: number): Promise<number> {
  const r = await server.ctx.database.query<{ n: number }>(
    `SELECT coalesce(sum(count), 0)::int AS n FROM usage_records WHERE user_id = $1`,
    [userId],
  );
  return r.rows[0]!.n;
}

const cleanup: (() => Promise<void>)[] = [];

/** Environment for the training child processes of in-process workers (they inherit process.env). */
function withEnv(vars: Record<string, string>): void {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  cleanup.push(async () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!().catch(() => {});
});

describe('submission (API only, no workers)', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Billing is off here, so the free plan's 3 trainings a month come from the configuration.
    server = await startTestServer({
      workers: false,
      env: { VIOLAWAKE_QUEUE_MAX_SIZE: '3', VIOLAWAKE_MONTHLY_TRAININGS: 'free=3' },
    });
  });
  afterAll(() => server?.close());

  it('validates the request and the recordings, changing no usage on rejection', async () => {
    // The submit bucket allows 5 requests an hour per user: each case gets its own user and recordings.
    const other = await createUser(server, { verified: true });
    const foreign = await addRecordings(server, other.id, 'hey viola', 1);
    const fresh = async () => {
      const u = await createUser(server, { verified: true });
      return { u, ids: await addRecordings(server, u.id, 'hey viola', 6) };
    };
    let { u, ids } = await fresh();
    const cases: [Record<string, unknown>, number, unknown][] = [
      [
        { wake_word: 'hey viola', recording_ids: [...ids.slice(0, 4), foreign[0]] },
        404,
        `Recordings not found: ${foreign[0]}`,
      ],
      [{ wake_word: 'hey viola', recording_ids: ids.slice(0, 4) }, 400, 'Need at least 5 recordings. Got 4.'],
      [
        { wake_word: 'hey other', recording_ids: ids.slice(0, 5) },
        400,
        "All recordings must be for the wake word 'hey other'",
      ],
      [
        { wake_word: 'hey, viola', recording_ids: ids },
        400,
        'Wake word may only contain letters, digits, spaces, apostrophes and hyphens',
      ],
      [
        { wake_word: 'hey viola', recording_ids: ids, text_only: true },
        400,
        'A text-only job takes no recordings: send recording_ids as an empty list.',
      ],
    ];
    for (const [body, status, detail] of cases) {
      const res = await submit(server, u, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(((await res.json()) as any).detail).toEqual(detail);
    }
    expect(await usage(server, u.id)).toBe(0);
    ({ u, ids } = await fresh());
    const dup = await submit(server, u, {
      wake_word: 'hey viola',
      recording_ids: [ids[0], ids[0], ids[1], ids[2], ids[3]],
    });
    expect(dup.status).toBe(422);
    const schema = await submit(server, u, { wake_word: 'hey viola', recording_ids: ids, epochs: 2 });
    expect(schema.status).toBe(422);
    expect(((await schema.json()) as any).detail[0]).toMatchObject({
      loc: ['body', 'epochs'],
      type: 'greater_than_equal',
    });
    expect(await usage(server, u.id)).toBe(0);
    const unverified = await createUser(server, { verified: false });
    expect((await submit(server, unverified, { wake_word: 'x', recording_ids: [1] })).status).toBe(403);
  });

  it('accepts exactly the free quota of 3 out of 20 concurrent submissions', async () => {
    const u = await createUser(server, { verified: true });
    const ids = await addRecordings(server, u.id, 'computer', 5);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        submit(
          server,
          u,
          { wake_word: 'computer', recording_ids: ids },
          i % 2 ? '/api/jobs' : '/api/training/start',
        ),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(3);
    expect(statuses.every((s) => [202, 403, 429].includes(s))).toBe(true);
    const forbidden = results.find((r) => r.status === 403)!;
    // Without billing there is nothing to buy: no upgrade link, the administrator raises the limit.
    expect(forbidden.headers.get('x-upgrade-url')).toBeNull();
    expect(((await forbidden.json()) as any).detail).toBe(
      'Monthly training limit reached (3/3). Ask the administrator of this server to raise it or change your plan.',
    );
    expect(await usage(server, u.id)).toBe(3);
    const jobs = (await (await fetch(`${server.url}/api/jobs`, { headers: u.headers })).json()) as any[];
    expect(jobs).toHaveLength(3);
    expect(jobs.map((j: any) => j.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('reports queue positions, answers 503 when the queue is full, and cancels a queued job', async () => {
    await server.ctx.database.query(`UPDATE training_jobs SET status = 'cancelled' WHERE status = 'queued'`);
    const users = await Promise.all([1, 2, 3, 4].map(() => createUser(server, { verified: true })));
    const jobIds: number[] = [];
    for (const u of users.slice(0, 3)) {
      const res = await submit(server, u, { wake_word: 'hey jarvis', recording_ids: [], text_only: true });
      expect(res.status).toBe(202);
      jobIds.push(((await res.json()) as any).job_id);
    }
    const full = await submit(server, users[3]!, {
      wake_word: 'hey jarvis',
      recording_ids: [],
      text_only: true,
    });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('60');
    expect(((await full.json()) as any).detail).toBe('Training queue is full. Please try again later.');
    expect(await usage(server, users[3]!.id)).toBe(0);
    const status = (await (
      await fetch(`${server.url}/api/training/status/${jobIds[2]}`, { headers: users[2]!.headers })
    ).json()) as any;
    expect(status).toMatchObject({
      status: 'queued',
      queue_position: 3,
      message: 'Waiting in queue (position 3)',
      stage: 'queued',
    });
    expect(
      (await fetch(`${server.url}/api/training/status/${jobIds[2]}`, { headers: users[0]!.headers })).status,
    ).toBe(404);
    const cancel = await fetch(`${server.url}/api/jobs/${jobIds[0]}`, {
      method: 'DELETE',
      headers: users[0]!.headers,
    });
    expect(cancel.status).toBe(200);
    expect((await cancel.json()) as any).toEqual({ message: 'Training job cancellation requested' });
    const after = await job(server, users[0]!, jobIds[0]!);
    expect(after).toMatchObject({
      status: 'cancelled',
      error_code: 'cancelled',
      error: 'Training cancelled by user',
    });
    const again = await fetch(`${server.url}/api/jobs/${jobIds[0]}`, {
      method: 'DELETE',
      headers: users[0]!.headers,
    });
    expect(again.status).toBe(409);
    const moved = (await (
      await fetch(`${server.url}/api/training/status/${jobIds[2]}`, { headers: users[2]!.headers })
    ).json()) as any;
    expect(moved.queue_position).toBe(2);
  });
});

describe('workers', () => {
  it('dispatches by tier priority, streams progress over SSE, and completes with a stored model', {
    timeout: 180_000,
  }, async () => {
    const db = await createTestDatabase();
    const api = await startTestServer({ workers: false, database: db });
    cleanup.push(async () => {
      await api.close();
      await db.drop();
    });
    const corpusDir = mkdtempSync(path.join(tmpdir(), 'vw-corpus-'));
    cleanup.push(async () => rmSync(corpusDir, { recursive: true, force: true }));
    const tiers = ['free', 'developer', 'business'] as const;
    const users: TestUser[] = [];
    const jobIds: number[] = [];
    for (const tier of tiers) {
      const u = await createUser(api, { verified: true });
      await api.ctx.database.query(
        `INSERT INTO subscriptions (user_id, tier, status) VALUES ($1, $2, 'active')
         ON CONFLICT (user_id) DO UPDATE SET tier = $2, status = 'active'`,
        [u.id, tier],
      );
      const ids = await addRecordings(api, u.id, 'computer', 5);
      const res = await submit(api, u, { wake_word: 'computer', recording_ids: ids });
      expect(res.status).toBe(202);
      users.push(u);
      jobIds.push(((await res.json()) as any).job_id);
    }
    // SSE for the free user's job: the current state arrives on connect.
    const controller = new AbortController();
    const stream = await fetch(`${api.url}/api/training/stream/${jobIds[0]}`, {
      headers: users[0]!.headers,
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    expect(stream.headers.get('x-request-id')).toBeTruthy();
    const events: any[] = [];
    const reading = (async () => {
      const reader = stream.body!.getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += new TextDecoder().decode(value);
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)));
          i = buf.indexOf('\n\n');
        }
      }
    })();
    await waitFor(async () => events.length > 0, 10_000, 'first event');
    expect(events[0]).toMatchObject({ job_id: jobIds[0], status: 'queued', queue_position: 3 });

    // One worker process, one job at a time: business first, then developer, then free.
    withEnv({ FAKE_PIPELINE_MS: '800' });
    const worker = await startTestServer({
      database: db,
      env: {
        VIOLAWAKE_MAX_CONCURRENT_JOBS: '1',
        VIOLAWAKE_STORAGE_DIR: api.ctx.config.storageDir,
        VIOLAWAKE_NEGATIVES_CORPUS_DIR: corpusDir,
      },
    });
    cleanup.push(() => worker.close());
    const done = await waitFor(
      async () => {
        const all = await Promise.all(jobIds.map((id, i) => job(api, users[i]!, id)));
        return all.every((j) => ['completed', 'failed', 'cancelled'].includes(j.status)) ? all : null;
      },
      150_000,
      'all jobs finished',
    );
    expect(done.map((j: any) => j.status)).toEqual(['completed', 'completed', 'completed']);
    const order = [...done]
      .sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at))
      .map((j) => j.job_id);
    expect(order).toEqual([jobIds[2], jobIds[1], jobIds[0]]);
    await reading;
    const stages = events.map((e) => e.stage);
    expect(stages[0]).toBe('queued');
    expect(stages).toEqual(expect.arrayContaining(['preparing', 'training', 'done']));
    const last = events[events.length - 1];
    expect(last).toMatchObject({
      status: 'completed',
      progress: 100,
      stage: 'done',
      d_prime: 4.2,
      quality_grade: 'B',
    });
    expect(typeof last.model_id).toBe('number');
    const progresses = events.filter((e) => e.status === 'running').map((e) => e.progress);
    expect([...progresses].sort((a, b) => a - b)).toEqual(progresses);
    // The model row, its objects, the takes kept (docs/training.md), the completion email.
    const model = await api.ctx.database.query<any>('SELECT * FROM trained_models WHERE id = $1', [
      last.model_id,
    ]);
    expect(model.rows[0]).toMatchObject({ wake_word: 'computer', quality_grade: 'B' });
    expect(await getStorage(worker.ctx).exists(model.rows[0].storage_key)).toBe(true);
    const recs = await api.ctx.database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM recordings WHERE user_id = $1 AND deleted_at IS NULL',
      [users[0]!.id],
    );
    expect(recs.rows[0]!.n).toBe(5);
    const mail = await api.ctx.database.query(`SELECT 1 FROM email_outbox WHERE dedupe_key = $1`, [
      `training_complete:${jobIds[0]}`,
    ]);
    expect(mail.rows).toHaveLength(1);
    // the curated negatives corpus goes to the paid tiers' jobs only
    const corpora = await Promise.all(
      done.map(async (j: any) => {
        const row = await api.ctx.database.query<any>(
          'SELECT manifest_key FROM trained_models WHERE id = $1',
          [j.model_id],
        );
        const manifest = JSON.parse(
          (await getStorage(worker.ctx).getBytes(row.rows[0].manifest_key)).toString(),
        );
        return manifest.training.corpus_dir;
      }),
    );
    expect(corpora).toEqual([null, corpusDir, corpusDir]);
    controller.abort();
  });

  it('runs a job exactly once with two worker processes, and cancels it from the API process', async () => {
    const db = await createTestDatabase();
    const api = await startTestServer({ workers: false, database: db });
    withEnv({ FAKE_PIPELINE_MS: '20000' });
    const env = { VIOLAWAKE_JOB_HEARTBEAT_SECONDS: '1' };
    const w1 = await startTestServer({ database: db, env });
    const w2 = await startTestServer({ database: db, env });
    cleanup.push(async () => {
      await Promise.all([api.close(), w1.close(), w2.close()]);
      await db.drop();
    });
    const u = await createUser(api, { verified: true });
    const res = await submit(api, u, { wake_word: 'hey jarvis', recording_ids: [], text_only: true });
    const { job_id } = (await res.json()) as any;
    const running = await waitFor(
      async () => {
        const j = await job(api, u, job_id);
        return j.status === 'running' && j.stage === 'training' ? j : null;
      },
      30_000,
      'running',
    );
    expect(running.attempts).toBe(1);
    const owners = await api.ctx.database.query<{ worker_id: string }>(
      'SELECT worker_id FROM training_jobs WHERE id = $1',
      [job_id],
    );
    expect(owners.rows[0]!.worker_id).toBeTruthy();
    // Cancel through the API process; the owning worker process stops the child.
    const cancel = await fetch(`${api.url}/api/jobs/${job_id}`, { method: 'DELETE', headers: u.headers });
    expect(cancel.status).toBe(200);
    const final = await waitFor(
      async () => {
        const j = await job(api, u, job_id);
        return j.status === 'cancelled' ? j : null;
      },
      15_000,
      'cancelled',
    );
    expect(final).toMatchObject({ error_code: 'cancelled', attempts: 1, cancel_requested: true });
    expect(await usage(api, u.id)).toBe(1); // cancellations are not refunded
    const boss = await api.ctx.database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'training' AND state IN ('active', 'completed', 'failed')`,
    );
    expect(boss.rows[0]!.n).toBe(1);
  });

  it('retries a job once after its worker process is killed with SIGKILL, charging usage once', async () => {
    const db = await createTestDatabase();
    const api = await startTestServer({ workers: false, database: db });
    const dir = mkdtempSync(path.join(tmpdir(), 'vw-kill-'));
    let child: ChildProcess | null = spawn(process.execPath, [SERVER_BIN, 'worker'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        VIOLAWAKE_DB_URL: db.url,
        VIOLAWAKE_DATA_DIR: dir,
        VIOLAWAKE_STORAGE_DIR: api.ctx.config.storageDir,
        VIOLAWAKE_SECRET_KEY: api.ctx.config.secretKey,
        VIOLAWAKE_TRAINING_PIPELINE_MODULE: FAKE,
        FAKE_PIPELINE_MS: '30000',
        VIOLAWAKE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let workerLog = '';
    child.stdout!.on('data', (d) => (workerLog += d));
    child.stderr!.on('data', (d) => (workerLog += d));
    cleanup.push(async () => {
      child?.kill('SIGKILL');
      await api.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    });
    const u = await createUser(api, { verified: true });
    const ids = await addRecordings(api, u.id, 'computer', 5);
    const { job_id } = (await (
      await submit(api, u, { wake_word: 'computer', recording_ids: ids })
    ).json()) as any;
    // a cold `violawake worker` (tsx compiling the sources) can take long to start on a loaded CI machine
    await waitFor(
      async () => (await job(api, u, job_id)).status === 'running',
      150_000,
      'running in the worker process',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; worker output:\n${workerLog.slice(-4000)}`);
    });
    child.kill('SIGKILL');
    child = null;
    // A second worker with a short staleness window reaps the job, retries it, and completes it.
    withEnv({ FAKE_PIPELINE_MS: '600' });
    const w2 = await startTestServer({
      database: db,
      env: {
        VIOLAWAKE_JOB_STALE_SECONDS: '2',
        VIOLAWAKE_JOB_HEARTBEAT_SECONDS: '0.5',
        VIOLAWAKE_STORAGE_DIR: api.ctx.config.storageDir,
      },
    });
    cleanup.push(() => w2.close());
    // Reap as soon as the dead worker's heartbeat is older than the window (not on the 15 s timer).
    await waitFor(
      async () => {
        await w2.ctx.trainingWorker?.reap();
        const j = await job(api, u, job_id);
        return j.status !== 'running' || j.attempts === 2;
      },
      30_000,
      'reaped',
    );
    const final = await waitFor(
      async () => {
        const j = await job(api, u, job_id);
        return ['completed', 'failed'].includes(j.status) ? j : null;
      },
      60_000,
      'finished after retry',
    );
    // the whole row on failure (error_code, message), not just the status
    expect(final).toMatchObject({ status: 'completed', attempts: 2 });
    expect(await usage(api, u.id)).toBe(1);
  }, 300_000);

  it('fails with the pipeline error, refunds, and pauses the queue after repeated failures until resumed', async () => {
    const db = await createTestDatabase();
    withEnv({ FAKE_PIPELINE_MS: '200', FAKE_PIPELINE_FAIL: 'internal' });
    const w = await startTestServer({
      database: db,
      env: {
        VIOLAWAKE_BREAKER_BACKOFF_SECONDS: '0',
        VIOLAWAKE_BREAKER_FAILURE_THRESHOLD: '2',
        VIOLAWAKE_MAX_CONCURRENT_JOBS: '1',
      },
    });
    cleanup.push(async () => {
      await w.close();
      await db.drop();
    });
    const u = await createUser(w, { verified: true });
    await w.ctx.database.query(
      `INSERT INTO subscriptions (user_id, tier, status) VALUES ($1, 'business', 'active')`,
      [u.id],
    );
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await submit(w, u, { wake_word: 'hey jarvis', recording_ids: [], text_only: true });
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as any).job_id);
    }
    const first = await waitFor(
      async () => {
        const j = await job(w, u, ids[0]!);
        return j.status === 'failed' ? j : null;
      },
      30_000,
      'first failure',
    );
    expect(first).toMatchObject({
      error_code: 'internal',
      error: 'Training failed because of an internal error.',
    });
    await waitFor(async () => (await job(w, u, ids[1]!)).status === 'failed', 30_000, 'second failure');
    const third = await waitFor(
      async () => {
        const j = (await (
          await fetch(`${w.url}/api/training/status/${ids[2]}`, { headers: u.headers })
        ).json()) as any;
        return j.message?.includes('paused') ? j : null;
      },
      30_000,
      'third job held',
    );
    expect(third).toMatchObject({ status: 'queued', queue_position: null });
    const breaker = (await (
      await fetch(`${w.url}/api/jobs/circuit-breaker/state`, { headers: u.headers })
    ).json()) as any;
    expect(breaker).toMatchObject({
      consecutive_failures: 2,
      paused: true,
      pause_reason: 'Training failed because of an internal error.',
    });
    expect(await usage(w, u.id)).toBe(1); // 3 charged, 2 refunded
    delete process.env.FAKE_PIPELINE_FAIL;
    const resumed = await fetch(`${w.url}/api/jobs/resume`, { method: 'POST', headers: u.headers });
    expect((await resumed.json()) as any).toEqual({ message: 'Training queue resumed' });
    const done = await waitFor(
      async () => {
        const j = await job(w, u, ids[2]!);
        return j.status === 'completed' ? j : null;
      },
      30_000,
      'resumed job completed',
    );
    expect(done.status).toBe('completed');
    const reset = (await (
      await fetch(`${w.url}/api/jobs/circuit-breaker/state`, { headers: u.headers })
    ).json()) as any;
    expect(reset).toMatchObject({ consecutive_failures: 0, paused: false });
  });
});
