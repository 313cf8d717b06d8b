/**
 * `violawake users list|show|set-tier` as a process against real PostgreSQL: usage and plans shown, an unknown
 * tier or user refused with nothing changed, a configured quota of 0 shown as a state, and a Stripe-managed
 * subscription left to Stripe.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { SERVER_BIN } from './helpers/repo.ts';

let db: TestDatabase;
let client: pg.Client;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [SERVER_BIN, 'users', ...args], {
    env: { PATH: process.env.PATH, VIOLAWAKE_DB_URL: db.url, VIOLAWAKE_LOG_LEVEL: 'silent', ...env },
    cwd: mkdtempSync(path.join(tmpdir(), 'vw-users-cli-')),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function subscriptionOf(userId: number) {
  const r = await client.query('SELECT tier, status FROM subscriptions WHERE user_id = $1', [userId]);
  return r.rows[0] ?? null;
}

let ada: number;
let bob: number;

beforeAll(async () => {
  db = await createTestDatabase();
  // The first command applies the migrations.
  expect(run(['list']).out).toContain('No accounts yet.');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const ins = async (email: string, name: string) =>
    Number(
      (
        await client.query(
          `INSERT INTO users (email, password_hash, name, email_verified) VALUES ($1, 'x', $2, true) RETURNING id`,
          [email, name],
        )
      ).rows[0].id,
    );
  ada = await ins('ada@example.com', 'Ada');
  bob = await ins('bob@example.com', 'Bob');
  const month = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
  await client.query(
    `INSERT INTO usage_records (user_id, action, period_start, count) VALUES ($1, 'training_job', $2, 4)`,
    [ada, month],
  );
}, 300_000);

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

// Each command is a fresh Node process (several seconds on a loaded machine).
describe('violawake users', { timeout: 300_000 }, () => {
  it('lists accounts with their plan and usage this month', () => {
    const r = run(['list']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+EMAIL\s+PLAN\s+TRAININGS THIS MONTH\s+ACTIVE JOBS$/);
    expect(lines[1]).toMatch(new RegExp(`^${ada}\\s+ada@example.com\\s+free\\s+4 / unlimited\\s+0/3$`));
    expect(lines[2]).toMatch(new RegExp(`^${bob}\\s+bob@example.com\\s+free\\s+0 / unlimited\\s+0/3$`));
    const limited = run(['list'], { VIOLAWAKE_MONTHLY_TRAININGS: 'free=3' });
    expect(limited.out).toMatch(/ada@example.com\s+free\s+4 \/ 3/);
  });

  it('refuses an unknown tier, user or subcommand and changes nothing', async () => {
    const before = await subscriptionOf(ada);
    const gold = run(['set-tier', 'ada@example.com', 'gold']);
    expect(gold.code).toBe(2);
    expect(gold.err).toContain(
      'Unknown tier "gold". Tiers: free, developer, business, enterprise. Nothing was changed.',
    );
    expect(await subscriptionOf(ada)).toEqual(before);
    const nobody = run(['set-tier', 'nobody@example.com', 'business']);
    expect(nobody.code).toBe(2);
    expect(nobody.err).toContain('No account "nobody@example.com". Nothing was changed.');
    const bad = run(['frob']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('Unknown users command "frob"');
    expect(bad.err).toContain('Usage: violawake users <list|show|set-tier>');
    const missing = run(['set-tier', 'ada@example.com']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('takes <email|id> <tier>');
  });

  it('sets a tier (by email or id) and shows the new plan and usage', async () => {
    const r = run(['set-tier', 'ADA@example.com', 'business'], { VIOLAWAKE_MONTHLY_TRAININGS: 'free=3' });
    expect(r.code).toBe(0);
    expect(r.out).toContain('ada@example.com: plan free -> business');
    expect(r.out).toMatch(/plan:\s+business/);
    expect(r.out).toMatch(/trainings:\s+4 \/ unlimited this month/);
    expect(r.out).toMatch(/active jobs:\s+0 of 10 allowed/);
    expect(await subscriptionOf(ada)).toEqual({ tier: 'business', status: 'active' });
    const back = run(['set-tier', String(ada), 'developer'], { VIOLAWAKE_MONTHLY_TRAININGS: 'developer=20' });
    expect(back.code).toBe(0);
    expect(back.out).toMatch(/trainings:\s+4 \/ 20 this month/);
    expect(await subscriptionOf(ada)).toEqual({ tier: 'developer', status: 'active' });
  });

  it('shows a configured quota of 0 as a state, not an error', () => {
    const r = run(['show', 'bob@example.com'], { VIOLAWAKE_MONTHLY_TRAININGS: '0' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/trainings:\s+0 \/ 0 \(training turned off for this plan\) this month/);
    expect(r.out).toMatch(/billing:\s+off \(plans set by the administrator\)/);
  });

  it('leaves a live Stripe subscription to Stripe', async () => {
    await client.query(
      `INSERT INTO subscriptions (user_id, tier, status, stripe_subscription_id) VALUES ($1, 'developer', 'active', 'sub_live')`,
      [bob],
    );
    const r = run(['set-tier', 'bob@example.com', 'enterprise']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('has a Stripe subscription (sub_live, active); change its plan in Stripe');
    expect(await subscriptionOf(bob)).toEqual({ tier: 'developer', status: 'active' });
  });
});
