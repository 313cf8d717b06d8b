/**
 * The server's plans (`GET /api/billing/plans`, public): whether billing is on, and each plan's limits. Without
 * billing (a self-hosted server with no Stripe key) nothing can be bought and the administrator sets plans.
 */
import { useEffect, useState } from 'react';
import { api } from './client.ts';
import type { Plans, Usage } from './types.ts';

export type { PlanInfo, Plans } from './types.ts';

/** The plans, or null while loading (and when the request failed: callers then offer nothing to buy). */
export function usePlans(): Plans | null {
  const [plans, setPlans] = useState<Plans | null>(null);
  useEffect(() => {
    let live = true;
    api<Plans>('/api/billing/plans', { auth: false })
      .then((p) => live && setPlans(p))
      .catch(() => live && setPlans(null));
    return () => {
      live = false;
    };
  }, []);
  return plans;
}

/** The sentence shown when no training is left this month, or null while some are. */
export function quotaMessage(usage: Usage, billingEnabled: boolean): string | null {
  if (usage.models_remaining !== 0) return null;
  if (usage.models_limit === 0) {
    return 'Training is turned off for your plan on this server (monthly limit 0). Ask the administrator to change your plan or the limit.';
  }
  const reset = new Date(usage.period_end).toLocaleDateString(undefined, { dateStyle: 'medium' });
  return billingEnabled
    ? `You have used all ${usage.models_limit} trainings of your plan this month. Upgrade your plan, or train again from ${reset}.`
    : `You have used all ${usage.models_limit} trainings this month. Ask the administrator of this server to raise the limit, or train again from ${reset}.`;
}
