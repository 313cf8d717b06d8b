import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { type ApiError, api } from '../api/client.ts';
import type { Subscription } from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { PageHeader } from '../components/Layout.tsx';
import { Alert, formatDay, ProgressBar, Spinner, usePageTitle } from '../components/ui.tsx';
import { useServerPlans } from './Pricing.tsx';

const RANK: Record<string, number> = { free: 0, developer: 1, business: 2, enterprise: 3 };

export function BillingPage() {
  usePageTitle('Billing');
  const { user } = useAuth();
  const [params] = useSearchParams();
  const { plans, billingEnabled, loaded } = useServerPlans();
  const [sub, setSub] = useState<Subscription | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const checkout = params.get('checkout');
  const wanted = params.get('plan');

  useEffect(() => {
    if (!user?.email_verified) return;
    api<Subscription>('/api/billing/subscription')
      .then(setSub)
      .catch((err: ApiError) => setError(err.message));
  }, [user]);

  async function go(kind: 'checkout' | 'portal', tier?: string) {
    setBusy(tier ?? kind);
    setError(null);
    try {
      const url =
        kind === 'checkout'
          ? (await api<{ checkout_url: string }>('/api/billing/checkout', { body: { tier } })).checkout_url
          : (await api<{ url: string }>('/api/billing/portal', { method: 'POST' })).url;
      window.location.assign(url);
    } catch (err) {
      const e = err as ApiError;
      setError(
        e.status === 503
          ? 'Online payments are not set up on this server. Contact the administrator to change plans.'
          : e.message,
      );
      setBusy(null);
    }
  }

  if (!user?.email_verified) {
    return (
      <section className="narrow">
        <PageHeader title="Billing" />
        <Alert kind="warning">
          Billing needs a verified email address.{' '}
          <Link to="/verify-email">Resend the verification email</Link>
        </Alert>
      </section>
    );
  }
  if (!sub) return error ? <Alert>{error}</Alert> : <Spinner />;

  const usage = sub.usage;
  // Only what this server sells: with billing off (no Stripe key) there is nothing to buy.
  const upgrades = plans.filter(
    (p) => billingEnabled && p.purchasable && (RANK[p.tier] ?? 0) > (RANK[sub.effective_tier] ?? 0),
  );
  // A paid tier or a billing period means a Stripe subscription exists (stripe_status alone is also set for free rows).
  const hasStripeSubscription = sub.tier !== 'free' || sub.current_period_end !== null;
  return (
    <>
      <PageHeader title="Billing" />
      {checkout === 'success' && (
        <Alert kind="success">
          Thank you! Your subscription is being activated; this page updates once the payment provider
          confirms it.
        </Alert>
      )}
      {error && <Alert>{error}</Alert>}
      <div className="grid-2">
        <section className="card" aria-labelledby="plan-title">
          <h2 id="plan-title">Your plan</h2>
          <p className="plan-name big">{sub.effective_tier}</p>
          {sub.tier !== sub.effective_tier && (
            <Alert kind="warning">
              Your {sub.tier} subscription is {sub.status.replace('_', ' ')}, so free-plan limits apply until
              the payment is sorted out.
            </Alert>
          )}
          {sub.trial_active && <p>Free trial until {formatDay(sub.trial_end)}.</p>}
          {sub.current_period_end && (
            <p>
              {sub.cancel_at_period_end ? 'Ends' : 'Renews'} on {formatDay(sub.current_period_end)}.
            </p>
          )}
          {loaded && !billingEnabled && (
            <p className="muted" data-testid="self-hosted-note">
              This server does not take payments. Its administrator sets your plan and limits.
            </p>
          )}
          {billingEnabled && hasStripeSubscription && (
            <button
              type="button"
              className="button button-secondary"
              onClick={() => go('portal')}
              disabled={busy !== null}
            >
              {busy === 'portal' ? 'Opening…' : 'Manage subscription and invoices'}
            </button>
          )}
        </section>
        <section className="card" aria-labelledby="usage-title">
          <h2 id="usage-title">Usage this month</h2>
          <p className="stat-value">
            {usage.models_used} / {usage.models_limit ?? 'unlimited'}
          </p>
          <p className="muted">trainings</p>
          {usage.models_limit === 0 && <p>Training is turned off for your plan on this server.</p>}
          {usage.models_limit !== null && usage.models_limit > 0 && (
            <ProgressBar
              value={(usage.models_used / usage.models_limit) * 100}
              label="Monthly trainings used"
            />
          )}
          <p className="muted small">
            Period {formatDay(usage.period_start)} – {formatDay(usage.period_end)} (UTC). Trainings that fail
            for reasons outside your control, or are cancelled before training starts, are not counted.
          </p>
        </section>
      </div>
      {upgrades.length > 0 && (
        <section className="section" aria-labelledby="upgrade-title">
          <h2 id="upgrade-title">Upgrade</h2>
          <div className="plan-grid">
            {upgrades.map((p) => (
              <article key={p.tier} className={wanted === p.tier ? 'card plan current' : 'card plan'}>
                <h3>{p.name}</h3>
                <p className="plan-limit">
                  <strong>{p.trainings_per_month ?? 'Unlimited'}</strong> trainings / month
                </p>
                <p className="muted">{p.blurb}</p>
                <button
                  type="button"
                  className="button"
                  onClick={() => go('checkout', p.tier)}
                  disabled={busy !== null}
                >
                  {busy === p.tier
                    ? 'Opening checkout…'
                    : hasStripeSubscription
                      ? `Switch to ${p.name}`
                      : `Start ${p.name}`}
                </button>
              </article>
            ))}
          </div>
          <p className="muted small">
            Payments are handled by Stripe. New subscriptions may include a free trial.
          </p>
        </section>
      )}
    </>
  );
}
