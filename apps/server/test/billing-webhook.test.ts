/**
 * The Stripe webhook on real PostgreSQL: payloads signed by the real `stripe` SDK, the subscription retrieved through
 * the SDK from a local stub. Exactly-once processing, rollback on failure, ordering guard, price mapping, purge.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PURGE_EVERY_MS } from '../src/billing/webhook.ts';
import { ManualClock } from '../src/core/clock.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import {
  deliver,
  eventPayload,
  newId,
  type StripeStub,
  signPayload,
  startStripeStub,
  subscriptionObject,
  TEST_WEBHOOK_SECRET,
  type TestEvent,
} from './helpers/stripe-stub.ts';

let server: TestServer;
let stub: StripeStub;
const PRICE_DEV = 'price_dev_test';
const PRICE_BIZ = 'price_biz_test';

async function q<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await server.ctx.database.query<T>(text, params)).rows;
}

async function makeUser(
  opts: { customer?: string; subscription?: string; tier?: string; status?: string } = {},
) {
  const email = `${newId('u')}@example.com`;
  const [u] = await q<{ id: number }>(
    `INSERT INTO users (email, password_hash, name, email_verified) VALUES ($1, 'x', 'Billing Tester', true) RETURNING id`,
    [email],
  );
  const userId = Number(u!.id);
  if (opts.customer || opts.subscription || opts.tier || opts.status) {
    await q(
      `INSERT INTO subscriptions (user_id, stripe_customer_id, stripe_subscription_id, tier, status) VALUES ($1, $2, $3, $4, $5)`,
      [
        userId,
        opts.customer ?? null,
        opts.subscription ?? null,
        opts.tier ?? 'free',
        opts.status ?? 'active',
      ],
    );
  }
  return { userId, email };
}

async function sub(userId: number) {
  const [row] = await q<Record<string, any>>(`SELECT * FROM subscriptions WHERE user_id = $1`, [userId]);
  return row!;
}

const now = () => Math.floor(Date.now() / 1000);

async function metric(type: string, result: string): Promise<number> {
  const m = await server.ctx.metrics.stripeWebhookEvents.get();
  return m.values.find((v) => v.labels.type === type && v.labels.result === result)?.value ?? 0;
}

beforeAll(async () => {
  stub = await startStripeStub();
  server = await startTestServer({
    driver: 'postgres',
    env: {
      VIOLAWAKE_STRIPE_SECRET_KEY: 'sk_test_violawake',
      VIOLAWAKE_STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      VIOLAWAKE_STRIPE_PRICE_DEVELOPER: PRICE_DEV,
      VIOLAWAKE_STRIPE_PRICE_BUSINESS: PRICE_BIZ,
      VIOLAWAKE_STRIPE_API_BASE: stub.url,
      VIOLAWAKE_DB_POOL_MAX: '20',
    },
  });
});
afterAll(async () => {
  await server?.close();
  await stub?.close();
});

describe('webhook verification', () => {
  const body = () =>
    eventPayload({
      id: newId('evt'),
      type: 'invoice.paid',
      created: now(),
      object: { id: newId('in'), customer: 'cus_none' },
    });

  it('rejects a missing or wrong signature and stale timestamps, recording nothing', async () => {
    const payload = body();
    const post = (headers: Record<string, string>, b = payload) =>
      fetch(`${server.url}/api/billing/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: b,
      });
    const missing = await post({});
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ detail: 'Missing stripe-signature header.' });
    const wrongSecret = await post({ 'Stripe-Signature': signPayload(payload, 'whsec_other') });
    expect(wrongSecret.status).toBe(400);
    expect(await wrongSecret.json()).toEqual({ detail: 'Invalid webhook signature.' });
    const tampered = await post(
      { 'Stripe-Signature': signPayload(payload) },
      payload.replace('invoice.paid', 'invoice.payment_failed'),
    );
    expect(tampered.status).toBe(400);
    expect(await tampered.json()).toEqual({ detail: 'Invalid webhook signature.' });
    const old = await post({ 'Stripe-Signature': signPayload(payload, TEST_WEBHOOK_SECRET, now() - 301) });
    expect(old.status).toBe(400);
    expect(await old.json()).toEqual({ detail: 'Invalid webhook signature.' });
    // Within the 300 s tolerance: accepted.
    const recent = await post({ 'Stripe-Signature': signPayload(payload, TEST_WEBHOOK_SECRET, now() - 200) });
    expect(recent.status).toBe(200);
    expect(await recent.json()).toEqual({ status: 'ok' });
  });

  it('answers 400 Malformed event payload to correctly signed garbage and records nothing', async () => {
    const before = await q(`SELECT count(*)::int AS n FROM processed_stripe_events`);
    const cases = [
      'not json at all',
      JSON.stringify({ id: newId('evt'), type: 'invoice.paid', created: now() }),
      JSON.stringify({ type: 'invoice.paid', created: now(), data: { object: { id: 'in_1' } } }),
      JSON.stringify({
        id: newId('evt'),
        type: 'invoice.paid',
        created: 'yesterday',
        data: { object: { id: 'in_1' } },
      }),
      eventPayload({
        id: newId('evt'),
        type: 'customer.subscription.updated',
        created: now(),
        object: { id: 'sub_1', status: 'active' },
      }),
      eventPayload({
        id: newId('evt'),
        type: 'customer.subscription.updated',
        created: now(),
        object: {
          ...subscriptionObject({ id: 'sub_x', customer: 'cus_x', status: 'active', price: PRICE_DEV }),
          status: 'exploded',
        },
      }),
      eventPayload({
        id: newId('evt'),
        type: 'customer.subscription.trial_will_end',
        created: now(),
        object: { id: 'sub_1', customer: 'cus_1' },
      }),
    ];
    for (const payload of cases) {
      const res = await deliver(server.url, payload);
      expect(res.status, payload).toBe(400);
      expect(await res.json()).toEqual({ detail: 'Malformed event payload.' });
    }
    expect(await q(`SELECT count(*)::int AS n FROM processed_stripe_events`)).toEqual(before);
  });

  it('reads the body raw whatever the content type, up to 1 MiB', async () => {
    const payload = body();
    const id = JSON.parse(payload).id as string;
    // No Content-Type at all (node:http, so nothing is added).
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${server.url}/api/billing/webhook`);
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: { 'Stripe-Signature': signPayload(payload), 'Content-Length': Buffer.byteLength(payload) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    expect(status).toBe(200);
    expect(await q(`SELECT 1 FROM processed_stripe_events WHERE event_id = $1`, [id])).toHaveLength(1);
    // Another content type is verified the same way.
    const other = eventPayload({
      id: newId('evt'),
      type: 'invoice.paid',
      created: now(),
      object: { id: newId('in'), customer: 'cus_none' },
    });
    const res = await fetch(`${server.url}/api/billing/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'Stripe-Signature': signPayload(other) },
      body: other,
    });
    expect(res.status).toBe(200);
    const big = JSON.stringify({ id: newId('evt'), pad: 'x'.repeat(1024 * 1024) });
    const tooLarge = await fetch(`${server.url}/api/billing/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signPayload(big) },
      body: big,
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toEqual({ detail: 'Request body too large' });
  });

  it('records unknown event types and answers 200', async () => {
    const id = newId('evt');
    const res = await deliver(server.url, {
      id,
      type: 'charge.refunded',
      created: now(),
      object: { id: 'ch_1' },
    });
    expect(res.status).toBe(200);
    expect(await q(`SELECT event_type FROM processed_stripe_events WHERE event_id = $1`, [id])).toEqual([
      { event_type: 'charge.refunded' },
    ]);
  });
});

describe('exactly once', () => {
  it('processes the same event delivered 50 times concurrently once', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId, email } = await makeUser({ customer, subscription, tier: 'developer', status: 'active' });
    const invoice = newId('in');
    const event: TestEvent = {
      id: newId('evt'),
      type: 'invoice.payment_failed',
      created: now(),
      object: {
        id: invoice,
        object: 'invoice',
        customer,
        attempt_count: 2,
        parent: { subscription_details: { subscription } },
      },
    };
    const payload = eventPayload(event);
    const processedBefore = await metric('invoice.payment_failed', 'processed');
    const duplicateBefore = await metric('invoice.payment_failed', 'duplicate');
    const responses = await Promise.all(Array.from({ length: 50 }, () => deliver(server.url, payload)));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    for (const r of responses) expect(await r.json()).toEqual({ status: 'ok' });

    expect(
      await q(`SELECT event_id FROM processed_stripe_events WHERE event_id = $1`, [event.id]),
    ).toHaveLength(1);
    const emails = await q<Record<string, any>>(`SELECT * FROM email_outbox WHERE user_id = $1`, [userId]);
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({
      template: 'payment_failed',
      to_address: email,
      dedupe_key: `payment_failed:${invoice}:2`,
    });
    expect((await sub(userId)).status).toBe('past_due');
    expect((await metric('invoice.payment_failed', 'processed')) - processedBefore).toBe(1);
    expect((await metric('invoice.payment_failed', 'duplicate')) - duplicateBefore).toBe(49);
  });

  it('rolls back a delivery that fails after the insert; the redelivery applies the effect once', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId } = await makeUser({ customer, subscription, tier: 'business', status: 'active' });
    const invoice = newId('in');
    const event: TestEvent = {
      id: newId('evt'),
      type: 'invoice.payment_failed',
      created: now(),
      object: { id: invoice, customer, attempt_count: 1, subscription },
    };
    // Injected error: the email insert (after the event row and the state change) fails inside the transaction.
    await q(`CREATE FUNCTION vw_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'injected outbox failure'; END $$`);
    await q(
      `CREATE TRIGGER vw_test_fail BEFORE INSERT ON email_outbox FOR EACH ROW EXECUTE FUNCTION vw_test_fail()`,
    );
    try {
      const failed = await deliver(server.url, event);
      expect(failed.status).toBe(500);
      const body = (await failed.json()) as { detail: string };
      expect(body.detail).toBe('Internal server error');
      expect(JSON.stringify(body)).not.toContain('injected');
      expect(await q(`SELECT 1 FROM processed_stripe_events WHERE event_id = $1`, [event.id])).toHaveLength(
        0,
      );
      expect((await sub(userId)).status).toBe('active');
    } finally {
      await q(`DROP TRIGGER vw_test_fail ON email_outbox`);
      await q(`DROP FUNCTION vw_test_fail()`);
    }
    const again = await deliver(server.url, event);
    expect(again.status).toBe(200);
    const third = await deliver(server.url, event);
    expect(third.status).toBe(200);
    expect(await q(`SELECT 1 FROM processed_stripe_events WHERE event_id = $1`, [event.id])).toHaveLength(1);
    expect(await q(`SELECT 1 FROM email_outbox WHERE user_id = $1`, [userId])).toHaveLength(1);
    expect((await sub(userId)).status).toBe('past_due');
  });

  it('answers 500 and records nothing when the Stripe retrieval of checkout fails; the retry applies it', async () => {
    const { userId } = await makeUser();
    const customer = newId('cus');
    const subscription = newId('sub');
    stub.subscriptions.set(
      subscription,
      subscriptionObject({ id: subscription, customer, status: 'active', price: PRICE_DEV }),
    );
    const event: TestEvent = {
      id: newId('evt'),
      type: 'checkout.session.completed',
      created: now(),
      object: {
        id: newId('cs'),
        mode: 'subscription',
        customer,
        subscription,
        client_reference_id: String(userId),
        metadata: {},
      },
    };
    stub.fail(`GET /v1/subscriptions/${subscription}`, 500, 2); // the SDK retries once
    expect((await deliver(server.url, event)).status).toBe(500);
    expect(await q(`SELECT 1 FROM processed_stripe_events WHERE event_id = $1`, [event.id])).toHaveLength(0);
    expect((await deliver(server.url, event)).status).toBe(200);
    expect(await sub(userId)).toMatchObject({
      tier: 'developer',
      status: 'active',
      stripe_customer_id: customer,
      stripe_subscription_id: subscription,
    });
  });
});

describe('effects', () => {
  it('checkout.session.completed stores ids and applies the retrieved subscription, trial included', async () => {
    const { userId } = await makeUser();
    const customer = newId('cus');
    const subscription = newId('sub');
    const trialEnd = now() + 14 * 86400;
    stub.subscriptions.set(
      subscription,
      subscriptionObject({
        id: subscription,
        customer,
        status: 'trialing',
        price: PRICE_BIZ,
        periodEnd: trialEnd,
        trialEnd,
      }),
    );
    const res = await deliver(server.url, {
      id: newId('evt'),
      type: 'checkout.session.completed',
      created: now(),
      // The tier in metadata is ignored: the price decides.
      object: {
        id: newId('cs'),
        mode: 'subscription',
        customer,
        subscription,
        metadata: { violawake_user_id: String(userId), tier: 'developer' },
      },
    });
    expect(res.status).toBe(200);
    const row = await sub(userId);
    expect(row).toMatchObject({
      tier: 'business',
      status: 'trialing',
      stripe_customer_id: customer,
      stripe_subscription_id: subscription,
      stripe_price_id: PRICE_BIZ,
      trial_consumed: true,
      cancel_at_period_end: false,
    });
    expect(new Date(row.trial_end).getTime()).toBe(trialEnd * 1000);
    expect(new Date(row.current_period_end).getTime()).toBe(trialEnd * 1000);
  });

  it('keeps the newer state when subscription.updated arrives before an older checkout.session.completed', async () => {
    const { userId } = await makeUser();
    const customer = newId('cus');
    const subscription = newId('sub');
    const t0 = now() - 60;
    // customer.subscription.created (t0) arrives before checkout completes and is matched by customer only after
    // checkout stored it: here checkout is the older event and arrives last.
    stub.subscriptions.set(
      subscription,
      subscriptionObject({ id: subscription, customer, status: 'incomplete', price: PRICE_DEV }),
    );
    await q(`INSERT INTO subscriptions (user_id, stripe_customer_id) VALUES ($1, $2)`, [userId, customer]);
    const newer = await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.updated',
      created: t0 + 30,
      object: subscriptionObject({
        id: subscription,
        customer,
        status: 'active',
        price: PRICE_BIZ,
        cancelAtPeriodEnd: true,
      }),
    });
    expect(newer.status).toBe(200);
    const older = await deliver(server.url, {
      id: newId('evt'),
      type: 'checkout.session.completed',
      created: t0,
      object: {
        id: newId('cs'),
        mode: 'subscription',
        customer,
        subscription,
        client_reference_id: String(userId),
      },
    });
    expect(older.status).toBe(200);
    const row = await sub(userId);
    expect(row).toMatchObject({
      tier: 'business',
      status: 'active',
      stripe_subscription_id: subscription,
      cancel_at_period_end: true,
    });
    expect(new Date(row.stripe_event_created).getTime()).toBe((t0 + 30) * 1000);
    // An older subscription.deleted also changes nothing.
    await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.deleted',
      created: t0 + 10,
      object: subscriptionObject({ id: subscription, customer, status: 'canceled', price: PRICE_BIZ }),
    });
    expect(await sub(userId)).toMatchObject({ tier: 'business', status: 'active' });
  });

  it('never grants a paid tier for an unknown price, but still updates status and dates', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId } = await makeUser({ customer, subscription, tier: 'developer', status: 'active' });
    const periodEnd = now() + 40 * 86400;
    const res = await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.updated',
      created: now(),
      object: {
        ...subscriptionObject({
          id: subscription,
          customer,
          status: 'past_due',
          price: 'price_enterprise_hacked',
          periodEnd,
        }),
        metadata: { tier: 'enterprise' },
      },
    });
    expect(res.status).toBe(200);
    const row = await sub(userId);
    expect(row).toMatchObject({ tier: 'developer', status: 'past_due' });
    expect(new Date(row.current_period_end).getTime()).toBe(periodEnd * 1000);

    // A free user whose new subscription has an unknown price stays free.
    const other = await makeUser({ customer: newId('cus') });
    const otherCustomer = (await sub(other.userId)).stripe_customer_id;
    await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.created',
      created: now(),
      object: subscriptionObject({
        id: newId('sub'),
        customer: otherCustomer,
        status: 'active',
        price: 'price_unknown',
      }),
    });
    expect(await sub(other.userId)).toMatchObject({ tier: 'free', status: 'active' });
  });

  it('invoice.paid restores active from past_due; subscription.deleted resets only the stored subscription', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId } = await makeUser({ customer, subscription, tier: 'developer', status: 'past_due' });
    await deliver(server.url, {
      id: newId('evt'),
      type: 'invoice.paid',
      created: now(),
      object: { id: newId('in'), customer, parent: { subscription_details: { subscription } } },
    });
    expect((await sub(userId)).status).toBe('active');
    // deleted for another subscription id of the same customer: no effect
    await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.deleted',
      created: now(),
      object: subscriptionObject({ id: newId('sub'), customer, status: 'canceled', price: PRICE_DEV }),
    });
    expect(await sub(userId)).toMatchObject({
      tier: 'developer',
      status: 'active',
      stripe_subscription_id: subscription,
    });
    await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.deleted',
      created: now(),
      object: subscriptionObject({ id: subscription, customer, status: 'canceled', price: PRICE_DEV }),
    });
    expect(await sub(userId)).toMatchObject({
      tier: 'free',
      status: 'canceled',
      stripe_subscription_id: null,
      current_period_end: null,
      trial_end: null,
      stripe_customer_id: customer,
    });
  });

  it('queues trial_will_end once per subscription and trial end, without changing state', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId, email } = await makeUser({
      customer,
      subscription,
      tier: 'developer',
      status: 'trialing',
    });
    const trialEnd = now() + 3 * 86400;
    const object = {
      ...subscriptionObject({ id: subscription, customer, status: 'trialing', price: PRICE_DEV, trialEnd }),
    };
    for (let i = 0; i < 2; i++) {
      // Two distinct event ids (Stripe may resend the notice): one email.
      const res = await deliver(server.url, {
        id: newId('evt'),
        type: 'customer.subscription.trial_will_end',
        created: now(),
        object,
      });
      expect(res.status).toBe(200);
    }
    const emails = await q<Record<string, any>>(`SELECT * FROM email_outbox WHERE user_id = $1`, [userId]);
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({
      template: 'trial_will_end',
      to_address: email,
      dedupe_key: `trial_will_end:${subscription}:${trialEnd}`,
    });
    expect(emails[0]!.payload.trial_end_date).toBe(new Date(trialEnd * 1000).toISOString().slice(0, 10));
    expect(await sub(userId)).toMatchObject({
      tier: 'developer',
      status: 'trialing',
      stripe_event_created: null,
    });
  });

  it('records an event that matches no row without effect', async () => {
    const id = newId('evt');
    const res = await deliver(server.url, {
      id,
      type: 'customer.subscription.updated',
      created: now(),
      object: subscriptionObject({
        id: newId('sub'),
        customer: newId('cus'),
        status: 'active',
        price: PRICE_BIZ,
      }),
    });
    expect(res.status).toBe(200);
    expect(await q(`SELECT 1 FROM processed_stripe_events WHERE event_id = $1`, [id])).toHaveLength(1);
  });
});

describe('ordering, late failures and second subscriptions (issue 26)', () => {
  it('F1: a subscription.updated of the same second never undoes an applied deletion; Stripe is re-read', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId } = await makeUser({ customer, subscription, tier: 'business', status: 'active' });
    // What Stripe holds once the subscription is deleted.
    stub.subscriptions.set(
      subscription,
      subscriptionObject({ id: subscription, customer, status: 'canceled', price: PRICE_BIZ }),
    );
    const t = now();
    const deleted = await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.deleted',
      created: t,
      object: subscriptionObject({ id: subscription, customer, status: 'canceled', price: PRICE_BIZ }),
    });
    expect(deleted.status).toBe(200);
    expect(await sub(userId)).toMatchObject({
      tier: 'free',
      status: 'canceled',
      stripe_subscription_id: null,
    });
    const reads = () =>
      stub.requests.filter((r) => r.method === 'GET' && r.path === `/v1/subscriptions/${subscription}`)
        .length;
    const readsBefore = reads();
    const updated = await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.updated',
      created: t, // the same whole second, delivered after the deletion
      object: subscriptionObject({ id: subscription, customer, status: 'active', price: PRICE_BIZ }),
    });
    expect(updated.status).toBe(200);
    expect(reads()).toBe(readsBefore + 1); // decided by Stripe's current state, read through the SDK
    expect(await sub(userId)).toMatchObject({
      tier: 'free',
      status: 'canceled',
      stripe_subscription_id: null,
    });
    const usage = await fetch(`${server.url}/api/health`); // the server is still fine
    expect(usage.status).toBe(200);
  });

  it('F1: a same-second subscription event applies the state Stripe holds now, not its payload', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId } = await makeUser({ customer, subscription, tier: 'developer', status: 'past_due' });
    stub.subscriptions.set(
      subscription,
      subscriptionObject({
        id: subscription,
        customer,
        status: 'active',
        price: PRICE_BIZ,
        cancelAtPeriodEnd: true,
      }),
    );
    const t = now();
    await deliver(server.url, {
      id: newId('evt'),
      type: 'invoice.paid',
      created: t,
      object: { id: newId('in'), customer, parent: { subscription_details: { subscription } } },
    });
    expect((await sub(userId)).status).toBe('active');
    const res = await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.updated',
      created: t,
      object: subscriptionObject({ id: subscription, customer, status: 'past_due', price: PRICE_DEV }),
    });
    expect(res.status).toBe(200);
    expect(await sub(userId)).toMatchObject({
      tier: 'business',
      status: 'active',
      cancel_at_period_end: true,
      stripe_subscription_id: subscription,
    });
  });

  it('F1: a re-read that Stripe answers 404 changes nothing; a failing re-read answers 500 and the retry applies', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId } = await makeUser({ customer, subscription, tier: 'developer', status: 'active' });
    const t = now();
    await deliver(server.url, {
      id: newId('evt'),
      type: 'invoice.paid',
      created: t,
      object: { id: newId('in'), customer, parent: { subscription_details: { subscription } } },
    });
    const event: TestEvent = {
      id: newId('evt'),
      type: 'customer.subscription.updated',
      created: t,
      object: subscriptionObject({ id: subscription, customer, status: 'active', price: PRICE_BIZ }),
    };
    expect((await deliver(server.url, event)).status).toBe(200); // unknown at Stripe → stale
    expect(await sub(userId)).toMatchObject({ tier: 'developer', status: 'active' });
    const again = { ...event, id: newId('evt') };
    stub.subscriptions.set(
      subscription,
      subscriptionObject({ id: subscription, customer, status: 'active', price: PRICE_BIZ }),
    );
    stub.fail(`GET /v1/subscriptions/${subscription}`, 500, 2); // the SDK retries once
    expect((await deliver(server.url, again)).status).toBe(500);
    expect(await q(`SELECT 1 FROM processed_stripe_events WHERE event_id = $1`, [again.id])).toHaveLength(0);
    expect((await deliver(server.url, again)).status).toBe(200);
    expect(await sub(userId)).toMatchObject({ tier: 'business', status: 'active' });
  });

  it('F6: a late invoice.payment_failed changes no state but its email is queued exactly once', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const { userId, email } = await makeUser({ customer, subscription, tier: 'developer', status: 'active' });
    const t = now();
    await deliver(server.url, {
      id: newId('evt'),
      type: 'invoice.paid',
      created: t,
      object: { id: newId('in'), customer, parent: { subscription_details: { subscription } } },
    });
    const invoice = newId('in');
    const late: TestEvent = {
      id: newId('evt'),
      type: 'invoice.payment_failed',
      created: t - 5, // older than the applied invoice.paid
      object: { id: invoice, customer, attempt_count: 2, parent: { subscription_details: { subscription } } },
    };
    const staleBefore = await metric('invoice.payment_failed', 'stale');
    expect((await deliver(server.url, late)).status).toBe(200);
    expect((await deliver(server.url, late)).status).toBe(200); // redelivery
    // The same failure under another event id (Stripe may send both) still mails once.
    expect((await deliver(server.url, { ...late, id: newId('evt') })).status).toBe(200);
    expect(await metric('invoice.payment_failed', 'stale')).toBe(staleBefore + 2);
    expect((await sub(userId)).status).toBe('active');
    const mails = await q<{ to_address: string; payload: Record<string, unknown>; dedupe_key: string }>(
      `SELECT to_address, payload, dedupe_key FROM email_outbox WHERE user_id = $1 AND template = 'payment_failed'`,
      [userId],
    );
    expect(mails).toEqual([
      {
        to_address: email,
        payload: { name: 'Billing Tester', invoice_id: invoice, attempt_count: 2 },
        dedupe_key: `payment_failed:${invoice}:2`,
      },
    ]);
  });

  it('F5: a second live subscription of the same user is cancelled at Stripe, never granted', async () => {
    const customer = newId('cus');
    const first = newId('sub');
    const second = newId('sub');
    const { userId } = await makeUser({ customer, subscription: first, tier: 'developer', status: 'active' });
    stub.subscriptions.set(
      first,
      subscriptionObject({ id: first, customer, status: 'active', price: PRICE_DEV }),
    );
    stub.subscriptions.set(
      second,
      subscriptionObject({ id: second, customer, status: 'active', price: PRICE_BIZ }),
    );
    const before = await metric('checkout.session.completed', 'duplicate_subscription');
    const res = await deliver(server.url, {
      id: newId('evt'),
      type: 'checkout.session.completed',
      created: now(),
      object: {
        id: newId('cs'),
        mode: 'subscription',
        customer,
        subscription: second,
        client_reference_id: String(userId),
      },
    });
    expect(res.status).toBe(200);
    expect(await metric('checkout.session.completed', 'duplicate_subscription')).toBe(before + 1);
    expect(stub.subscriptions.get(second)!.status).toBe('canceled');
    expect(stub.subscriptions.get(first)!.status).toBe('active');
    expect(await sub(userId)).toMatchObject({
      tier: 'developer',
      status: 'active',
      stripe_subscription_id: first,
    });
    // Its subscription.created (strictly newer, active in the payload) does not switch the user either.
    expect(
      (
        await deliver(server.url, {
          id: newId('evt'),
          type: 'customer.subscription.created',
          created: now() + 1,
          object: subscriptionObject({ id: second, customer, status: 'active', price: PRICE_BIZ }),
        })
      ).status,
    ).toBe(200);
    expect(await sub(userId)).toMatchObject({ tier: 'developer', stripe_subscription_id: first });
    // When the stored one has ended at Stripe (its deletion not yet delivered), the new one is the subscription.
    stub.subscriptions.get(first)!.status = 'canceled';
    const third = newId('sub');
    stub.subscriptions.set(
      third,
      subscriptionObject({ id: third, customer, status: 'active', price: PRICE_BIZ }),
    );
    await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.created',
      created: now() + 2,
      object: subscriptionObject({ id: third, customer, status: 'active', price: PRICE_BIZ }),
    });
    expect(await sub(userId)).toMatchObject({
      tier: 'business',
      status: 'active',
      stripe_subscription_id: third,
    });
    expect(stub.subscriptions.get(third)!.status).toBe('active');
  });
});

describe('retention of processed events', () => {
  it('deletes rows older than 30 days on a receipt, at most once a minute, and keeps younger ones', async () => {
    const clock = new ManualClock();
    const own = await startTestServer({
      driver: 'postgres',
      clock,
      env: {
        VIOLAWAKE_STRIPE_SECRET_KEY: 'sk_test_violawake',
        VIOLAWAKE_STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        VIOLAWAKE_STRIPE_API_BASE: stub.url,
      },
    });
    try {
      const oq = async (text: string, params: unknown[] = []) =>
        (await own.ctx.database.query<{ event_id: string }>(text, params)).rows;
      const ping = async () => {
        const id = newId('evt');
        expect(
          (await deliver(own.url, { id, type: 'ping.test', created: now(), object: { id: 'x' } })).status,
        ).toBe(200);
        return id;
      };
      const a = await ping(); // the first receipt of the process purges (nothing to purge yet)
      await oq(`INSERT INTO processed_stripe_events (event_id, event_type, processed_at) VALUES
               ('evt_old_31d', 'invoice.paid', now() - interval '31 days'),
               ('evt_young_29d', 'invoice.paid', now() - interval '29 days')`);
      const ids = async () =>
        (await oq(`SELECT event_id FROM processed_stripe_events ORDER BY event_id`))
          .map((r) => r.event_id)
          .sort();
      const b = await ping(); // 0 s later: no purge yet
      expect(await ids()).toEqual([a, b, 'evt_old_31d', 'evt_young_29d'].sort());
      clock.advance(PURGE_EVERY_MS);
      const c = await ping(); // a minute later: purged in this receipt's transaction
      expect(await ids()).toEqual([a, b, c, 'evt_young_29d'].sort());
    } finally {
      await own.close();
    }
  });
});

describe('billing off', () => {
  it('answers 503 without a Stripe key', async () => {
    const off = await startTestServer({ driver: 'postgres' });
    try {
      const res = await deliver(off.url, {
        id: newId('evt'),
        type: 'invoice.paid',
        created: now(),
        object: { id: 'in_1' },
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ detail: 'Billing is not configured' });
    } finally {
      await off.close();
    }
  });
});
