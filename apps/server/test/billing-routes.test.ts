/**
 * The user billing routes on real PostgreSQL, through the real `stripe` SDK against the local stub: checkout rules,
 * customer created once, portal, the Subscription view (database only), usage, rate limits, billing off, and the
 * account-deletion step that cancels the Stripe subscription.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';
import {
  deliver,
  newId,
  type StripeStub,
  startStripeStub,
  subscriptionObject,
  TEST_WEBHOOK_SECRET,
} from './helpers/stripe-stub.ts';
import { createUser } from './helpers/users.ts';

const PRICE_DEV = 'price_dev_routes';
const CONSOLE = 'https://console.example.test';

let server: TestServer;
let stub: StripeStub;

async function q<T = Record<string, any>>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await server.ctx.database.query<T>(text, params)).rows;
}

function post(path: string, headers: Record<string, string>, body?: unknown) {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { ...headers, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
}

async function setSub(userId: number, values: Record<string, unknown>) {
  await q(`INSERT INTO subscriptions (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, [userId]);
  const keys = Object.keys(values);
  await q(
    `UPDATE subscriptions SET ${keys.map((k, i) => `${k} = $${i + 2}`).join(', ')} WHERE user_id = $1`,
    [userId, ...Object.values(values)],
  );
}

beforeAll(async () => {
  stub = await startStripeStub();
  server = await startTestServer({
    driver: 'postgres',
    env: {
      VIOLAWAKE_STRIPE_SECRET_KEY: 'sk_test_routes',
      VIOLAWAKE_STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      // Only the developer price: business checkout is "not configured for the plan".
      VIOLAWAKE_STRIPE_PRICE_DEVELOPER: PRICE_DEV,
      VIOLAWAKE_STRIPE_API_BASE: stub.url,
      VIOLAWAKE_CONSOLE_BASE_URL: CONSOLE,
      VIOLAWAKE_TRIAL_DAYS: '14',
    },
  });
});
afterAll(async () => {
  await server?.close();
  await stub?.close();
});

describe('checkout', () => {
  it('creates the customer once and a subscription-mode session with a trial', async () => {
    const user = await createUser(server);
    const res = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(res.status).toBe(200);
    const { checkout_url } = (await res.json()) as { checkout_url: string };
    expect(checkout_url).toMatch(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/);
    expect(res.headers.get('ratelimit-limit')).toBe('10');

    const customerCalls = stub.requests.filter(
      (r) => r.path === '/v1/customers' && r.params['metadata[violawake_user_id]'] === String(user.id),
    );
    expect(customerCalls).toHaveLength(1);
    expect(customerCalls[0]!.idempotencyKey).toBe(`customer-${user.id}`);
    expect(customerCalls[0]!.params.email).toBe(user.email);
    expect(customerCalls[0]!.authorization).toBe('Bearer sk_test_routes');
    const [row] = await q(`SELECT stripe_customer_id, tier, status FROM subscriptions WHERE user_id = $1`, [
      user.id,
    ]);
    expect(row!.stripe_customer_id).toMatch(/^cus_/);
    expect(row).toMatchObject({ tier: 'free', status: 'active' });

    const sessions = stub.requests.filter(
      (r) => r.path === '/v1/checkout/sessions' && r.params.client_reference_id === String(user.id),
    );
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.params).toMatchObject({
      mode: 'subscription',
      customer: row!.stripe_customer_id,
      'line_items[0][price]': PRICE_DEV,
      'line_items[0][quantity]': '1',
      'metadata[violawake_user_id]': String(user.id),
      'metadata[tier]': 'developer',
      'subscription_data[trial_period_days]': '14',
      success_url: `${CONSOLE}/billing?checkout=success`,
      cancel_url: `${CONSOLE}/pricing`,
    });

    // A second checkout (abandoned the first) reuses the stored customer and the still open session.
    const again = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { checkout_url: string }).checkout_url).toBe(checkout_url);
    expect(
      stub.requests.filter(
        (r) => r.path === '/v1/customers' && r.params['metadata[violawake_user_id]'] === String(user.id),
      ),
    ).toHaveLength(1);
  });

  it('offers no second trial once one was consumed', async () => {
    const user = await createUser(server);
    await setSub(user.id, { trial_consumed: true, stripe_customer_id: newId('cus') });
    expect((await post('/api/billing/checkout', user.headers, { tier: 'developer' })).status).toBe(200);
    const s = stub.requests.filter(
      (r) => r.path === '/v1/checkout/sessions' && r.params.client_reference_id === String(user.id),
    );
    expect(s).toHaveLength(1);
    expect(s[0]!.params['subscription_data[trial_period_days]']).toBeUndefined();
  });

  it('applies the 409/503/422 rules', async () => {
    const user = await createUser(server);
    const biz = await post('/api/billing/checkout', user.headers, { tier: 'business' });
    expect(biz.status).toBe(503);
    expect(await biz.json()).toEqual({ detail: 'Billing is not configured for the business plan' });

    const bad = await post('/api/billing/checkout', user.headers, { tier: 'enterprise' });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: { loc: string[]; type: string }[] }).detail[0]).toMatchObject({
      loc: ['body', 'tier'],
      type: 'enum',
    });

    await setSub(user.id, { tier: 'developer', status: 'trialing' });
    const already = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(already.status).toBe(409);
    expect(await already.json()).toEqual({ detail: 'You are already on the developer plan (or higher).' });
    // A higher tier also refuses; the message names the requested tier ("or higher").
    await setSub(user.id, { tier: 'business', status: 'active' });
    const higher = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(higher.status).toBe(409);
    expect(await higher.json()).toEqual({ detail: 'You are already on the developer plan (or higher).' });
    await setSub(user.id, { tier: 'developer', status: 'trialing' });

    // Past due: effectively free, but the Stripe subscription has not ended → portal, not a second subscription.
    await setSub(user.id, { status: 'past_due', stripe_subscription_id: newId('sub') });
    const live = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(live.status).toBe(409);
    expect(await live.json()).toEqual({
      detail: 'You already have a subscription. Use the billing portal to change plans.',
    });
  });

  it('answers 502 when Stripe fails, without leaking its text', async () => {
    const user = await createUser(server);
    stub.fail('POST /v1/checkout/sessions', 500, 2);
    const res = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ detail: 'Payment provider error. Please try again later.' });
    // The customer created before the failure is kept for the next attempt.
    const [row] = await q(`SELECT stripe_customer_id FROM subscriptions WHERE user_id = $1`, [user.id]);
    expect(row!.stripe_customer_id).toMatch(/^cus_/);
  });

  it('needs a verified user and limits to 10 per hour', async () => {
    const unverified = await createUser(server, { verified: false });
    const r403 = await post('/api/billing/checkout', unverified.headers, { tier: 'developer' });
    expect(r403.status).toBe(403);
    expect(await r403.json()).toEqual({
      detail: 'Verify your email address to access recording, training, and billing features.',
    });
    expect((await post('/api/billing/checkout', {}, { tier: 'developer' })).status).toBe(401);

    const user = await createUser(server);
    await setSub(user.id, { tier: 'developer', status: 'active' });
    const statuses: number[] = [];
    // Invalid bodies count too: the limiter runs before validation.
    for (let i = 0; i < 11; i++)
      statuses.push(
        (await post('/api/billing/checkout', user.headers, i % 2 ? { tier: 'x' } : { tier: 'developer' }))
          .status,
      );
    expect(statuses.slice(0, 10).every((s) => s === 409 || s === 422)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe('one checkout at a time (issue 26 F5)', () => {
  const sessionsOf = (userId: number) =>
    stub.requests.filter(
      (r) =>
        r.method === 'POST' &&
        r.path === '/v1/checkout/sessions' &&
        r.params.client_reference_id === String(userId),
    );

  it('two checkouts opened before the first webhook get one session: a user cannot pay twice', async () => {
    const user = await createUser(server);
    const [a, b] = await Promise.all([
      post('/api/billing/checkout', user.headers, { tier: 'developer' }),
      post('/api/billing/checkout', user.headers, { tier: 'developer' }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const urls = [await a.json(), await b.json()].map((j) => (j as { checkout_url: string }).checkout_url);
    expect(urls[0]).toBe(urls[1]);
    expect(sessionsOf(user.id)).toHaveLength(1);
    const [row] = await q(`SELECT stripe_checkout_session_id FROM subscriptions WHERE user_id = $1`, [
      user.id,
    ]);
    const sessionId = row!.stripe_checkout_session_id as string;
    expect(urls[0]).toContain(sessionId);

    // Paid, its webhook not yet delivered: a further checkout is refused with a clear 409, no new session.
    stub.sessions.get(sessionId)!.status = 'complete';
    const paid = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(paid.status).toBe(409);
    expect(await paid.json()).toEqual({
      detail:
        'A checkout for this account has already been paid; your plan is being activated. Reload the billing page in a moment.',
    });
    expect(sessionsOf(user.id)).toHaveLength(1);
  });

  it('expires an open session of another plan before opening a new one; an expired one is replaced', async () => {
    const user = await createUser(server);
    const first = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(first.status).toBe(200);
    const [row] = await q(`SELECT stripe_checkout_session_id FROM subscriptions WHERE user_id = $1`, [
      user.id,
    ]);
    const firstId = row!.stripe_checkout_session_id as string;
    // The open session was for another plan (as if opened for it): it is expired at Stripe, then a new one opens.
    (stub.sessions.get(firstId)!.metadata as Record<string, string>).tier = 'business';
    const second = await post('/api/billing/checkout', user.headers, { tier: 'developer' });
    expect(second.status).toBe(200);
    expect(stub.sessions.get(firstId)!.status).toBe('expired');
    expect(
      stub.requests.filter(
        (r) => r.method === 'POST' && r.path === `/v1/checkout/sessions/${firstId}/expire`,
      ),
    ).toHaveLength(1);
    expect(sessionsOf(user.id)).toHaveLength(2);
    const secondUrl = ((await second.json()) as { checkout_url: string }).checkout_url;
    expect(secondUrl).not.toContain(firstId);
    // Abandoned until Stripe expired it: the next checkout opens a fresh session.
    const [row2] = await q(`SELECT stripe_checkout_session_id FROM subscriptions WHERE user_id = $1`, [
      user.id,
    ]);
    stub.sessions.get(row2!.stripe_checkout_session_id as string)!.status = 'expired';
    expect((await post('/api/billing/checkout', user.headers, { tier: 'developer' })).status).toBe(200);
    expect(sessionsOf(user.id)).toHaveLength(3);
  });

  it('lets the user check out again once the paid session was applied by its webhook and later cancelled', async () => {
    const user = await createUser(server);
    expect((await post('/api/billing/checkout', user.headers, { tier: 'developer' })).status).toBe(200);
    const [row] = await q(
      `SELECT stripe_checkout_session_id, stripe_customer_id FROM subscriptions WHERE user_id = $1`,
      [user.id],
    );
    const sessionId = row!.stripe_checkout_session_id as string;
    const customer = row!.stripe_customer_id as string;
    stub.sessions.get(sessionId)!.status = 'complete';
    const subscription = newId('sub');
    stub.subscriptions.set(
      subscription,
      subscriptionObject({ id: subscription, customer, status: 'active', price: PRICE_DEV }),
    );
    const created = Math.floor(Date.now() / 1000);
    expect(
      (
        await deliver(server.url, {
          id: newId('evt'),
          type: 'checkout.session.completed',
          created,
          object: {
            id: sessionId,
            mode: 'subscription',
            customer,
            subscription,
            client_reference_id: String(user.id),
          },
        })
      ).status,
    ).toBe(200);
    const [applied] = await q(
      `SELECT tier, stripe_subscription_id, stripe_checkout_session_id FROM subscriptions WHERE user_id = $1`,
      [user.id],
    );
    expect(applied).toMatchObject({
      tier: 'developer',
      stripe_subscription_id: subscription,
      stripe_checkout_session_id: null,
    });
    expect((await post('/api/billing/checkout', user.headers, { tier: 'developer' })).status).toBe(409);
    await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.deleted',
      created: created + 1,
      object: subscriptionObject({ id: subscription, customer, status: 'canceled', price: PRICE_DEV }),
    });
    expect((await post('/api/billing/checkout', user.headers, { tier: 'developer' })).status).toBe(200);
  });
});

describe('portal', () => {
  it('needs a stored customer and returns to /billing', async () => {
    const user = await createUser(server);
    const none = await post('/api/billing/portal', user.headers);
    expect(none.status).toBe(400);
    expect(await none.json()).toEqual({ detail: 'No billing account found. Subscribe to a plan first.' });
    const customer = newId('cus');
    await setSub(user.id, { stripe_customer_id: customer });
    const ok = await post('/api/billing/portal', user.headers);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { url: string }).url).toMatch(
      /^https:\/\/billing\.stripe\.test\/p\/session\//,
    );
    const call = stub.requests.filter(
      (r) => r.path === '/v1/billing_portal/sessions' && r.params.customer === customer,
    );
    expect(call).toHaveLength(1);
    expect(call[0]!.params.return_url).toBe(`${CONSOLE}/billing`);
    stub.fail('POST /v1/billing_portal/sessions', 503, 2);
    const failed = await post('/api/billing/portal', user.headers);
    expect(failed.status).toBe(502);
    expect(await failed.json()).toEqual({ detail: 'Payment provider error. Please try again later.' });
  });
});

describe('subscription and usage', () => {
  it('reports what the webhooks stored, without calling Stripe', async () => {
    const user = await createUser(server);
    const fresh = await fetch(`${server.url}/api/billing/subscription`, { headers: user.headers });
    expect(fresh.status).toBe(200);
    const freshBody = (await fresh.json()) as Record<string, any>;
    expect(freshBody).toMatchObject({
      tier: 'free',
      effective_tier: 'free',
      status: 'active',
      stripe_status: 'active',
      current_period_end: null,
      trial_active: false,
      trial_end: null,
      cancel_at_period_end: false,
      usage: { models_used: 0, models_limit: 3 },
    });

    const customer = newId('cus');
    const subscription = newId('sub');
    await setSub(user.id, { stripe_customer_id: customer });
    const trialEnd = Math.floor(Date.now() / 1000) + 10 * 86400;
    const upd = await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.created',
      created: Math.floor(Date.now() / 1000),
      object: subscriptionObject({
        id: subscription,
        customer,
        status: 'trialing',
        price: PRICE_DEV,
        trialEnd,
        periodEnd: trialEnd,
      }),
    });
    expect(upd.status).toBe(200);
    const stripeCallsBefore = stub.requests.length;
    const body = (await (
      await fetch(`${server.url}/api/billing/subscription`, { headers: user.headers })
    ).json()) as Record<string, any>;
    expect(stub.requests.length).toBe(stripeCallsBefore);
    expect(body).toMatchObject({
      tier: 'developer',
      effective_tier: 'developer',
      status: 'active',
      stripe_status: 'trialing',
      trial_active: true,
      trial_end: new Date(trialEnd * 1000).toISOString(),
      current_period_end: new Date(trialEnd * 1000).toISOString(),
      usage: { models_used: 0, models_limit: 20 },
    });

    await q(`UPDATE subscriptions SET status = 'unpaid' WHERE user_id = $1`, [user.id]);
    const unpaid = (await (
      await fetch(`${server.url}/api/billing/subscription`, { headers: user.headers })
    ).json()) as Record<string, any>;
    expect(unpaid).toMatchObject({
      tier: 'developer',
      effective_tier: 'free',
      status: 'past_due',
      stripe_status: 'unpaid',
      trial_active: false,
    });
    await q(`UPDATE subscriptions SET status = 'incomplete_expired' WHERE user_id = $1`, [user.id]);
    const expired = (await (
      await fetch(`${server.url}/api/billing/subscription`, { headers: user.headers })
    ).json()) as Record<string, any>;
    expect(expired).toMatchObject({
      status: 'canceled',
      stripe_status: 'incomplete_expired',
      usage: { models_limit: 3 },
    });
  });

  it('reports the month’s usage', async () => {
    const user = await createUser(server);
    const now = new Date();
    const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    await q(
      `INSERT INTO usage_records (user_id, action, period_start, count) VALUES ($1, 'training_job', $2, 2)`,
      [user.id, start],
    );
    // Last month's usage does not count.
    await q(
      `INSERT INTO usage_records (user_id, action, period_start, count) VALUES ($1, 'training_job', $2, 7)`,
      [user.id, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1))],
    );
    const res = await fetch(`${server.url}/api/billing/usage`, { headers: user.headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      models_used: 2,
      models_limit: 3,
      models_remaining: 1,
      period_start: start.toISOString(),
      period_end: end.toISOString(),
    });
  });
});

describe('account deletion', () => {
  it('cancels the Stripe subscription first; a Stripe failure is a 502 and deletes nothing', async () => {
    const user = await createUser(server);
    const customer = newId('cus');
    const subscription = newId('sub');
    stub.subscriptions.set(
      subscription,
      subscriptionObject({ id: subscription, customer, status: 'active', price: PRICE_DEV }),
    );
    await setSub(user.id, {
      stripe_customer_id: customer,
      stripe_subscription_id: subscription,
      tier: 'developer',
      status: 'active',
    });

    stub.fail(`DELETE /v1/subscriptions/${subscription}`, 500, 2);
    const failed = await fetch(`${server.url}/api/auth/account`, { method: 'DELETE', headers: user.headers });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toEqual({ detail: 'Payment provider error. Please try again later.' });
    expect(await q(`SELECT 1 FROM users WHERE id = $1`, [user.id])).toHaveLength(1);
    expect(stub.subscriptions.get(subscription)!.status).toBe('active');

    const ok = await fetch(`${server.url}/api/auth/account`, { method: 'DELETE', headers: user.headers });
    expect(ok.status).toBe(200);
    expect(stub.subscriptions.get(subscription)!.status).toBe('canceled');
    expect(await q(`SELECT 1 FROM users WHERE id = $1`, [user.id])).toHaveLength(0);
    expect(await q(`SELECT 1 FROM subscriptions WHERE user_id = $1`, [user.id])).toHaveLength(0);
  });

  it('treats a subscription already gone at Stripe as cancelled', async () => {
    const user = await createUser(server);
    await setSub(user.id, {
      stripe_customer_id: newId('cus'),
      stripe_subscription_id: newId('sub'),
      tier: 'developer',
      status: 'active',
    });
    const res = await fetch(`${server.url}/api/auth/account`, { method: 'DELETE', headers: user.headers });
    expect(res.status).toBe(200);
    expect(await q(`SELECT 1 FROM users WHERE id = $1`, [user.id])).toHaveLength(0);
  });
});

describe('billing off', () => {
  it('serves the free subscription and answers 503 to checkout and portal', async () => {
    const off = await startTestServer({ driver: 'postgres' });
    try {
      const user = await createUser(off);
      const sub = await fetch(`${off.url}/api/billing/subscription`, { headers: user.headers });
      expect(sub.status).toBe(200);
      expect(await sub.json()).toMatchObject({
        tier: 'free',
        effective_tier: 'free',
        status: 'active',
        // Self-hosted without Stripe: the quota comes from VIOLAWAKE_MONTHLY_TRAININGS (default unlimited).
        usage: { models_limit: null, models_remaining: null },
      });
      for (const [path, body] of [
        ['/api/billing/checkout', { tier: 'developer' }],
        ['/api/billing/portal', undefined],
      ] as const) {
        const res = await fetch(`${off.url}${path}`, {
          method: 'POST',
          headers: { ...user.headers, ...(body ? { 'Content-Type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ detail: 'Billing is not configured' });
      }
      const doc = (await (await fetch(`${off.url}/api/openapi.json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      for (const [p, m] of [
        ['/api/billing/checkout', 'post'],
        ['/api/billing/portal', 'post'],
        ['/api/billing/subscription', 'get'],
        ['/api/billing/usage', 'get'],
        ['/api/billing/webhook', 'post'],
      ] as const) {
        expect(doc.paths[p]?.[m], p).toBeDefined();
      }
      // Deletion without billing does not touch Stripe.
      expect(
        (await fetch(`${off.url}/api/auth/account`, { method: 'DELETE', headers: user.headers })).status,
      ).toBe(200);
    } finally {
      await off.close();
    }
  });
});
