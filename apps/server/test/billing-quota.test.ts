import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkAndChargeQuota,
  effectiveTier,
  lockSubscription,
  refundUsage,
  TIERS,
  usageFor,
  usagePeriod,
} from '../src/billing/quota.ts';
import { type Database, execRows, openDatabase } from '../src/core/db/client.ts';
import { runMigrations } from '../src/core/db/migrate.ts';
import { HttpError } from '../src/core/http/errors.ts';
import { createTestDatabase, DRIVERS, type TestDatabase } from './helpers/db.ts';

let tdb: TestDatabase | null = null;
let database: Database;

async function insertUser(email: string): Promise<number> {
  const rows = await execRows<{ id: number }>(
    database.db,
    sql`INSERT INTO users (email, password_hash, name, email_verified) VALUES (${email}, 'x', 'Q', true) RETURNING id`,
  );
  return Number(rows[0]!.id);
}

describe('tiers and periods', () => {
  it('maps status to the effective tier', () => {
    expect(effectiveTier({ tier: 'developer', status: 'active' })).toBe('developer');
    expect(effectiveTier({ tier: 'business', status: 'trialing' })).toBe('business');
    for (const status of ['past_due', 'unpaid', 'incomplete', 'incomplete_expired', 'canceled', 'paused']) {
      expect(effectiveTier({ tier: 'business', status })).toBe('free');
    }
    expect(effectiveTier({ tier: 'platinum', status: 'active' })).toBe('free');
    expect(TIERS.free.monthlyTrainings).toBe(3);
    expect(TIERS.developer.monthlyTrainings).toBe(20);
    expect(TIERS.business.monthlyTrainings).toBeNull();
    expect([
      TIERS.free.priority,
      TIERS.developer.priority,
      TIERS.business.priority,
      TIERS.enterprise.priority,
    ]).toEqual([0, 10, 20, 30]);
  });

  it('uses UTC calendar months, including December and leap February', () => {
    const dec = usagePeriod(new Date('2026-12-31T23:59:59.999Z'));
    expect(dec.start.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(dec.end.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    const feb = usagePeriod(new Date('2028-02-29T12:00:00.000+05:00'));
    expect(feb.start.toISOString()).toBe('2028-02-01T00:00:00.000Z');
    expect(feb.end.toISOString()).toBe('2028-03-01T00:00:00.000Z');
    // 00:30 on March 1st at +01:00 is still February in UTC.
    expect(usagePeriod(new Date('2026-03-01T00:30:00+01:00')).start.toISOString()).toBe(
      '2026-02-01T00:00:00.000Z',
    );
  });
});

describe.each(DRIVERS)('quota on %s', (driver) => {
  beforeAll(async () => {
    if (driver === 'postgres') {
      tdb = await createTestDatabase();
      database = await openDatabase({ dbUrl: tdb.url, dataDir: '/tmp', poolMax: 20 });
    } else {
      database = await openDatabase({ dbUrl: null, dataDir: '/tmp', inMemory: true });
    }
    await runMigrations(database);
  });
  afterAll(async () => {
    await database?.close();
    await tdb?.drop();
    tdb = null;
  });

  it('creates the subscription row lazily as free/active', async () => {
    const userId = await insertUser('lazy@example.com');
    const row = await database.db.transaction((tx) => lockSubscription(tx, userId));
    expect(row).toMatchObject({ userId, tier: 'free', status: 'active', stripeCustomerId: null });
    const again = await database.db.transaction((tx) => lockSubscription(tx, userId));
    expect(again.id).toBe(row.id);
  });

  it('never lets concurrent submissions exceed the free limit', async () => {
    const userId = await insertUser('race@example.com');
    const now = new Date('2026-11-15T10:00:00Z');
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => database.db.transaction((tx) => checkAndChargeQuota(tx, userId, now))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(3);
    expect(rejected).toHaveLength(9);
    for (const r of rejected) {
      const err = r.reason as HttpError;
      expect(err).toBeInstanceOf(HttpError);
      expect(err.statusCode).toBe(403);
      expect(err.detail).toBe(
        'Monthly training limit reached (3/3). Upgrade your plan to train more models.',
      );
      expect(err.headers['X-Upgrade-URL']).toBe('/pricing');
    }
    const usage = await usageFor(database.db, userId, now);
    expect(usage).toEqual({
      models_used: 3,
      models_limit: 3,
      models_remaining: 0,
      period_start: '2026-11-01T00:00:00.000Z',
      period_end: '2026-12-01T00:00:00.000Z',
    });
    // A new month starts from zero.
    const next = await database.db.transaction((tx) =>
      checkAndChargeQuota(tx, userId, new Date('2026-12-01T00:00:00Z')),
    );
    expect(next).toMatchObject({ tier: 'free', priority: 0, used: 1, limit: 3 });
    expect(next.periodStart.toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  it('rolls the charge back with the transaction and refunds never below zero', async () => {
    const userId = await insertUser('refund@example.com');
    const now = new Date('2026-11-20T10:00:00Z');
    await expect(
      database.db.transaction(async (tx) => {
        await checkAndChargeQuota(tx, userId, now);
        throw new Error('recordings not found');
      }),
    ).rejects.toThrow('recordings not found');
    expect((await usageFor(database.db, userId, now)).models_used).toBe(0);

    const charged = await database.db.transaction((tx) => checkAndChargeQuota(tx, userId, now));
    expect(charged.used).toBe(1);
    await database.db.transaction((tx) => refundUsage(tx, userId, charged.periodStart));
    await database.db.transaction((tx) => refundUsage(tx, userId, charged.periodStart));
    expect((await usageFor(database.db, userId, now)).models_used).toBe(0);
  });

  it('uses the effective tier: paid limits while active, free when past due', async () => {
    const userId = await insertUser('paid@example.com');
    const now = new Date('2026-11-20T10:00:00Z');
    await database.db.transaction((tx) => lockSubscription(tx, userId));
    await database.query(`UPDATE subscriptions SET tier = 'business', status = 'active' WHERE user_id = $1`, [
      userId,
    ]);
    for (let i = 0; i < 5; i++) {
      const r = await database.db.transaction((tx) => checkAndChargeQuota(tx, userId, now));
      expect(r).toMatchObject({ tier: 'business', priority: 20, limit: null, used: i + 1 });
    }
    expect((await usageFor(database.db, userId, now)).models_limit).toBeNull();
    await database.query(`UPDATE subscriptions SET status = 'past_due' WHERE user_id = $1`, [userId]);
    await expect(database.db.transaction((tx) => checkAndChargeQuota(tx, userId, now))).rejects.toMatchObject(
      {
        statusCode: 403,
        detail: 'Monthly training limit reached (5/3). Upgrade your plan to train more models.',
      },
    );
    expect((await usageFor(database.db, userId, now)).models_limit).toBe(3);
  });
});
