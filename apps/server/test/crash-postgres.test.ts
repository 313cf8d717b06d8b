/**
 * Issue 26 crash test: PostgreSQL crashes (`pg_ctl stop -m immediate` on a cluster of the test's own, never the shared
 * one), stays down for 3 s and starts again while an API process and a worker process are running a training job, taking signed
 * Stripe webhooks (redelivered until answered, as Stripe does) and recording uploads. Afterwards, without
 * restarting either process: both are ready again, the job ends completed or failed with a reason, every webhook
 * effect exists exactly once, every upload is complete or absent, and a new job runs and can be cancelled from the
 * API (the worker's notification listener came back).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OwnPostgres, startOwnPostgres } from './helpers/own-postgres.ts';
import { type Proc, registerAndLogin, spawnViolawake, waitFor, waitReady } from './helpers/processes.ts';
import { SHARED_DATA } from './helpers/repo.ts';
import {
  deliver,
  eventPayload,
  type StripeStub,
  startStripeStub,
  TEST_WEBHOOK_SECRET,
  type TestEvent,
} from './helpers/stripe-stub.ts';
import { uploadBody } from './recordings-helpers.ts';

const FAKE = fileURLToPath(new URL('./fixtures/fake-pipeline.ts', import.meta.url));
const USERS = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const began = Date.now();
const mark = (what: string) =>
  process.stderr.write(`crash-postgres +${((Date.now() - began) / 1000).toFixed(1)} s: ${what}\n`);

let own: OwnPostgres;
let dbUrl: string;
let dataDir: string;
let stub: StripeStub;
let client: pg.Client | null = null;
const procs: Proc[] = [];

/** A client that reconnects (the cluster restarts under it). */
async function q<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  for (let i = 0; ; i++) {
    try {
      if (!client) {
        client = new pg.Client({ connectionString: dbUrl });
        client.on('error', () => {});
        await client.connect();
      }
      return (await client.query<T>(text, params)).rows;
    } catch (err) {
      await client?.end().catch(() => {});
      client = null;
      if (i > 50) throw err;
      await sleep(200);
    }
  }
}

beforeAll(async () => {
  own = await startOwnPostgres();
  const admin = new pg.Client({ connectionString: own.url });
  await admin.connect();
  await admin.query('CREATE DATABASE violawake_crash');
  await admin.end();
  dbUrl = own.url.replace(/\/postgres$/, '/violawake_crash');
  dataDir = mkdtempSync(path.join(tmpdir(), 'vw-crash-pg-'));
  stub = await startStripeStub();
}, 120_000);
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL').catch(() => {});
  await client?.end().catch(() => {});
  own?.destroy();
  await stub?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    VIOLAWAKE_DB_URL: dbUrl,
    VIOLAWAKE_DATA_DIR: dataDir,
    VIOLAWAKE_SECRET_KEY: 'crash-postgres-secret-key-0123456789abcdefghijkl',
    VIOLAWAKE_DB_POOL_MAX: '10',
    VIOLAWAKE_STRIPE_SECRET_KEY: 'sk_test_crash_pg',
    VIOLAWAKE_STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    VIOLAWAKE_STRIPE_PRICE_DEVELOPER: 'price_dev_pg',
    VIOLAWAKE_STRIPE_PRICE_BUSINESS: 'price_biz_pg',
    VIOLAWAKE_STRIPE_API_BASE: stub.url,
    VIOLAWAKE_TRAINING_PIPELINE_MODULE: FAKE,
    VIOLAWAKE_JOB_HEARTBEAT_SECONDS: '1',
    VIOLAWAKE_JOB_STALE_SECONDS: '4',
    ...extra,
  };
}

interface Job {
  job_id: number;
  status: string;
  attempts?: number;
  error_code?: string | null;
  error?: string | null;
  message?: string | null;
}

describe('PostgreSQL restart under load', () => {
  it('both processes recover; jobs end cleanly, webhooks apply exactly once, uploads are whole or absent', async () => {
    const api = await spawnViolawake('api', ['serve', '--no-workers'], env());
    procs.push(api);
    const worker = await spawnViolawake('worker', ['worker'], env({ FAKE_PIPELINE_MS: '8000' }), {
      http: false,
    });
    procs.push(worker);
    const headers = await registerAndLogin(api.url!, 'crash-pg@example.com');
    const json = { ...headers, 'Content-Type': 'application/json' };
    const submit = async () => {
      const res = await fetch(`${api.url}/api/jobs`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ wake_word: 'hey jarvis', recording_ids: [], text_only: true }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      return ((await res.json()) as Job).job_id;
    };
    const getJob = async (id: number): Promise<Job> =>
      (await (
        await fetch(`${api.url}/api/jobs/${id}`, { headers, signal: AbortSignal.timeout(10_000) })
      ).json()) as Job;

    // Webhook users (subscriptions written directly) and their events.
    const t0 = Math.floor(Date.now() / 1000) - 100;
    const events: TestEvent[] = [];
    for (let i = 0; i < USERS; i++) {
      const [u] = await q<{ id: string }>(
        `INSERT INTO users (email, password_hash, name, email_verified) VALUES ($1, 'x', 'Hook', true) RETURNING id`,
        [`hook-${i}@example.com`],
      );
      await q(
        `INSERT INTO subscriptions (user_id, tier, status, stripe_customer_id, stripe_subscription_id)
         VALUES ($1, 'developer', 'active', $2, $3)`,
        [u!.id, `cus_pg_${i}`, `sub_pg_${i}`],
      );
      events.push({
        id: `evt_pg_${i}`,
        type: 'invoice.payment_failed',
        created: t0 + 1,
        object: {
          id: `in_pg_${i}`,
          customer: `cus_pg_${i}`,
          attempt_count: 1,
          parent: { subscription_details: { subscription: `sub_pg_${i}` } },
        },
      });
    }
    const payloads = events.map(eventPayload);

    mark('processes up');
    const jobId = await submit();
    await waitFor(
      'the job running in the worker',
      async () => (await getJob(jobId)).status === 'running',
      120_000,
    );

    // Load during the crash: webhooks redelivered until a 200 (Stripe's retries, here every 300 ms) and uploads.
    let restarted = false;
    const webhookStatuses: number[] = [];
    let nextEvent = 0;
    const hookSender = async () => {
      while (nextEvent < payloads.length) {
        const p = payloads[nextEvent++]!;
        const giveUp = Date.now() + 30_000;
        while (Date.now() < giveUp && api.child.exitCode === null && api.child.signalCode === null) {
          const status = await Promise.race([
            deliver(api.url!, p),
            sleep(15_000).then(() => {
              throw new Error('timeout');
            }),
          ]).then(
            (r) => r.status,
            () => 0,
          );
          webhookStatuses.push(status);
          if (status === 200) break;
          await sleep(300);
        }
        await sleep(60); // spread the events over the restart
      }
    };
    const takes = readdirSync(path.join(SHARED_DATA, 'computer'))
      .filter((f) => f.endsWith('.wav'))
      .sort()
      .slice(0, 12)
      .map((f) => readFileSync(path.join(SHARED_DATA, 'computer', f)));
    const uploaded: number[] = [];
    const uploadStatuses: number[] = [];
    const uploader = async () => {
      for (const take of takes) {
        if (api.child.exitCode !== null) break;
        const { body, contentType } = uploadBody(take, 'computer');
        const res = await fetch(`${api.url}/api/recordings/upload`, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': contentType },
          body,
          signal: AbortSignal.timeout(15_000),
        }).catch(() => null);
        uploadStatuses.push(res?.status ?? 0);
        if (res?.status === 200) uploaded.push(((await res.json()) as { recording_id: number }).recording_id);
        await sleep(150);
      }
    };
    mark('job running');
    const load = Promise.all([hookSender(), hookSender(), uploader()]);
    await sleep(400);
    // A crash (no shutdown checkpoint, every session cut), three seconds down, then a start (crash recovery).
    const t = Date.now();
    own.stop('immediate');
    await sleep(3000);
    own.start();
    restarted = true;
    const restartMs = Date.now() - t;
    mark('restarted');
    const watchdog = setInterval(() => {
      mark(
        `webhooks ${JSON.stringify(countBy(webhookStatuses))}, uploads ${JSON.stringify(countBy(uploadStatuses))}`,
      );
    }, 5000);
    await load;
    clearInterval(watchdog);
    if (webhookStatuses.includes(0) || uploadStatuses.includes(0)) {
      const activity = await q(
        `SELECT pid, state, wait_event, left(query, 120) AS query, now() - state_change AS for FROM pg_stat_activity WHERE datname = 'violawake_crash'`,
      );
      mark(
        `requests hung; database sessions: ${JSON.stringify(activity)}\napi:\n${api.output().slice(-3000)}`,
      );
    }
    mark(
      `load done: webhooks ${JSON.stringify(countBy(webhookStatuses))}, uploads ${JSON.stringify(countBy(uploadStatuses))}`,
    );
    expect(restarted).toBe(true);
    // no request hung (status 0 = no answer within 15 s or connection refused)
    expect({
      webhooks: webhookStatuses.filter((x) => x === 0).length,
      uploads: uploadStatuses.filter((x) => x === 0).length,
    }).toEqual({ webhooks: 0, uploads: 0 });

    // Both processes are still there and ready again, without being restarted.
    expect(api.child.exitCode, api.output().slice(-2000)).toBeNull();
    expect(worker.child.exitCode, worker.output().slice(-2000)).toBeNull();
    await waitReady(api, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\napi:\n${api.output().slice(-4000)}`);
    });

    mark('api ready');
    // The job that was running ends: completed (possibly on a second attempt) or failed with a reason.
    const final = await waitFor(
      'the interrupted job to finish',
      async () => {
        const j = await getJob(jobId);
        return ['completed', 'failed', 'cancelled'].includes(j.status) ? j : null;
      },
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nworker:\n${worker.output().slice(-3000)}`);
    });
    if (final.status === 'failed') expect(final.error_code ?? final.error ?? final.message).toBeTruthy();
    else expect(final.status).toBe('completed');

    mark(`job ${final.status}`);
    // Webhooks: everything was eventually answered; a full redelivery changes nothing; each effect once.
    expect(webhookStatuses.filter((s) => s === 200)).toHaveLength(USERS);
    // the outage really overlapped the deliveries: some were refused and redelivered
    expect(webhookStatuses.filter((s) => s !== 200).length).toBeGreaterThan(0);
    for (const p of payloads) expect((await deliver(api.url!, p)).status).toBe(200);
    const processed = await q<{ event_id: string }>(
      `SELECT event_id FROM processed_stripe_events WHERE event_id LIKE 'evt_pg_%' ORDER BY event_id`,
    );
    expect(processed.map((r) => r.event_id)).toEqual(events.map((e) => e.id).sort());
    const mails = await q<{ dedupe_key: string; n: number }>(
      `SELECT dedupe_key, count(*)::int AS n FROM email_outbox WHERE template = 'payment_failed' GROUP BY 1`,
    );
    expect(mails).toHaveLength(USERS);
    for (const m of mails) expect(m.n).toBe(1);
    const states = await q<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM subscriptions WHERE stripe_subscription_id LIKE 'sub_pg_%' GROUP BY 1`,
    );
    expect(states).toEqual([{ status: 'past_due', n: USERS }]);

    // Uploads: every answered one is stored whole; no row without its object.
    const rows = await q<{ id: string; storage_key: string; size_bytes: number }>(
      `SELECT id, storage_key, size_bytes FROM recordings WHERE deleted_at IS NULL`,
    );
    const ids = new Set(rows.map((r) => Number(r.id)));
    for (const id of uploaded) expect(ids.has(id)).toBe(true);
    expect(rows.length).toBe(uploaded.length); // a refused upload left no row
    for (const r of rows) {
      const bytes = readFileSync(path.join(dataDir, 'storage', r.storage_key));
      expect(bytes.length).toBe(Number(r.size_bytes));
    }

    mark('webhooks and uploads checked');
    // Recovery: a new job runs to completion, and a cancel sent to the API reaches the worker.
    const second = await submit();
    await waitFor('the new job running', async () => (await getJob(second)).status === 'running', 60_000);
    const del = await fetch(`${api.url}/api/jobs/${second}`, { method: 'DELETE', headers });
    expect(del.status).toBeLessThan(300);
    const cancelled = await waitFor(
      'the cancel to reach the worker',
      async () => {
        const j = await getJob(second);
        return ['cancelled', 'failed', 'completed'].includes(j.status) ? j : null;
      },
      30_000,
    );
    expect(cancelled.status).toBe('cancelled');
    const third = await submit();
    const done = await waitFor(
      'a job after the restart to complete',
      async () => {
        const j = await getJob(third);
        return ['completed', 'failed'].includes(j.status) ? j : null;
      },
      90_000,
    );
    expect(done.status).toBe('completed');
    const model = await fetch(`${api.url}/api/models`, { headers });
    expect(model.status).toBe(200);

    console.log(
      `crash-postgres: restart took ${restartMs} ms; job ${jobId} ${final.status} after ${final.attempts ?? '?'} attempt(s); webhook answers ${JSON.stringify(
        countBy(webhookStatuses),
      )}; uploads ${JSON.stringify(countBy(uploadStatuses))}, ${rows.length} stored`,
    );
    await worker.stop('SIGTERM');
    await api.stop('SIGTERM');
  }, 300_000);
});

function countBy(xs: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
