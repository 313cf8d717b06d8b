/**
 * `violawake users list|show|set-tier`: an administrator's view of accounts, their plan and this month's usage, and
 * the way to give a user a plan on a server without billing (docs/billing.md "Self-hosted plans").
 * Exit codes: 0 done, 1 usage error, 2 invalid input (unknown user or tier, a Stripe-managed subscription).
 */
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import type { Config } from '../core/config.ts';
import { type Database, openDatabase } from '../core/db/client.ts';
import { runMigrations } from '../core/db/migrate.ts';
import { subscriptions } from '../core/db/schema.ts';
import { billingEnabled, monthlyLimit } from './plans.ts';
import { effectiveTier, isTier, TIERS, type Tier, USAGE_ACTION, usagePeriod } from './quota.ts';
import { hasLiveSubscription } from './service.ts';
import { USERS_HELP } from './users-help.ts';

interface UserRow {
  id: number;
  email: string;
  name: string;
  created_at: Date | string;
  tier: string | null;
  status: string | null;
  stripe_subscription_id: string | null;
  used: number;
  active: number;
}

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

function selectUsers(where: string): string {
  return `SELECT u.id, u.email, u.name, u.created_at, s.tier, s.status, s.stripe_subscription_id,
            coalesce((SELECT r.count FROM usage_records r
                       WHERE r.user_id = u.id AND r.action = $1 AND r.period_start = $2), 0)::int AS used,
            (SELECT count(*) FROM training_jobs j
              WHERE j.user_id = u.id AND j.status IN ('queued', 'running'))::int AS active
       FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id ${where}`;
}

function planOf(row: UserRow): Tier {
  return row.tier && row.status ? effectiveTier({ tier: row.tier, status: row.status }) : 'free';
}

function usageText(cfg: Config, row: UserRow): string {
  const limit = monthlyLimit(cfg, planOf(row));
  if (limit === null) return `${row.used} / unlimited`;
  if (limit === 0) return `${row.used} / 0 (training turned off for this plan)`;
  return `${row.used} / ${limit}`;
}

async function findUser(database: Database, key: string, now: Date): Promise<UserRow | null> {
  const { start } = usagePeriod(now);
  const byId = /^\d+$/.test(key);
  const r = await database.query<UserRow>(selectUsers(byId ? 'WHERE u.id = $3' : 'WHERE u.email = $3'), [
    USAGE_ACTION,
    start.toISOString(),
    byId ? Number(key) : key.trim().toLowerCase(),
  ]);
  return r.rows[0] ?? null;
}

function describeUser(cfg: Config, row: UserRow, now: Date): string {
  const { start, end } = usagePeriod(now);
  const plan = planOf(row);
  const lines = [
    `id:            ${row.id}`,
    `email:         ${row.email}`,
    `name:          ${row.name}`,
    `created:       ${new Date(row.created_at).toISOString()}`,
    `plan:          ${plan}${row.tier && row.tier !== plan ? ` (stored ${row.tier}, Stripe status ${row.status})` : ''}`,
    `trainings:     ${usageText(cfg, row)} this month (${start.toISOString().slice(0, 10)} – ${end.toISOString().slice(0, 10)}, UTC)`,
    `active jobs:   ${row.active} of ${cfg.maxActiveJobs[plan]} allowed`,
    `billing:       ${billingEnabled(cfg) ? (row.stripe_subscription_id ? `Stripe subscription ${row.stripe_subscription_id}` : 'no Stripe subscription') : 'off (plans set by the administrator)'}`,
  ];
  return lines.join('\n');
}

export async function usersCommand(argv: string[], cfg: Config): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || !['list', 'show', 'set-tier'].includes(sub)) {
    err(sub ? `Unknown users command "${sub}".\n${USERS_HELP}` : USERS_HELP);
    return 1;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options: { limit: { type: 'string', default: '100' } },
    allowPositionals: true,
    strict: true,
  });
  const want = sub === 'list' ? 0 : sub === 'show' ? 1 : 2;
  if (positionals.length !== want) {
    err(
      `violawake users ${sub} takes ${want === 0 ? 'no arguments' : want === 1 ? '<email|id>' : '<email|id> <tier>'}.\n${USERS_HELP}`,
    );
    return 1;
  }
  // Validate everything the command line says before touching the database.
  const tierArg = sub === 'set-tier' ? positionals[1]!.trim().toLowerCase() : null;
  if (tierArg !== null && !isTier(tierArg)) {
    err(`Unknown tier "${positionals[1]}". Tiers: ${Object.keys(TIERS).join(', ')}. Nothing was changed.`);
    return 2;
  }
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    err(`--limit must be a positive whole number (got "${values.limit}").`);
    return 1;
  }

  const database = await openDatabase({ dbUrl: cfg.dbUrl, dataDir: cfg.dataDir, poolMax: 2 });
  try {
    await runMigrations(database);
    const now = new Date();
    if (sub === 'list') {
      const { start } = usagePeriod(now);
      const r = await database.query<UserRow>(`${selectUsers('')} ORDER BY u.id LIMIT $3`, [
        USAGE_ACTION,
        start.toISOString(),
        limit,
      ]);
      if (!r.rows.length) {
        out('No accounts yet.');
        return 0;
      }
      const rows = r.rows.map((u) => [
        String(u.id),
        u.email,
        planOf(u),
        usageText(cfg, u),
        `${u.active}/${cfg.maxActiveJobs[planOf(u)]}`,
      ]);
      const head = ['ID', 'EMAIL', 'PLAN', 'TRAININGS THIS MONTH', 'ACTIVE JOBS'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
      for (const line of [head, ...rows])
        out(
          line
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
        );
      return 0;
    }
    const user = await findUser(database, positionals[0]!, now);
    if (!user) {
      err(`No account "${positionals[0]}". Nothing was changed.`);
      return 2;
    }
    if (sub === 'show') {
      out(describeUser(cfg, user, now));
      return 0;
    }
    const tier = tierArg as Tier;
    // A subscription Stripe manages is changed in Stripe (its webhooks would overwrite a local change).
    const [s] = await database.db.select().from(subscriptions).where(eq(subscriptions.userId, user.id));
    if (s && hasLiveSubscription(s)) {
      err(
        `Account ${user.email} has a Stripe subscription (${s.stripeSubscriptionId}, ${s.status}); change its plan in Stripe. Nothing was changed.`,
      );
      return 2;
    }
    await database.query(
      `INSERT INTO subscriptions (user_id, tier, status) VALUES ($1, $2, 'active')
       ON CONFLICT (user_id) DO UPDATE SET tier = EXCLUDED.tier, status = 'active', updated_at = now()`,
      [user.id, tier],
    );
    const after = await findUser(database, String(user.id), now);
    out(`${user.email}: plan ${planOf(user)} -> ${tier}`);
    out(describeUser(cfg, after!, now));
    return 0;
  } finally {
    await database.close();
  }
}
