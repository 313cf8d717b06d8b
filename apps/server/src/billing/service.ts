/**
 * Billing services (docs/api.md §2.7, §4.12, §4.15): checkout, portal, the Subscription view (database only), and the
 * account-deletion step that cancels the Stripe subscription.
 */
import type { AppContext } from '../core/context.ts';
import { HttpError } from '../core/http/errors.ts';
import { quotaPolicy } from './plans.ts';
import * as q from './queries.ts';
import {
  effectiveTier,
  getOrCreateSubscription,
  lockSubscription,
  type SubscriptionRow,
  TIERS,
  usageFor,
} from './quota.ts';
import type { PaidTier, SubscriptionOut } from './schemas.ts';
import { createStripeClient, type Stripe } from './stripe.ts';

export const PROVIDER_ERROR = 'Payment provider error. Please try again later.';
export const NOT_CONFIGURED = 'Billing is not configured';

/** This process's Stripe client (created on first use; null when billing is off). */
export function stripeOf(ctx: AppContext): Stripe | null {
  if (ctx.stripe === undefined) ctx.stripe = createStripeClient(ctx.config);
  return ctx.stripe;
}

function requireStripe(ctx: AppContext): Stripe {
  const s = stripeOf(ctx);
  if (!s) throw new HttpError(503, NOT_CONFIGURED);
  return s;
}

/** Stripe statuses after which the subscription no longer exists for billing purposes. */
const ENDED = new Set(['canceled', 'incomplete_expired']);

export function hasLiveSubscription(row: SubscriptionRow): boolean {
  return row.stripeSubscriptionId !== null && !ENDED.has(row.status);
}

export type { PaidTier };

/** POST /api/billing/checkout: a subscription-mode Checkout Session for `tier`. */
export async function createCheckout(
  ctx: AppContext,
  user: { id: number; email: string },
  tier: PaidTier,
): Promise<{ checkout_url: string }> {
  const stripe = requireStripe(ctx);
  const priceId = ctx.config.stripePrices[tier];
  if (!priceId) throw new HttpError(503, `Billing is not configured for the ${tier} plan`);
  const base = ctx.config.consoleBaseUrl;
  const failed = (err: unknown): never => {
    if (err instanceof HttpError) throw err;
    ctx.logger.error(
      { err: { type: (err as Error).name, message: (err as Error).message }, user_id: user.id },
      'Stripe checkout failed',
    );
    throw new HttpError(502, PROVIDER_ERROR);
  };
  // The row lock serializes a user's checkouts (and the customer creation) across processes; the customer id is
  // committed even if the session call fails afterwards.
  const { customerId, trialConsumed } = await ctx.db.transaction(async (tx) => {
    const row = await lockSubscription(tx, user.id);
    const current = effectiveTier(row);
    if (TIERS[current].rank >= TIERS[tier].rank) {
      throw new HttpError(409, `You are already on the ${tier} plan (or higher).`);
    }
    if (hasLiveSubscription(row)) {
      throw new HttpError(409, 'You already have a subscription. Use the billing portal to change plans.');
    }
    let customerId = row.stripeCustomerId;
    if (!customerId) {
      const customer = await stripe.customers
        .create(
          { email: user.email, metadata: { violawake_user_id: String(user.id) } },
          { idempotencyKey: `customer-${user.id}` },
        )
        .catch(failed);
      customerId = customer.id;
      await q.updateSubscription(tx, row.id, { stripeCustomerId: customerId });
    }
    return { customerId, trialConsumed: row.trialConsumed };
  });
  const trialDays = ctx.config.trialDays;
  const metadata = { violawake_user_id: String(user.id), tier };
  // One open Checkout Session per user (F5: two sessions opened before the first webhook could both be paid). The
  // row lock serializes the user's checkouts: the stored session is reused for the same plan, expired (so it can no
  // longer be paid) for another plan, and a paid one not yet applied by its webhook answers 409.
  return ctx.db.transaction(async (tx) => {
    const row = await lockSubscription(tx, user.id);
    if (hasLiveSubscription(row)) {
      throw new HttpError(409, 'You already have a subscription. Use the billing portal to change plans.');
    }
    if (row.stripeCheckoutSessionId) {
      const previous = await stripe.checkout.sessions
        .retrieve(row.stripeCheckoutSessionId)
        .catch((err: unknown) => (isMissing(err) ? null : failed(err)));
      let status = previous?.status ?? null;
      if (previous && status === 'open') {
        if (previous.metadata?.tier === tier && previous.url) return { checkout_url: previous.url };
        try {
          await stripe.checkout.sessions.expire(previous.id);
          status = 'expired';
        } catch (err) {
          // It may have been paid meanwhile: ask again.
          const again = await stripe.checkout.sessions.retrieve(previous.id).catch(failed);
          if (again.status === 'open') return failed(err);
          status = again.status;
        }
      }
      if (status === 'complete') {
        throw new HttpError(
          409,
          'A checkout for this account has already been paid; your plan is being activated. Reload the billing page in a moment.',
        );
      }
    }
    const session = await stripe.checkout.sessions
      .create({
        mode: 'subscription',
        customer: customerId,
        line_items: [{ price: priceId, quantity: 1 }],
        client_reference_id: String(user.id),
        metadata,
        subscription_data: {
          metadata,
          ...(trialDays > 0 && !trialConsumed ? { trial_period_days: trialDays } : {}),
        },
        success_url: `${base}/billing?checkout=success`,
        cancel_url: `${base}/pricing`,
      })
      .catch(failed);
    if (!session.url) return failed(new Error('Stripe returned a Checkout Session without a url'));
    await q.updateSubscription(tx, row.id, { stripeCheckoutSessionId: session.id });
    return { checkout_url: session.url };
  });
}

const isMissing = (err: unknown) => {
  const e = err as { code?: string; statusCode?: number };
  return e.code === 'resource_missing' || e.statusCode === 404;
};

/** POST /api/billing/portal. */
export async function createPortal(ctx: AppContext, userId: number): Promise<{ url: string }> {
  const stripe = requireStripe(ctx);
  const row = await getOrCreateSubscription(ctx.db, userId);
  if (!row.stripeCustomerId) throw new HttpError(400, 'No billing account found. Subscribe to a plan first.');
  try {
    const session = await stripe.billingPortal.sessions.create({
      customer: row.stripeCustomerId,
      return_url: `${ctx.config.consoleBaseUrl}/billing`,
    });
    return { url: session.url };
  } catch (err) {
    ctx.logger.error(
      { err: { type: (err as Error).name, message: (err as Error).message }, user_id: userId },
      'Stripe portal failed',
    );
    throw new HttpError(502, PROVIDER_ERROR);
  }
}

/** The API status of §4.12 from Stripe's raw status. */
export function apiStatus(stripeStatus: string): 'active' | 'past_due' | 'canceled' {
  if (stripeStatus === 'active' || stripeStatus === 'trialing') return 'active';
  if (stripeStatus === 'past_due' || stripeStatus === 'unpaid' || stripeStatus === 'incomplete')
    return 'past_due';
  return 'canceled';
}

export type { SubscriptionOut };

/** GET /api/billing/subscription: reads only the database (what webhooks stored). */
export async function subscriptionView(ctx: AppContext, userId: number): Promise<SubscriptionOut> {
  const now = ctx.clock.now();
  const row = await getOrCreateSubscription(ctx.db, userId);
  return {
    tier: row.tier,
    effective_tier: effectiveTier(row),
    status: apiStatus(row.status),
    stripe_status: row.status,
    current_period_end: row.currentPeriodEnd?.toISOString() ?? null,
    trial_active:
      row.status === 'trialing' && row.trialEnd !== null && row.trialEnd.getTime() > now.getTime(),
    trial_end: row.trialEnd?.toISOString() ?? null,
    cancel_at_period_end: row.cancelAtPeriodEnd,
    usage: await usageFor(ctx.db, userId, now, quotaPolicy(ctx.config)),
  };
}

/**
 * Account deletion step 1 (§4.15): cancel the user's Stripe subscription immediately when billing is on and it has
 * not ended; already cancelled or missing at Stripe counts as success. Failure → 502, nothing deleted.
 */
export async function cancelForDeletion(ctx: AppContext, userId: number): Promise<void> {
  const stripe = stripeOf(ctx);
  if (!stripe) return;
  const row = await q.subscriptionOf(ctx.db, userId);
  if (!row || !hasLiveSubscription(row) || !row.stripeSubscriptionId) return;
  try {
    await stripe.subscriptions.cancel(row.stripeSubscriptionId);
  } catch (err) {
    const e = err as { code?: string; statusCode?: number; name?: string; message?: string };
    if (e.code === 'resource_missing' || e.statusCode === 404) return;
    // Cancelling an already-cancelled subscription is an invalid request that says so.
    if (e.statusCode === 400 && /cancel+ed/i.test(e.message ?? '')) return;
    ctx.logger.error(
      { err: { type: e.name, message: e.message }, user_id: userId },
      'Stripe cancellation for account deletion failed',
    );
    throw new HttpError(502, PROVIDER_ERROR);
  }
  await q.updateSubscription(ctx.db, row.id, {
    status: 'canceled',
    tier: 'free',
    stripeSubscriptionId: null,
  });
}

/** Retention: forget Stripe event ids recorded more than 30 days before `now` (a redelivery is never that late). */
export function purgeStripeEvents(ctx: AppContext, now: Date): Promise<number> {
  return q.purgeProcessedEventsBefore(ctx.db, now);
}
