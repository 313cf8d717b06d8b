/**
 * `npm run bench:billing`: signed Stripe webhook ingestion rate on real PostgreSQL.
 *
 * Spawns the real server (`node apps/server/bin/violawake.mjs serve`) on a fresh database, a local Stripe stub for
 * the API base, seeds users with subscriptions, then POSTs payloads signed by the real `stripe` SDK:
 *   1. distinct events (each one claims its row, changes a subscription and queues an email, in one transaction);
 *   2. the same events again (duplicates: verified, one indexed read finds the row, no transaction);
 *   3. one event delivered many times concurrently (hot duplicate on one key).
 * A bare Fastify endpoint doing the same signature check (bench/billing-bare.mjs) is measured in the same run, before
 * and after, as the reference for the ratios. Writes bench/results/billing.json and bench/results/billing.md.
 * BENCH_CPU_PROF=<dir> runs the server under `node --cpu-prof` (profile written there on exit).
 *
 * Options (env): BENCH_EVENTS (default 3000), BENCH_CONCURRENCY (default 16), BENCH_HOT (default 500).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase } from '../apps/server/test/helpers/db.ts';
import {
  eventPayload,
  signPayload,
  startStripeStub,
  subscriptionObject,
  TEST_WEBHOOK_SECRET,
  type TestEvent,
} from '../apps/server/test/helpers/stripe-stub.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'apps/server/bin/violawake.mjs');
const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const HOT = Number(process.env.BENCH_HOT ?? 500);
const USERS = 500;
const PRICE_DEV = 'price_bench_dev';
const PRICE_BIZ = 'price_bench_biz';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, out: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${out()}`);
    const ok = await fetch(`${url}/api/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server not ready:\n${out()}`);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Phase {
  name: string;
  requests: number;
  seconds: number;
  per_second: number;
  latency_ms: { p50: number; p95: number; p99: number; max: number };
  non_200: number;
}

/** POST pre-built (body, signature) pairs with `concurrency` senders; signatures are made fresh per request. */
async function run(name: string, url: string, bodies: string[], concurrency: number): Promise<Phase> {
  // Signing is the sender's job (Stripe's); do it before the clock starts. Timestamps stay within tolerance.
  const signed = bodies.map((b) => ({ body: b, sig: signPayload(b) }));
  const latencies: number[] = [];
  let non200 = 0;
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < signed.length) {
        const { body, sig } = signed[next++]!;
        const t = performance.now();
        const res = await fetch(`${url}/api/billing/webhook`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Stripe-Signature': sig },
          body,
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        if (res.status !== 200) non200++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    name,
    requests: bodies.length,
    seconds: r2(seconds),
    per_second: Math.round((bodies.length / seconds) * 10) / 10,
    latency_ms: {
      p50: r2(percentile(latencies, 50)),
      p95: r2(percentile(latencies, 95)),
      p99: r2(percentile(latencies, 99)),
      max: r2(latencies[latencies.length - 1] ?? 0),
    },
    non_200: non200,
  };
}

async function main() {
  const db = await createTestDatabase('vwbench');
  const stub = await startStripeStub();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vw-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  const profDir = process.env.BENCH_CPU_PROF;
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profDir)] : [];
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--no-workers'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      VIOLAWAKE_DB_URL: db.url,
      VIOLAWAKE_DATA_DIR: dataDir,
      VIOLAWAKE_HOST: '127.0.0.1',
      VIOLAWAKE_PORT: String(port),
      VIOLAWAKE_SECRET_KEY: 'bench-secret-key-0123456789abcdefghijklmnop',
      VIOLAWAKE_LOG_LEVEL: 'warn',
      VIOLAWAKE_DB_POOL_MAX: '10',
      VIOLAWAKE_STRIPE_SECRET_KEY: 'sk_test_bench',
      VIOLAWAKE_STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      VIOLAWAKE_STRIPE_PRICE_DEVELOPER: PRICE_DEV,
      VIOLAWAKE_STRIPE_PRICE_BUSINESS: PRICE_BIZ,
      VIOLAWAKE_STRIPE_API_BASE: stub.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  // The reference: a bare Fastify endpoint doing the same signature check (no database), in the same run.
  const barePort = await freePort();
  const bareUrl = `http://127.0.0.1:${barePort}`;
  let bareOut = '';
  const bare = spawn(process.execPath, [path.join(ROOT, 'bench/billing-bare.mjs')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      BARE_PORT: String(barePort),
      BARE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  bare.stdout!.on('data', (d) => (bareOut += d));
  bare.stderr!.on('data', (d) => (bareOut += d));
  const client = new pg.Client({ connectionString: db.url });
  try {
    await waitReady(url, child, () => out);
    await waitReady(bareUrl, bare, () => bareOut);
    await client.connect();
    const pgVersion = ((await client.query('SHOW server_version')).rows[0] as { server_version: string })
      .server_version;
    await client.query(
      `INSERT INTO users (email, password_hash, name, email_verified)
       SELECT 'bench-' || g || '@example.com', 'x', 'Bench', true FROM generate_series(1, $1::int) g`,
      [USERS],
    );
    await client.query(
      `INSERT INTO subscriptions (user_id, tier, status, stripe_customer_id, stripe_subscription_id)
       SELECT id, 'developer', 'active', 'cus_bench_' || id, 'sub_bench_' || id FROM users`,
    );
    const ids = (await client.query('SELECT id FROM users ORDER BY id')).rows.map((r: { id: string }) =>
      Number(r.id),
    );

    const t0 = Math.floor(Date.now() / 1000) - 3600;
    const events: TestEvent[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const uid = ids[i % ids.length]!;
      const customer = `cus_bench_${uid}`;
      const subscription = `sub_bench_${uid}`;
      // A realistic mix: payment failures (state + email), subscription updates (state), invoice.paid (state).
      const kind = i % 3;
      events.push(
        kind === 0
          ? {
              id: `evt_bench_${i}`,
              type: 'invoice.payment_failed',
              created: t0 + i,
              object: {
                id: `in_bench_${i}`,
                customer,
                attempt_count: 1,
                parent: { subscription_details: { subscription } },
              },
            }
          : kind === 1
            ? {
                id: `evt_bench_${i}`,
                type: 'customer.subscription.updated',
                created: t0 + i,
                object: subscriptionObject({
                  id: subscription,
                  customer,
                  status: 'active',
                  price: i % 2 ? PRICE_BIZ : PRICE_DEV,
                }),
              }
            : {
                id: `evt_bench_${i}`,
                type: 'invoice.paid',
                created: t0 + i,
                object: {
                  id: `in_bench_paid_${i}`,
                  customer,
                  parent: { subscription_details: { subscription } },
                },
              },
      );
    }
    const bodies = events.map(eventPayload);
    // Warm-up (JIT, connection pool), on events outside the measured set.
    await run(
      'warmup',
      url,
      Array.from({ length: 200 }, (_, i) =>
        eventPayload({ id: `evt_warm_${i}`, type: 'ping', created: t0, object: { id: 'x' } }),
      ),
      CONCURRENCY,
    );

    await run('warmup_bare', bareUrl, bodies.slice(0, 200), CONCURRENCY);

    const loadBefore = os.loadavg()[0]!;
    const bareBefore = await run('bare_signature_check', bareUrl, bodies, CONCURRENCY);
    const distinct = await run('distinct', url, bodies, CONCURRENCY);
    const duplicate = await run('duplicate', url, bodies, CONCURRENCY);
    const hotBody = bodies[0]!;
    const hot = await run(
      'hot_duplicate',
      url,
      Array.from({ length: HOT }, () => hotBody),
      CONCURRENCY,
    );

    const bareAfter = await run('bare_signature_check_again', bareUrl, bodies, CONCURRENCY);
    const loadAfter = os.loadavg()[0]!;
    // The bare rate of this run: the mean of the measurements before and after (the load drifts meanwhile).
    const bareRate = (bareBefore.per_second + bareAfter.per_second) / 2;
    const ratio = (p: Phase) => Math.round((p.per_second / bareRate) * 100) / 100;
    const rows = Number(
      (await client.query(`SELECT count(*) FROM processed_stripe_events WHERE event_id LIKE 'evt_bench_%'`))
        .rows[0].count,
    );
    const emails = Number(
      (await client.query(`SELECT count(*) FROM email_outbox WHERE template = 'payment_failed'`)).rows[0]
        .count,
    );
    const expectedEmails = events.filter((e) => e.type === 'invoice.payment_failed').length;
    const correct =
      rows === EVENTS &&
      emails === expectedEmails &&
      distinct.non_200 === 0 &&
      duplicate.non_200 === 0 &&
      hot.non_200 === 0;

    const result = {
      benchmark: 'billing webhook ingestion',
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        postgresql: pgVersion,
        load_average_1m: {
          before: Math.round(loadBefore * 100) / 100,
          after: Math.round(loadAfter * 100) / 100,
        },
      },
      setup: {
        server: 'violawake serve --no-workers (child process), PostgreSQL on 127.0.0.1, pool 10',
        events: EVENTS,
        users: USERS,
        concurrency: CONCURRENCY,
        mix: '1/3 invoice.payment_failed (state + outbox email), 1/3 customer.subscription.updated, 1/3 invoice.paid',
        signing:
          'real stripe SDK generateTestHeaderString; server verifies with webhooks.constructEvent (tolerance 300 s)',
      },
      distinct_events_per_second: distinct.per_second,
      duplicate_events_per_second: duplicate.per_second,
      hot_duplicate_events_per_second: hot.per_second,
      bare_signature_check_per_second: Math.round(bareRate * 10) / 10,
      ratio_to_bare: { distinct: ratio(distinct), duplicate: ratio(duplicate), hot_duplicate: ratio(hot) },
      phases: [bareBefore, distinct, duplicate, hot, bareAfter],
      checks: {
        processed_rows: rows,
        expected_rows: EVENTS,
        payment_failed_emails: emails,
        expected_emails: expectedEmails,
        correct,
      },
    };
    const dir = path.join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'billing.json'), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      '# Billing webhook ingestion',
      '',
      `${result.date} — ${result.machine.cpus} CPU (${result.machine.cpu_model}), Node ${result.machine.node}, PostgreSQL ${pgVersion}; 1-minute load average ${result.machine.load_average_1m.before} before / ${result.machine.load_average_1m.after} after (the cores are shared with other work, so the rates depend on it).`,
      `Server: ${result.setup.server}. ${EVENTS} signed events over ${USERS} users, ${CONCURRENCY} concurrent senders.`,
      `Mix: ${result.setup.mix}.`,
      '',
      '| Phase | Requests | Seconds | Events/s | × bare | p50 ms | p95 ms | p99 ms | max ms | non-200 |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...result.phases.map(
        (p) =>
          `| ${p.name} | ${p.requests} | ${p.seconds} | ${p.per_second} | ${ratio(p)} | ${p.latency_ms.p50} | ${p.latency_ms.p95} | ${p.latency_ms.p99} | ${p.latency_ms.max} | ${p.non_200} |`,
      ),
      '',
      `Checks: ${rows}/${EVENTS} processed_stripe_events rows, ${emails}/${expectedEmails} payment_failed emails — ${correct ? 'correct' : 'INCORRECT'}.`,
      '',
      '`bare_signature_check`: a bare Fastify process (bench/billing-bare.mjs) that reads the raw body, verifies the',
      'signature with the same SDK call and answers 200, no database; measured before and after the real phases,',
      '`× bare` divides by the mean of the two. `distinct`: every event is new (signature check, duplicate read,',
      'claim, effect, email, commit; batched transactions). `duplicate`: the same events again (signature check, one',
      'batched indexed read). `hot_duplicate`: one event id delivered concurrently. The client runs on the same 2',
      'cores as the server and PostgreSQL (and, during these runs, other work), so the rates are lower bounds.',
      '',
    ].join('\n');
    writeFileSync(path.join(dir, 'billing.md'), md);
    process.stdout.write(`${md}\n`);
    if (!correct) process.exitCode = 1;
  } finally {
    await client.end().catch(() => {});
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (bare.exitCode === null) {
      const exited = new Promise((r) => bare.once('exit', r));
      bare.kill('SIGTERM');
      await exited;
    }
    await stub.close();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
