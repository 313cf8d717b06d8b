/**
 * The webhook on the embedded database (PGlite, single process): the same exactly-once and ordering guarantees as on
 * PostgreSQL, checked on the essentials (concurrent duplicates, rollback on failure, ordering guard).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';
import {
  deliver,
  eventPayload,
  newId,
  type StripeStub,
  startStripeStub,
  subscriptionObject,
  TEST_WEBHOOK_SECRET,
} from './helpers/stripe-stub.ts';

let server: TestServer;
let stub: StripeStub;
const PRICE_DEV = 'price_dev_pglite';
const PRICE_BIZ = 'price_biz_pglite';
const now = () => Math.floor(Date.now() / 1000);

async function q<T = Record<string, any>>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await server.ctx.database.query<T>(text, params)).rows;
}

async function makeUser(customer: string, subscription: string) {
  const [u] = await q<{ id: number }>(
    `INSERT INTO users (email, password_hash, name, email_verified) VALUES ($1, 'x', 'Embedded', true) RETURNING id`,
    [`${newId('u')}@example.com`],
  );
  const userId = Number(u!.id);
  await q(
    `INSERT INTO subscriptions (user_id, tier, status, stripe_customer_id, stripe_subscription_id) VALUES ($1, 'developer', 'active', $2, $3)`,
    [userId, customer, subscription],
  );
  return userId;
}

beforeAll(async () => {
  stub = await startStripeStub();
  server = await startTestServer({
    driver: 'pglite',
    env: {
      VIOLAWAKE_STRIPE_SECRET_KEY: 'sk_test_pglite',
      VIOLAWAKE_STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      VIOLAWAKE_STRIPE_PRICE_DEVELOPER: PRICE_DEV,
      VIOLAWAKE_STRIPE_PRICE_BUSINESS: PRICE_BIZ,
      VIOLAWAKE_STRIPE_API_BASE: stub.url,
    },
  });
});
afterAll(async () => {
  await server?.close();
  await stub?.close();
});

describe('webhook on PGlite', () => {
  it('processes 20 concurrent deliveries of one event once and rolls back a failed one', async () => {
    const customer = newId('cus');
    const subscription = newId('sub');
    const userId = await makeUser(customer, subscription);
    const payload = eventPayload({
      id: newId('evt'),
      type: 'invoice.payment_failed',
      created: now(),
      object: { id: newId('in'), customer, attempt_count: 1, subscription },
    });
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => deliver(server.url, payload).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array(20).fill(200));
    expect(await q(`SELECT 1 FROM email_outbox WHERE user_id = $1`, [userId])).toHaveLength(1);
    expect((await q(`SELECT status FROM subscriptions WHERE user_id = $1`, [userId]))[0]!.status).toBe(
      'past_due',
    );

    const event = {
      id: newId('evt'),
      type: 'customer.subscription.updated',
      created: now() + 1,
      object: subscriptionObject({ id: subscription, customer, status: 'active', price: PRICE_BIZ }),
    };
    await q(
      `CREATE FUNCTION vw_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$`,
    );
    await q(
      `CREATE TRIGGER vw_test_fail BEFORE UPDATE ON subscriptions FOR EACH ROW EXECUTE FUNCTION vw_test_fail()`,
    );
    try {
      expect((await deliver(server.url, event)).status).toBe(500);
      expect(await q(`SELECT 1 FROM processed_stripe_events WHERE event_id = $1`, [event.id])).toHaveLength(
        0,
      );
    } finally {
      await q(`DROP TRIGGER vw_test_fail ON subscriptions`);
      await q(`DROP FUNCTION vw_test_fail()`);
    }
    expect((await deliver(server.url, event)).status).toBe(200);
    expect((await q(`SELECT tier, status FROM subscriptions WHERE user_id = $1`, [userId]))[0]).toEqual({
      tier: 'business',
      status: 'active',
    });

    // An older event arriving late changes nothing.
    const older = await deliver(server.url, {
      id: newId('evt'),
      type: 'customer.subscription.updated',
      created: now() - 100,
      object: subscriptionObject({ id: subscription, customer, status: 'canceled', price: PRICE_DEV }),
    });
    expect(older.status).toBe(200);
    expect((await q(`SELECT tier, status FROM subscriptions WHERE user_id = $1`, [userId]))[0]).toEqual({
      tier: 'business',
      status: 'active',
    });
  });
});
