import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api/client.ts';
import { usePlans } from '../api/plans.ts';
import type { Subscription, Tier } from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { usePageTitle } from '../components/ui.tsx';

export interface Plan {
  tier: Tier;
  name: string;
  trainings_per_month: number | null;
  priority: number;
  purchasable: boolean;
  blurb: string;
}

export const DEFAULT_PLANS: Plan[] = [
  {
    tier: 'free',
    name: 'Free',
    trainings_per_month: 3,
    priority: 0,
    purchasable: false,
    blurb: 'Try it out.',
  },
  {
    tier: 'developer',
    name: 'Developer',
    trainings_per_month: 20,
    priority: 10,
    purchasable: true,
    blurb: 'For makers and prototypes.',
  },
  {
    tier: 'business',
    name: 'Business',
    trainings_per_month: null,
    priority: 20,
    purchasable: true,
    blurb: 'For products and teams.',
  },
  {
    tier: 'enterprise',
    name: 'Enterprise',
    trainings_per_month: null,
    priority: 30,
    purchasable: false,
    blurb: 'By arrangement.',
  },
];

/**
 * The plans as this server runs them: limits from `GET /api/billing/plans`, blurbs from here. Nothing is purchasable
 * until the server says billing is on (a self-hosted server without Stripe sells nothing).
 */
export function useServerPlans(): { plans: Plan[]; billingEnabled: boolean; loaded: boolean } {
  const server = usePlans();
  const plans = DEFAULT_PLANS.map((p) => {
    const s = server?.plans.find((x) => x.tier === p.tier);
    return s
      ? { ...p, trainings_per_month: s.trainings_per_month, priority: s.priority, purchasable: s.purchasable }
      : { ...p, purchasable: false };
  });
  return { plans, billingEnabled: server?.billing_enabled ?? false, loaded: server !== null };
}

export function PricingPage() {
  usePageTitle('Pricing');
  const { plans, billingEnabled, loaded } = useServerPlans();
  const { user } = useAuth();
  const [sub, setSub] = useState<Subscription | null>(null);
  useEffect(() => {
    if (!user?.email_verified) return;
    api<Subscription>('/api/billing/subscription')
      .then(setSub)
      .catch(() => setSub(null));
  }, [user]);

  return (
    <section>
      <div className="center">
        <h1>Plans</h1>
        <p className="lead">
          Every plan includes the live test, all download formats and teams. Plans differ in monthly trainings
          and queue priority.
        </p>
        {loaded && !billingEnabled && (
          <p className="muted" data-testid="self-hosted-note">
            This server does not take payments: its administrator sets each account’s plan (
            <code>violawake users set-tier</code>).
          </p>
        )}
      </div>
      <div className="plan-grid">
        {plans.map((plan) => {
          const current = sub?.effective_tier === plan.tier;
          return (
            <article
              key={plan.tier}
              className={current ? 'card plan current' : 'card plan'}
              aria-label={`${plan.name} plan`}
            >
              <h2>{plan.name}</h2>
              <p className="muted">{plan.blurb}</p>
              <p className="plan-limit">
                <strong>{plan.trainings_per_month === null ? 'Unlimited' : plan.trainings_per_month}</strong>{' '}
                trainings / month
              </p>
              <ul>
                <li>{plan.priority === 0 ? 'Standard queue' : `Queue priority ${plan.priority}`}</li>
                <li>
                  {plan.tier === 'free' ? 'Synthetic negatives' : 'Curated negative corpus (when configured)'}
                </li>
              </ul>
              {current ? (
                <p className="badge">Your plan</p>
              ) : plan.purchasable ? (
                <Link className="button" to={user ? `/billing?plan=${plan.tier}` : '/register'}>
                  {user ? `Choose ${plan.name}` : 'Start free, upgrade later'}
                </Link>
              ) : plan.tier === 'enterprise' && billingEnabled ? (
                <a className="button button-secondary" href="mailto:sales@violawake.com">
                  Contact us
                </a>
              ) : (
                !user && (
                  <Link className="button button-secondary" to="/register">
                    Sign up free
                  </Link>
                )
              )}
            </article>
          );
        })}
      </div>
      {sub && (
        <p className="center muted">
          This month you have used {sub.usage.models_used} of {sub.usage.models_limit ?? 'unlimited'}{' '}
          trainings.
        </p>
      )}
    </section>
  );
}
