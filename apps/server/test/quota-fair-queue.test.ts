/**
 * Self-hosted plans and fair queueing on real PostgreSQL (docs/billing.md "Self-hosted plans", docs/training.md
 * "Fair queueing"): the quota from configuration when billing is off (default unlimited, a limit of 0), the plans
 * route, per-user / per-tier caps on active jobs, the queue share kept for paid plans (many free users and one
 * business user), the free plan's option bounds, and cancellations before training not being charged. With
 * billing on, the real stripe SDK talks to the local stub.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { type StripeStub, startStripeStub, TEST_WEBHOOK_SECRET } from './helpers/stripe-stub.ts';
import { createUser, type TestUser } from './helpers/users.ts';

const FAKE = fileURLToPath(new URL('./fixtures/fake-pipeline.ts', import.meta.url));
process.env.VIOLAWAKE_TRAINING_PIPELINE_MODULE = FAKE;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TEXT_JOB = { wake_word: 'hey jarvis', recording_ids: [], text_only: true };

async function submit(server: TestServer, user: TestUser, body: Record<string, unknown> = TEXT_JOB) {
  return fetch(`${server.url}/api/jobs`, {
    method: 'POST',
    headers: { ...user.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function usedBy(server: TestServer, userId: number): Promise<number> {
  const r = await server.ctx.database.query<{ n: number }>(
    'SELECT coalesce(sum(count), 0)::int AS n FROM usage_records WHERE user_id = $1',
    [userId],
  );
  return r.rows[0]!.n;
}

async function setTier(server: TestServer, userId: number, tier: string) {
  await server.ctx.database.query(
    `INSERT INTO subscriptions (user_id, tier, status) VALUES ($1, $2, 'active')
     ON CONFLICT (user_id) DO UPDATE SET tier = EXCLUDED.tier, status = 'active'`,
    [userId, tier],
  );
}

async function getJson(server: TestServer, route: string, user?: TestUser) {
  const res = await fetch(`${server.url}${route}`, { headers: user?.headers ?? {} });
  return { status: res.status, body: (await res.json()) as any };
}

describe('billing off, default configuration', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ workers: false });
  });
  afterAll(() => server?.close());

  it('has no monthly limit, says billing is off, and offers nothing to buy', async () => {
    const plans = await getJson(server, '/api/billing/plans');
    expect(plans.status).toBe(200);
    expect(plans.body.billing_enabled).toBe(false);
    expect(plans.body.plans.map((p: any) => [p.tier, p.trainings_per_month, p.purchasable])).toEqual([
      ['free', null, false],
      ['developer', null, false],
      ['business', null, false],
      ['enterprise', null, false],
    ]);
    expect(plans.body.plans[0]).toMatchObject({ max_active_jobs: 3, max_epochs: 80, max_recordings: 30 });
    const u = await createUser(server);
    // More trainings than the Stripe free plan's 3 in a month: cancel each so the active-job cap stays clear.
    for (let i = 0; i < 5; i++) {
      const res = await submit(server, u);
      expect(res.status).toBe(202);
      const { job_id } = (await res.json()) as any;
      const del = await fetch(`${server.url}/api/jobs/${job_id}`, { method: 'DELETE', headers: u.headers });
      expect(del.status).toBe(200);
    }
    const usage = await getJson(server, '/api/billing/usage', u);
    expect(usage.body).toMatchObject({ models_limit: null, models_remaining: null });
    const sub = await getJson(server, '/api/billing/subscription', u);
    expect(sub.body.usage).toMatchObject({ models_limit: null, models_remaining: null });
    // Checkout still answers 503 (the console hides the buttons).
    const checkout = await fetch(`${server.url}/api/billing/checkout`, {
      method: 'POST',
      headers: { ...u.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ tier: 'developer' }),
    });
    expect(checkout.status).toBe(503);
  });

  it('does not charge a job cancelled while queued', async () => {
    const u = await createUser(server);
    const res = await submit(server, u);
    const { job_id } = (await res.json()) as any;
    expect(await usedBy(server, u.id)).toBe(1);
    await fetch(`${server.url}/api/jobs/${job_id}`, { method: 'DELETE', headers: u.headers });
    expect(await usedBy(server, u.id)).toBe(0);
    const flag = await server.ctx.database.query<{ usage_refunded: boolean }>(
      'SELECT usage_refunded FROM training_jobs WHERE id = $1',
      [job_id],
    );
    expect(flag.rows[0]!.usage_refunded).toBe(true);
  });

  it('bounds the free plan’s options and caps active jobs per user, naming the limit', async () => {
    const free = await createUser(server);
    const tooLong = await submit(server, free, { ...TEXT_JOB, epochs: 200 });
    expect(tooLong.status).toBe(403);
    expect(((await tooLong.json()) as any).detail).toBe(
      'The Free plan allows at most 80 epochs per job (asked for 200).',
    );
    expect(await usedBy(server, free.id)).toBe(0);
    for (let i = 0; i < 3; i++) expect((await submit(server, free)).status).toBe(202);
    const fourth = await submit(server, free);
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toBe('60');
    expect(((await fourth.json()) as any).detail).toBe(
      'You have 3 training jobs queued or running; the Free plan allows 3 at a time. Wait for one to finish or cancel one.',
    );
    expect(await usedBy(server, free.id)).toBe(3);
    const biz = await createUser(server);
    await setTier(server, biz.id, 'business');
    expect((await submit(server, biz, { ...TEXT_JOB, epochs: 200 })).status).toBe(202);
  });
});

describe('billing off, quota from configuration', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      workers: false,
      env: { VIOLAWAKE_MONTHLY_TRAININGS: 'free=0,developer=2' },
    });
  });
  afterAll(() => server?.close());

  it('applies the configured limits; a limit of 0 is a clear 403, not a crash', async () => {
    const plans = await getJson(server, '/api/billing/plans');
    expect(plans.body.plans.map((p: any) => p.trainings_per_month)).toEqual([0, 2, null, null]);
    const free = await createUser(server);
    expect((await getJson(server, '/api/billing/usage', free)).body).toMatchObject({
      models_used: 0,
      models_limit: 0,
      models_remaining: 0,
    });
    const off = await submit(server, free);
    expect(off.status).toBe(403);
    expect(off.headers.get('x-upgrade-url')).toBeNull();
    expect(((await off.json()) as any).detail).toBe(
      'Training is turned off for the free plan on this server (monthly limit 0). Ask the administrator to change your plan or the limit.',
    );
    expect(await usedBy(server, free.id)).toBe(0);

    const dev = await createUser(server);
    await setTier(server, dev.id, 'developer');
    expect((await submit(server, dev)).status).toBe(202);
    expect((await submit(server, dev)).status).toBe(202);
    expect((await getJson(server, '/api/billing/usage', dev)).body).toMatchObject({
      models_used: 2,
      models_limit: 2,
      models_remaining: 0,
    });
    const third = await submit(server, dev);
    expect(third.status).toBe(403);
    expect(((await third.json()) as any).detail).toBe(
      'Monthly training limit reached (2/2). Ask the administrator of this server to raise it or change your plan.',
    );
    const biz = await createUser(server);
    await setTier(server, biz.id, 'business');
    expect((await getJson(server, '/api/billing/usage', biz)).body.models_limit).toBeNull();
  });

  it('refuses a malformed setting at startup', async () => {
    await expect(
      startTestServer({ workers: false, env: { VIOLAWAKE_MONTHLY_TRAININGS: 'gold=3' } }),
    ).rejects.toThrow(/VIOLAWAKE_MONTHLY_TRAININGS: "gold=3" is not <tier>=<value>/);
    await expect(
      startTestServer({ workers: false, env: { VIOLAWAKE_MONTHLY_TRAININGS: '-1' } }),
    ).rejects.toThrow(/VIOLAWAKE_MONTHLY_TRAININGS must be a whole number/);
  });
});

describe('fair queueing: many free users and one business user (issue 26 F3)', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The defaults: a queue of 50, 20 % kept for paid plans, 3 active jobs per free user.
    server = await startTestServer({ workers: false });
  });
  afterAll(() => server?.close());

  it('17 free accounts × 3 jobs cannot lock a business user out', { timeout: 120_000 }, async () => {
    const free = await Promise.all(Array.from({ length: 17 }, () => createUser(server)));
    const statuses: number[] = [];
    const details: string[] = [];
    for (const u of free) {
      for (let i = 0; i < 3; i++) {
        const res = await submit(server, u);
        statuses.push(res.status);
        if (res.status !== 202) details.push(((await res.json()) as any).detail);
      }
    }
    // 40 of the 50 places are open to free jobs; the other 11 free submissions are told why, and not charged.
    expect(statuses.filter((s) => s === 202)).toHaveLength(40);
    expect(statuses.filter((s) => s === 429)).toHaveLength(11);
    expect(new Set(details)).toEqual(
      new Set([
        "The Free plan's share of the training queue is full (40 of 50 places; the rest are kept for paid plans). Please try again later.",
      ]),
    );
    const charged = await Promise.all(free.map((u) => usedBy(server, u.id)));
    expect(charged.reduce((a, b) => a + b, 0)).toBe(40);

    const business = await createUser(server);
    await setTier(server, business.id, 'business');
    const res = await submit(server, business);
    expect(res.status).toBe(202);
    // It is dispatched first: priority 20 ahead of 40 free jobs.
    const { job_id } = (await res.json()) as any;
    const st = await getJson(server, `/api/training/status/${job_id}`, business);
    expect(st.body.queue_position).toBe(1);

    // Paid jobs may use the reserved places, and the whole queue is still capped.
    const dev = await Promise.all(Array.from({ length: 4 }, () => createUser(server)));
    for (const u of dev) await setTier(server, u.id, 'developer');
    let accepted = 0;
    let full: Response | null = null;
    for (const u of dev) {
      for (let i = 0; i < 5 && !full; i++) {
        const r = await submit(server, u);
        if (r.status === 202) accepted++;
        else full = r;
      }
    }
    expect(accepted).toBe(9); // 40 free + 1 business + 9 developer = 50
    expect(full!.status).toBe(503);
    expect(((await full!.json()) as any).detail).toBe('Training queue is full. Please try again later.');
  });
});

describe('cancelled before training, with a worker', () => {
  const saved = process.env.FAKE_PIPELINE_MS;
  afterEach(() => {
    if (saved === undefined) delete process.env.FAKE_PIPELINE_MS;
    else process.env.FAKE_PIPELINE_MS = saved;
  });

  it('refunds a running job cancelled before its training stage, charges one cancelled during it', {
    timeout: 120_000,
  }, async () => {
    process.env.FAKE_PIPELINE_MS = '27000'; // 3 s per stage step
    const db = await createTestDatabase();
    const server = await startTestServer({ database: db });
    try {
      const u = await createUser(server);
      const stageOf = async (id: number) => (await getJson(server, `/api/jobs/${id}`, u)).body;
      const waitFor = async (id: number, ok: (j: any) => boolean) => {
        const end = Date.now() + 60_000;
        for (;;) {
          const j = await stageOf(id);
          if (ok(j)) return j;
          if (Date.now() > end) throw new Error(`job ${id} stuck at ${j.status}/${j.stage}`);
          await sleep(100);
        }
      };
      const early = ((await (await submit(server, u)).json()) as any).job_id;
      await waitFor(early, (j) => j.status === 'running' && ['preparing', 'synthesizing'].includes(j.stage));
      await fetch(`${server.url}/api/jobs/${early}`, { method: 'DELETE', headers: u.headers });
      await waitFor(early, (j) => j.status === 'cancelled');
      expect(await usedBy(server, u.id)).toBe(0);

      const late = ((await (await submit(server, u)).json()) as any).job_id;
      await waitFor(late, (j) => j.status === 'running' && j.stage === 'training');
      await fetch(`${server.url}/api/jobs/${late}`, { method: 'DELETE', headers: u.headers });
      await waitFor(late, (j) => j.status === 'cancelled');
      expect(await usedBy(server, u.id)).toBe(1);
    } finally {
      await server.close();
      await db.drop();
    }
  });
});

describe('billing on (stripe SDK against the stub)', () => {
  let stub: StripeStub;
  let server: TestServer;
  beforeAll(async () => {
    stub = await startStripeStub();
    server = await startTestServer({
      workers: false,
      env: {
        VIOLAWAKE_STRIPE_SECRET_KEY: 'sk_test_quota',
        VIOLAWAKE_STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        VIOLAWAKE_STRIPE_PRICE_DEVELOPER: 'price_dev_quota',
        VIOLAWAKE_STRIPE_API_BASE: stub.url,
        // Ignored while billing is on: the Stripe plans' limits apply.
        VIOLAWAKE_MONTHLY_TRAININGS: 'unlimited',
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await stub?.close();
  });

  it('uses the Stripe plans, offers what has a price, and checkout reaches Stripe', async () => {
    const plans = await getJson(server, '/api/billing/plans');
    expect(plans.body.billing_enabled).toBe(true);
    expect(plans.body.plans.map((p: any) => [p.tier, p.trainings_per_month, p.purchasable])).toEqual([
      ['free', 3, false],
      ['developer', 20, true],
      ['business', null, false],
      ['enterprise', null, false],
    ]);
    const u = await createUser(server);
    for (let i = 0; i < 3; i++) {
      const res = await submit(server, u);
      expect(res.status).toBe(202);
      const { job_id } = (await res.json()) as any;
      // Cancelling while queued gives the training back, so the user is not at the limit yet...
      if (i === 0) await fetch(`${server.url}/api/jobs/${job_id}`, { method: 'DELETE', headers: u.headers });
    }
    expect((await getJson(server, '/api/billing/usage', u)).body).toMatchObject({
      models_used: 2,
      models_limit: 3,
      models_remaining: 1,
    });
    expect((await submit(server, u)).status).toBe(202);
    const fourth = await submit(server, u);
    expect(fourth.status).toBe(403);
    expect(fourth.headers.get('x-upgrade-url')).toBe('/pricing');
    const checkout = await fetch(`${server.url}/api/billing/checkout`, {
      method: 'POST',
      headers: { ...u.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ tier: 'developer' }),
    });
    expect(checkout.status).toBe(200);
    expect(stub.requests.some((r) => r.path === '/v1/checkout/sessions')).toBe(true);
  });
});
