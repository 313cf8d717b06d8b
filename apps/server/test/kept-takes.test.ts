/**
 * Kept takes (docs/training.md, "Kept takes") on real PostgreSQL: takes stay after training and train a second
 * model; retraining from a deleted take is a clear 404 that charges and queues nothing; another user's take ids
 * answer 404 everywhere and change nothing; retention and account deletion remove the takes and their objects.
 * The takes are real speech (espeak-ng) sent through the upload route; the pipeline is the controllable fixture.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStorage } from '../src/core/storage/index.ts';
import { runRetention } from '../src/ops/retention.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser, type TestUser } from './helpers/users.ts';

process.env.VIOLAWAKE_TRAINING_PIPELINE_MODULE = fileURLToPath(
  new URL('./fixtures/fake-pipeline.ts', import.meta.url),
);
process.env.FAKE_PIPELINE_MS = '300';

const WORD = 'hey nova';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Six spoken takes of "hey nova": espeak-ng at different speeds and pitches (16 kHz-ish WAV). */
function speakTakes(dir: string, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `take${i + 1}.wav`);
    execFileSync('espeak-ng', ['-s', String(120 + 12 * i), '-p', String(35 + 6 * i), '-w', f, WORD]);
    out.push(readFileSync(f));
  }
  return out;
}

let server: TestServer;
let dir: string;
let takes: Buffer[];
beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(path.join(tmpdir(), 'vw-kept-'));
  takes = speakTakes(dir, 6);
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(user: TestUser | null, method: string, url: string, body?: unknown) {
  const res = await fetch(server.url + url, {
    method,
    headers: { ...(user?.headers ?? {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body: json, text };
}

async function upload(user: TestUser, wav: Buffer): Promise<number> {
  const form = new FormData();
  form.append('wake_word', WORD);
  form.append('file', new Blob([wav], { type: 'audio/wav' }), 'take.wav');
  const res = await fetch(`${server.url}/api/recordings/upload`, {
    method: 'POST',
    headers: user.headers,
    body: form,
  });
  const body = (await res.json()) as any;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.recording_id;
}

async function finished(user: TestUser, jobId: number) {
  const end = Date.now() + 60_000;
  for (;;) {
    const s = await call(user, 'GET', `/api/jobs/${jobId}`);
    if (['completed', 'failed', 'cancelled'].includes(s.body.status)) return s.body;
    if (Date.now() > end) throw new Error(`job ${jobId} still ${s.body.status}`);
    await sleep(200);
  }
}

async function usage(userId: number): Promise<number> {
  const r = await server.ctx.database.query<{ n: number }>(
    'SELECT coalesce(sum(count), 0)::int AS n FROM usage_records WHERE user_id = $1',
    [userId],
  );
  return r.rows[0]!.n;
}

async function storageKeys(userId: number): Promise<string[]> {
  const r = await server.ctx.database.query<{ storage_key: string }>(
    'SELECT storage_key FROM recordings WHERE user_id = $1 ORDER BY id',
    [userId],
  );
  return r.rows.map((x) => x.storage_key);
}

describe('kept takes', () => {
  it('keeps the takes after training and trains a second model from them', { timeout: 120_000 }, async () => {
    const user = await createUser(server);
    const ids: number[] = [];
    for (const t of takes) ids.push(await upload(user, t));
    const first = await call(user, 'POST', '/api/jobs', { wake_word: WORD, recording_ids: ids.slice(0, 5) });
    expect(first.status).toBe(202);
    const job1 = await finished(user, first.body.job_id);
    expect(job1.status).toBe('completed');

    const listed = await call(user, 'GET', `/api/recordings?wake_word=${encodeURIComponent(WORD)}`);
    expect(listed.status).toBe(200);
    expect(listed.body.map((r: any) => r.id).sort()).toEqual([...ids].sort());
    const audio = await fetch(`${server.url}/api/recordings/${ids[0]}/audio`, { headers: user.headers });
    expect(audio.status).toBe(200);
    expect(
      Buffer.from(await audio.arrayBuffer())
        .subarray(0, 4)
        .toString(),
    ).toBe('RIFF');

    // The alias takes the same body: the second model from kept takes 2–6.
    const second = await call(user, 'POST', '/api/training/start', {
      wake_word: WORD,
      recording_ids: ids.slice(1),
    });
    expect(second.status).toBe(202);
    const job2 = await finished(user, second.body.job_id);
    expect(job2.status).toBe('completed');
    expect(job2.model_id).not.toBe(job1.model_id);
    const models = await call(user, 'GET', '/api/models');
    expect(models.body.filter((m: any) => m.wake_word === WORD)).toHaveLength(2);
    // Retention with the defaults keeps trained takes (only the 90-day age limit applies).
    await runRetention(server.ctx);
    expect((await call(user, 'GET', '/api/recordings')).body).toHaveLength(6);
  });

  it('refuses to retrain from a deleted take with a 404, charging and queueing nothing', async () => {
    const user = await createUser(server);
    const ids: number[] = [];
    for (const t of takes) ids.push(await upload(user, t));
    expect((await call(user, 'DELETE', `/api/recordings/${ids[0]}`)).status).toBe(204);
    expect((await call(user, 'DELETE', `/api/recordings/${ids[0]}`)).status).toBe(404);
    const before = await usage(user.id);
    const res = await call(user, 'POST', '/api/jobs', { wake_word: WORD, recording_ids: ids.slice(0, 5) });
    expect(res.status).toBe(404);
    expect(res.body.detail).toBe(`Recordings not found: ${ids[0]}`);
    expect(await usage(user.id)).toBe(before);
    expect((await call(user, 'GET', '/api/jobs')).body).toEqual([]);
    // Nothing else was lost: the five remaining takes still train.
    expect((await call(user, 'GET', '/api/recordings')).body).toHaveLength(5);
    const ok = await call(user, 'POST', '/api/jobs', { wake_word: WORD, recording_ids: ids.slice(1) });
    expect(ok.status).toBe(202);
    expect((await finished(user, ok.body.job_id)).status).toBe('completed');
  });

  it("answers 404 for another user's take ids and changes nothing", async () => {
    const owner = await createUser(server);
    const other = await createUser(server);
    const ids: number[] = [];
    for (const t of takes.slice(0, 5)) ids.push(await upload(owner, t));
    expect((await call(other, 'GET', `/api/recordings/${ids[0]}/audio`)).status).toBe(404);
    const del = await call(other, 'DELETE', `/api/recordings/${ids[0]}`);
    expect(del.status).toBe(404);
    expect(del.body.detail).toBe('Recording not found');
    expect((await call(other, 'GET', '/api/recordings')).body).toEqual([]);
    const train = await call(other, 'POST', '/api/jobs', { wake_word: WORD, recording_ids: ids });
    expect(train.status).toBe(404);
    expect(train.body.detail).toBe(`Recordings not found: ${ids.join(', ')}`);
    expect((await call(owner, 'GET', '/api/recordings')).body).toHaveLength(5);
    expect((await call(null, 'GET', `/api/recordings/${ids[0]}/audio`)).status).toBe(401);
  });

  it('removes trained takes after VIOLAWAKE_POST_TRAINING_RETENTION_HOURS and old takes after the age limit', {
    timeout: 60_000,
  }, async () => {
    const user = await createUser(server);
    const ids: number[] = [];
    for (const t of takes) ids.push(await upload(user, t));
    const job = await call(user, 'POST', '/api/jobs', { wake_word: WORD, recording_ids: ids.slice(0, 5) });
    expect((await finished(user, job.body.job_id)).status).toBe('completed');
    const keys = await storageKeys(user.id);
    const storage = getStorage(server.ctx);
    // Opt-in post-training limit of 24 h: the job completed 25 h ago, so its five takes go; the sixth stays.
    await server.ctx.database.query(
      `UPDATE training_jobs SET completed_at = now() - interval '25 hours' WHERE id = $1`,
      [job.body.job_id],
    );
    const withHours = { ...server.ctx, config: { ...server.ctx.config, postTrainingRetentionHours: 24 } };
    const r1 = await runRetention(withHours);
    expect(r1.trained_recordings_deleted).toBeGreaterThanOrEqual(5);
    const left = (await call(user, 'GET', '/api/recordings')).body.map((r: any) => r.id);
    expect(left).toEqual([ids[5]]);
    for (const k of keys.slice(0, 5)) expect(await storage.exists(k)).toBe(false);
    expect(await storage.exists(keys[5]!)).toBe(true);
    // The age limit (VIOLAWAKE_RECORDING_RETENTION_DAYS, default 90) takes the last one.
    await server.ctx.database.query(
      `UPDATE recordings SET created_at = now() - interval '91 days' WHERE id = $1`,
      [ids[5]],
    );
    const r2 = await runRetention(server.ctx);
    expect(r2.recordings_deleted).toBeGreaterThanOrEqual(1);
    expect((await call(user, 'GET', '/api/recordings')).body).toEqual([]);
    expect(await storage.exists(keys[5]!)).toBe(false);
  });

  it('never removes by retention the takes of a queued or running job', { timeout: 60_000 }, async () => {
    const user = await createUser(server);
    const ids: number[] = [];
    for (const t of takes.slice(0, 5)) ids.push(await upload(user, t));
    const job = await call(user, 'POST', '/api/jobs', { wake_word: WORD, recording_ids: ids });
    expect((await finished(user, job.body.job_id)).status).toBe('completed');
    const keys = await storageKeys(user.id);
    const storage = getStorage(server.ctx);
    // Past the age limit, but a job that trains from them is running again (as after a retry): they stay.
    await server.ctx.database.query(
      `UPDATE recordings SET created_at = now() - interval '91 days' WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    await server.ctx.database.query(`UPDATE training_jobs SET status = 'running' WHERE id = $1`, [
      job.body.job_id,
    ]);
    await runRetention(server.ctx);
    const kept = (await call(user, 'GET', '/api/recordings')).body.map((r: any) => r.id);
    expect(kept.sort((a: number, b: number) => a - b)).toEqual(ids);
    for (const k of keys) expect(await storage.exists(k)).toBe(true);
    // Once the job is finished, the age limit applies.
    await server.ctx.database.query(`UPDATE training_jobs SET status = 'completed' WHERE id = $1`, [
      job.body.job_id,
    ]);
    const r = await runRetention(server.ctx);
    expect(r.recordings_deleted).toBeGreaterThanOrEqual(5);
    expect((await call(user, 'GET', '/api/recordings')).body).toEqual([]);
    for (const k of keys) expect(await storage.exists(k)).toBe(false);
  });

  it('deletes the kept takes and their objects with the account', { timeout: 60_000 }, async () => {
    const user = await createUser(server);
    const ids: number[] = [];
    for (const t of takes.slice(0, 5)) ids.push(await upload(user, t));
    const job = await call(user, 'POST', '/api/jobs', { wake_word: WORD, recording_ids: ids });
    expect((await finished(user, job.body.job_id)).status).toBe('completed');
    const keys = await storageKeys(user.id);
    expect(keys).toHaveLength(5);
    const storage = getStorage(server.ctx);
    for (const k of keys) expect(await storage.exists(k)).toBe(true);
    expect((await call(user, 'DELETE', '/api/auth/account')).status).toBe(200);
    for (const k of keys) expect(await storage.exists(k)).toBe(false);
    const rows = await server.ctx.database.query('SELECT 1 FROM recordings WHERE id = ANY($1::bigint[])', [
      ids,
    ]);
    expect(rows.rows).toHaveLength(0);
  });
});
