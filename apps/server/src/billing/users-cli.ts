/**
 * `violawake users list|show|set-tier`: an administrator's view of accounts, their plan and this month's usage, and
 * the way to give a user a plan on a server without billing (docs/billing.md "Self-hosted plans").
 * Exit codes: 0 done, 1 usage error, 2 invalid input (unknown user or tier, a Stripe-managed subscription).
 */
import { parseArgs } from 'node:util';
import { findAccount, listAccounts } from '../auth/service.ts';
import type { Config } from '../core/config.ts';
import { type Db, openDatabase } from '../core/db/client.ts';
import { runMigrations } from '../core/db/migrate.ts';
import { activeJobCount } from '../training/service.ts';
import { billingEnabled, monthlyLimit } from './plans.ts';
import * as q from './queries.ts';
import { effectiveTier, isTier, TIERS, type Tier, USAGE_ACTION, usagePeriod } from './quota.ts';
import { hasLiveSubscription } from './service.ts';
import { USERS_HELP } from './users-help.ts';

/** One account as the command shows it: the auth domain's account, billing's plan and usage, training's jobs. */
interface UserRow {
  id: number;
  email: string;
  name: string;
  created_at: Date;
  tier: string | null;
  status: string | null;
  stripe_subscription_id: string | null;
  used: number;
  active: number;
}

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

async function userRow(
  db: Db,
  account: { id: number; email: string; name: string; createdAt: Date },
  now: Date,
) {
  const { start } = usagePeriod(now);
  const sub = await q.subscriptionOf(db, account.id);
  return {
    id: account.id,
    email: account.email,
    name: account.name,
    created_at: account.createdAt,
    tier: sub?.tier ?? null,
    status: sub?.status ?? null,
    stripe_subscription_id: sub?.stripeSubscriptionId ?? null,
    used: await q.usageCount(db, account.id, USAGE_ACTION, start),
    active: await activeJobCount(db, account.id),
  } satisfies UserRow;
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

async function findUser(db: Db, key: string, now: Date): Promise<UserRow | null> {
  const account = await findAccount(db, key);
  return account ? userRow(db, account, now) : null;
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
      const users: UserRow[] = [];
      for (const a of await listAccounts(database.db, limit)) users.push(await userRow(database.db, a, now));
      if (!users.length) {
        out('No accounts yet.');
        return 0;
      }
      const rows = users.map((u) => [
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
    const user = await findUser(database.db, positionals[0]!, now);
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
    const s = await q.subscriptionOf(database.db, user.id);
    if (s && hasLiveSubscription(s)) {
      err(
        `Account ${user.email} has a Stripe subscription (${s.stripeSubscriptionId}, ${s.status}); change its plan in Stripe. Nothing was changed.`,
      );
      return 2;
    }
    await q.setLocalTier(database.db, user.id, tier);
    const after = await findUser(database.db, String(user.id), now);
    out(`${user.email}: plan ${planOf(user)} -> ${tier}`);
    out(describeUser(cfg, after!, now));
    return 0;
  } finally {
    await database.close();
  }
}
