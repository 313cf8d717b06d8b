/**
 * Tiers, effective tier and the monthly training quota (docs/api.md §4.6, §4.12). The training submission calls
 * `lockSubscription` + `checkAndChargeQuota` inside its transaction; a failed job calls `refundUsage`.
 * Everything here works on either driver and takes the transaction handle it must run in.
 */
import type { DbOrTx } from '../core/db/client.ts';
import { HttpError } from '../core/http/errors.ts';
import * as q from './queries.ts';
import type { Usage } from './schemas.ts';

export type Tier = 'free' | 'developer' | 'business' | 'enterprise';

export const TIERS: Record<
  Tier,
  { monthlyTrainings: number | null; priority: 0 | 10 | 20 | 30; rank: number }
> = {
  free: { monthlyTrainings: 3, priority: 0, rank: 0 },
  developer: { monthlyTrainings: 20, priority: 10, rank: 1 },
  business: { monthlyTrainings: null, priority: 20, rank: 2 },
  enterprise: { monthlyTrainings: null, priority: 30, rank: 3 },
};

export const USAGE_ACTION = 'training_job';

export type SubscriptionRow = q.SubscriptionRow;

export type { Usage };

/**
 * Where a tier's monthly limit comes from: the Stripe plans (the default, `TIERS`) or this server's configuration
 * when billing is off (`billing/plans.ts`). `billing` chooses the wording of the 403.
 */
export interface QuotaPolicy {
  limit(tier: Tier): number | null;
  billing: boolean;
}

export const STRIPE_PLANS: QuotaPolicy = { limit: (tier) => TIERS[tier].monthlyTrainings, billing: true };

export function isTier(value: string): value is Tier {
  return Object.hasOwn(TIERS, value);
}

/** `tier` while the Stripe status is `active` or `trialing`, else `free` (unknown tiers count as free). */
export function effectiveTier(sub: { tier: string; status: string }): Tier {
  if ((sub.status === 'active' || sub.status === 'trialing') && isTier(sub.tier)) return sub.tier;
  return 'free';
}

/** A user's effective tier now (free when there is no subscription row); reads only. */
export async function effectiveTierOf(db: DbOrTx, userId: number): Promise<Tier> {
  const row = await q.subscriptionOf(db, userId);
  return row ? effectiveTier(row) : 'free';
}

/** The UTC calendar month containing `now`: [start, end). */
export function usagePeriod(now: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { start, end };
}

/** The caller's subscription row, created (free, active) if missing, locked `FOR UPDATE` until the transaction ends. */
export async function lockSubscription(tx: DbOrTx, userId: number): Promise<SubscriptionRow> {
  await q.ensureSubscription(tx, userId);
  const row = await q.lockSubscriptionOf(tx, userId);
  if (!row) throw new Error(`subscription row for user ${userId} vanished`);
  return row;
}

/** The subscription row without locking; creates it if missing (outside or inside a transaction). */
export async function getOrCreateSubscription(db: DbOrTx, userId: number): Promise<SubscriptionRow> {
  const existing = await q.subscriptionOf(db, userId);
  if (existing) return existing;
  await q.ensureSubscription(db, userId);
  const row = await q.subscriptionOf(db, userId);
  if (!row) throw new Error(`subscription row for user ${userId} vanished`);
  return row;
}

function usedIn(db: DbOrTx, userId: number, periodStart: Date): Promise<number> {
  return q.usageCount(db, userId, USAGE_ACTION, periodStart);
}

/**
 * Quota check and charge of one training submission (§4.6 steps 4.1, 4.2 and the usage part of 4.5): locks the
 * subscription row (serializing the user's submissions), refuses with 403 at the limit, else adds 1 to usage.
 * Must run inside the submission's transaction so a later failure rolls the charge back.
 */
export async function checkAndChargeQuota(
  tx: DbOrTx,
  userId: number,
  now: Date,
  policy: QuotaPolicy = STRIPE_PLANS,
): Promise<{ tier: Tier; priority: number; periodStart: Date; used: number; limit: number | null }> {
  const sub = await lockSubscription(tx, userId);
  const tier = effectiveTier(sub);
  const { priority } = TIERS[tier];
  const limit = policy.limit(tier);
  const { start } = usagePeriod(now);
  const used = await usedIn(tx, userId, start);
  if (limit !== null && used >= limit) {
    if (!policy.billing) {
      // Self-hosted: nothing to buy; the administrator sets tiers and limits.
      throw new HttpError(
        403,
        limit === 0
          ? `Training is turned off for the ${tier} plan on this server (monthly limit 0). Ask the administrator to change your plan or the limit.`
          : `Monthly training limit reached (${used}/${limit}). Ask the administrator of this server to raise it or change your plan.`,
      );
    }
    throw new HttpError(
      403,
      `Monthly training limit reached (${used}/${limit}). Upgrade your plan to train more models.`,
      {
        'X-Upgrade-URL': '/pricing',
      },
    );
  }
  await q.chargeUsage(tx, userId, USAGE_ACTION, start);
  return { tier, priority, periodStart: start, used: used + 1, limit };
}

/** Give back one training of the month `periodStart` (a job that failed without a result); never below 0. */
export async function refundUsage(tx: DbOrTx, userId: number, periodStart: Date): Promise<void> {
  await q.refundUsage(tx, userId, USAGE_ACTION, periodStart);
}

/** The Usage shape of the API for the month containing `now` (reads only; creates the subscription row lazily). */
export async function usageFor(
  db: DbOrTx,
  userId: number,
  now: Date,
  policy: QuotaPolicy = STRIPE_PLANS,
): Promise<Usage> {
  const sub = await getOrCreateSubscription(db, userId);
  const { start, end } = usagePeriod(now);
  const used = await usedIn(db, userId, start);
  const limit = policy.limit(effectiveTier(sub));
  return {
    models_used: used,
    models_limit: limit,
    models_remaining: limit === null ? null : Math.max(limit - used, 0),
    period_start: start.toISOString(),
    period_end: end.toISOString(),
  };
}
