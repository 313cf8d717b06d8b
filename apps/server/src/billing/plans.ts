/**
 * What each plan allows on this server (docs/billing.md "Self-hosted plans", docs/training.md "Fair queueing"):
 * with billing on, the monthly trainings are the Stripe plans' (TIERS); with billing off they come from
 * `VIOLAWAKE_MONTHLY_TRAININGS` (default unlimited). Active-job caps and the free plan's option bounds apply either
 * way. Everything here reads only the configuration.
 */
import type { Config } from '../core/config.ts';
import { type QuotaPolicy, TIERS, type Tier } from './quota.ts';
import type { PlanOut, PlansOut } from './schemas.ts';

/** Most recordings a free-plan job may train from (paid plans: the request schema's 100). */
export const FREE_MAX_RECORDINGS = 30;

export const PLAN_NAMES: Record<Tier, string> = {
  free: 'Free',
  developer: 'Developer',
  business: 'Business',
  enterprise: 'Enterprise',
};

/** Billing is on when a Stripe secret key is configured. */
export function billingEnabled(config: Config): boolean {
  return config.stripeSecretKey !== null;
}

/** The monthly training limit of `tier` on this server (null = unlimited). */
export function monthlyLimit(config: Config, tier: Tier): number | null {
  return billingEnabled(config) ? TIERS[tier].monthlyTrainings : config.monthlyTrainings[tier];
}

/** The quota policy of this server, for `checkAndChargeQuota` / `usageFor`. */
export function quotaPolicy(config: Config): QuotaPolicy {
  return { limit: (tier) => monthlyLimit(config, tier), billing: billingEnabled(config) };
}

export type { PlanOut };

/** GET /api/billing/plans. */
export function plansView(config: Config): PlansOut {
  const enabled = billingEnabled(config);
  const tiers = Object.keys(TIERS) as Tier[];
  return {
    billing_enabled: enabled,
    plans: tiers.map((tier) => ({
      tier,
      name: PLAN_NAMES[tier],
      trainings_per_month: monthlyLimit(config, tier),
      priority: TIERS[tier].priority,
      max_active_jobs: config.maxActiveJobs[tier],
      max_epochs: tier === 'free' ? config.freeMaxEpochs : 500,
      max_recordings: tier === 'free' ? FREE_MAX_RECORDINGS : 100,
      // Checkout sells developer and business (enterprise is by arrangement), and only with a price configured.
      purchasable:
        enabled && (tier === 'developer' || tier === 'business') && config.stripePrices[tier] !== null,
    })),
  };
}
