/**
 * Stripe webhook processing, exactly once (api.md §4.12 "Webhook processing"):
 * 1. 503 unless billing and the webhook secret are configured; the raw body is verified with the Stripe library
 *    (tolerance 300 s) → 400 on a missing header or a bad signature.
 * 2. Shape check of the envelope and of the fields the handler reads → 400 "Malformed event payload.", nothing
 *    recorded. checkout.session.completed retrieves the subscription from Stripe before the transaction.
 * 3. ONE transaction: purge event rows older than 30 days, claim the event id (`ON CONFLICT DO NOTHING`; zero rows =
 *    duplicate → commit, no effect), apply the effect and queue emails. Any error rolls all of it back (500) and
 *    Stripe retries. A concurrent duplicate blocks on the first one's insert and then finds its row.
 */
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../core/context.ts';
import { type DbOrTx, rowCountOf } from '../core/db/client.ts';
import { STRIPE_STATUSES, subscriptions, users } from '../core/db/schema.ts';
import { enqueueEmail } from '../core/email/outbox.ts';
import { HttpError } from '../core/http/errors.ts';
import { lockSubscription, type SubscriptionRow, type Tier } from './quota.ts';
import { stripeOf } from './service.ts';
import { StripeSignatureVerificationError, stripeWebhooks } from './stripe.ts';

export const WEBHOOK_TOLERANCE_SECONDS = 300;

const NOT_CONFIGURED = 'Billing is not configured';
const MALFORMED = 'Malformed event payload.';

const idRef = z.union([z.string().min(1), z.looseObject({ id: z.string().min(1) })]);
const ts = z.number().int().nonnegative();

const envelopeSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  created: ts,
  data: z.looseObject({ object: z.record(z.string(), z.unknown()) }),
});

export const subscriptionSchema = z.looseObject({
  id: z.string().min(1),
  customer: idRef,
  status: z.enum(STRIPE_STATUSES),
  cancel_at_period_end: z.boolean().optional(),
  trial_end: ts.nullable().optional(),
  current_period_end: ts.nullable().optional(),
  items: z.looseObject({
    data: z.array(
      z.looseObject({
        price: z.looseObject({ id: z.string().min(1) }),
        current_period_end: ts.nullable().optional(),
      }),
    ),
  }),
});
export type StripeSubscriptionShape = z.infer<typeof subscriptionSchema>;

const checkoutSchema = z.looseObject({
  id: z.string().min(1),
  mode: z.string().optional(),
  customer: idRef.nullable().optional(),
  subscription: idRef.nullable().optional(),
  client_reference_id: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

const invoiceSchema = z.looseObject({
  id: z.string().min(1),
  customer: idRef.nullable().optional(),
  attempt_count: z.number().int().nonnegative().optional(),
  subscription: idRef.nullable().optional(),
  parent: z
    .looseObject({
      subscription_details: z
        .looseObject({ subscription: idRef.nullable().optional() })
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
});

const trialWillEndSchema = z.looseObject({
  id: z.string().min(1),
  customer: idRef,
  trial_end: ts,
});

type Parsed =
  | { kind: 'checkout'; object: z.infer<typeof checkoutSchema> }
  | { kind: 'subscription'; object: StripeSubscriptionShape }
  | { kind: 'subscription_deleted'; object: StripeSubscriptionShape }
  | { kind: 'invoice_paid' | 'invoice_failed'; object: z.infer<typeof invoiceSchema> }
  | { kind: 'trial_will_end'; object: z.infer<typeof trialWillEndSchema> }
  | { kind: 'other' };

export interface StripeEventEnvelope {
  id: string;
  type: string;
  created: number;
}

export type WebhookResult = 'processed' | 'duplicate' | 'ignored' | 'unmatched' | 'stale';

const refId = (r: z.infer<typeof idRef> | null | undefined): string | null =>
  r == null ? null : typeof r === 'string' ? r : r.id;
const toDate = (seconds: number | null | undefined): Date | null =>
  seconds == null ? null : new Date(seconds * 1000);

function parseObject(type: string, object: Record<string, unknown>): Parsed | null {
  const take = <S extends z.ZodType>(schema: S): z.infer<S> | null => {
    const r = schema.safeParse(object);
    return r.success ? r.data : null;
  };
  switch (type) {
    case 'checkout.session.completed': {
      const o = take(checkoutSchema);
      return o && { kind: 'checkout', object: o };
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated': {
      const o = take(subscriptionSchema);
      return o && { kind: 'subscription', object: o };
    }
    case 'customer.subscription.deleted': {
      const o = take(subscriptionSchema);
      return o && { kind: 'subscription_deleted', object: o };
    }
    case 'invoice.paid':
    case 'invoice.payment_failed': {
      const o = take(invoiceSchema);
      return o && { kind: type === 'invoice.paid' ? 'invoice_paid' : 'invoice_failed', object: o };
    }
    case 'customer.subscription.trial_will_end': {
      const o = take(trialWillEndSchema);
      return o && { kind: 'trial_will_end', object: o };
    }
    default:
      return { kind: 'other' };
  }
}

/** Verify, parse and check the shape of one delivery (steps 1-2). Throws HttpError 400/503. */
export function verifyEvent(
  ctx: AppContext,
  rawBody: Buffer,
  signature: string | undefined,
): { event: StripeEventEnvelope; parsed: Parsed } {
  const secret = ctx.config.stripeWebhookSecret;
  if (!ctx.config.stripeSecretKey || !secret) throw new HttpError(503, NOT_CONFIGURED);
  if (!signature) throw new HttpError(400, 'Missing stripe-signature header.');
  let raw: unknown;
  try {
    raw = stripeWebhooks.constructEvent(rawBody, signature, secret, WEBHOOK_TOLERANCE_SECONDS);
  } catch (err) {
    if (err instanceof StripeSignatureVerificationError)
      throw new HttpError(400, 'Invalid webhook signature.');
    // Correctly signed, but not JSON.
    throw new HttpError(400, MALFORMED);
  }
  const env = envelopeSchema.safeParse(raw);
  if (!env.success) throw new HttpError(400, MALFORMED);
  const parsed = parseObject(env.data.type, env.data.data.object);
  if (!parsed) throw new HttpError(400, MALFORMED);
  return { event: { id: env.data.id, type: env.data.type, created: env.data.created }, parsed };
}

/** The whole webhook: verify, (checkout) retrieve the subscription, then the exactly-once transaction. */
export async function handleWebhook(
  ctx: AppContext,
  rawBody: Buffer,
  signature: string | undefined,
  meta: { type: string } = { type: '' },
): Promise<WebhookResult> {
  const { event, parsed } = verifyEvent(ctx, rawBody, signature);
  meta.type = event.type;
  let retrieved: StripeSubscriptionShape | null = null;
  if (parsed.kind === 'checkout') {
    const subId = refId(parsed.object.subscription);
    if (subId) {
      const stripe = stripeOf(ctx);
      if (!stripe) throw new HttpError(503, NOT_CONFIGURED);
      // Failure → 500 (Stripe retries); nothing has been recorded yet.
      const sub = await stripe.subscriptions.retrieve(subId);
      const shape = subscriptionSchema.safeParse(sub);
      if (!shape.success) throw new Error('Stripe returned a subscription without the expected fields');
      retrieved = shape.data;
    }
  }
  return ctx.db.transaction(async (tx) => {
    await tx.execute(
      sql`DELETE FROM processed_stripe_events WHERE processed_at < now() - interval '30 days'`,
    );
    const claimed = await tx.execute(
      sql`INSERT INTO processed_stripe_events (event_id, event_type) VALUES (${event.id}, ${event.type}) ON CONFLICT (event_id) DO NOTHING`,
    );
    if (rowCountOf(claimed) === 0) return 'duplicate';
    return applyEvent(ctx, tx, event, parsed, retrieved);
  });
}

function tierForPrice(ctx: AppContext, priceId: string | null): Tier | null {
  if (!priceId) return null;
  const p = ctx.config.stripePrices;
  if (p.developer && priceId === p.developer) return 'developer';
  if (p.business && priceId === p.business) return 'business';
  if (p.enterprise && priceId === p.enterprise) return 'enterprise';
  return null;
}

async function lockBy(
  tx: DbOrTx,
  column: 'stripe_subscription_id' | 'stripe_customer_id',
  value: string | null,
): Promise<SubscriptionRow | null> {
  if (!value) return null;
  const col =
    column === 'stripe_subscription_id' ? subscriptions.stripeSubscriptionId : subscriptions.stripeCustomerId;
  const rows = await tx.select().from(subscriptions).where(eq(col, value)).for('update');
  return rows[0] ?? null;
}

async function lockForUser(tx: DbOrTx, userId: number): Promise<SubscriptionRow | null> {
  const exists = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId));
  if (!exists[0]) return null;
  return lockSubscription(tx, userId);
}

function userIdFrom(value: string | null | undefined): number | null {
  if (!value || !/^[1-9]\d{0,15}$/.test(value)) return null;
  return Number(value);
}

/** An event older than the last applied one changes no state (ordering guard per subscription row). */
function isStale(row: SubscriptionRow, event: StripeEventEnvelope): boolean {
  return row.stripeEventCreated !== null && event.created * 1000 < row.stripeEventCreated.getTime();
}

/** Subscription fields from a Stripe subscription object (tier from the first item's price, never metadata). */
function subscriptionState(
  ctx: AppContext,
  event: StripeEventEnvelope,
  row: SubscriptionRow,
  sub: StripeSubscriptionShape,
) {
  const item = sub.items.data[0];
  const priceId = item?.price.id ?? null;
  const tier = tierForPrice(ctx, priceId);
  if (!tier) {
    ctx.logger.error(
      { event_id: event.id, event_type: event.type, price_id: priceId, user_id: row.userId },
      'Stripe subscription has an unknown price id; tier unchanged',
    );
  }
  const trialEnd = toDate(sub.trial_end);
  return {
    ...(tier ? { tier, stripePriceId: priceId } : {}),
    status: sub.status,
    stripeSubscriptionId: sub.id,
    stripeCustomerId: refId(sub.customer),
    currentPeriodEnd: toDate(item?.current_period_end ?? sub.current_period_end),
    trialEnd,
    cancelAtPeriodEnd: sub.cancel_at_period_end ?? false,
    ...(trialEnd ? { trialConsumed: true } : {}),
  };
}

async function update(
  tx: DbOrTx,
  row: SubscriptionRow,
  event: StripeEventEnvelope,
  set: Partial<typeof subscriptions.$inferInsert>,
) {
  await tx
    .update(subscriptions)
    .set({ ...set, stripeEventCreated: new Date(event.created * 1000), updatedAt: sql`now()` })
    .where(eq(subscriptions.id, row.id));
}

async function recipient(tx: DbOrTx, userId: number): Promise<{ email: string; name: string } | null> {
  const rows = await tx
    .select({ email: users.email, name: users.name })
    .from(users)
    .where(eq(users.id, userId));
  return rows[0] ?? null;
}

const TERMINAL = new Set(['canceled', 'incomplete_expired']);

async function applyEvent(
  ctx: AppContext,
  tx: DbOrTx,
  event: StripeEventEnvelope,
  parsed: Parsed,
  retrieved: StripeSubscriptionShape | null,
): Promise<WebhookResult> {
  const unmatched = (ids: Record<string, unknown>): WebhookResult => {
    ctx.logger.warn(
      { event_id: event.id, event_type: event.type, ...ids },
      'Stripe event matches no subscription row; recorded without effect',
    );
    return 'unmatched';
  };
  switch (parsed.kind) {
    case 'other':
      return 'ignored';

    case 'checkout': {
      const o = parsed.object;
      if (!retrieved) return 'ignored'; // not a subscription checkout
      const customerId = refId(o.customer) ?? refId(retrieved.customer);
      const userId = userIdFrom(o.metadata?.violawake_user_id) ?? userIdFrom(o.client_reference_id);
      const row =
        (await lockBy(tx, 'stripe_subscription_id', retrieved.id)) ??
        (await lockBy(tx, 'stripe_customer_id', customerId)) ??
        (userId ? await lockForUser(tx, userId) : null);
      if (!row) return unmatched({ subscription_id: retrieved.id, customer_id: customerId });
      if (isStale(row, event)) return 'stale';
      await update(tx, row, event, {
        ...subscriptionState(ctx, event, row, retrieved),
        stripeCustomerId: customerId,
      });
      return 'processed';
    }

    case 'subscription': {
      const sub = parsed.object;
      const row =
        (await lockBy(tx, 'stripe_subscription_id', sub.id)) ??
        (await lockBy(tx, 'stripe_customer_id', refId(sub.customer)));
      if (!row) return unmatched({ subscription_id: sub.id });
      if (isStale(row, event)) return 'stale';
      // A finished subscription other than the stored one must not overwrite the current one.
      if (row.stripeSubscriptionId && row.stripeSubscriptionId !== sub.id && TERMINAL.has(sub.status))
        return 'ignored';
      await update(tx, row, event, subscriptionState(ctx, event, row, sub));
      return 'processed';
    }

    case 'subscription_deleted': {
      const sub = parsed.object;
      const row = await lockBy(tx, 'stripe_subscription_id', sub.id);
      if (!row) return unmatched({ subscription_id: sub.id });
      if (isStale(row, event)) return 'stale';
      await update(tx, row, event, {
        tier: 'free',
        status: 'canceled',
        stripeSubscriptionId: null,
        stripePriceId: null,
        currentPeriodEnd: null,
        trialEnd: null,
        cancelAtPeriodEnd: false,
      });
      return 'processed';
    }

    case 'invoice_paid':
    case 'invoice_failed': {
      const inv = parsed.object;
      const subId = refId(inv.parent?.subscription_details?.subscription) ?? refId(inv.subscription);
      const row =
        (await lockBy(tx, 'stripe_subscription_id', subId)) ??
        (await lockBy(tx, 'stripe_customer_id', refId(inv.customer)));
      if (!row) return unmatched({ invoice_id: inv.id, subscription_id: subId });
      if (isStale(row, event)) return 'stale';
      if (parsed.kind === 'invoice_paid') {
        await update(
          tx,
          row,
          event,
          row.status === 'past_due' || row.status === 'unpaid' ? { status: 'active' } : {},
        );
        return 'processed';
      }
      await update(tx, row, event, { status: 'past_due' });
      const to = await recipient(tx, row.userId);
      if (to) {
        await enqueueEmail(tx, {
          to: to.email,
          userId: row.userId,
          template: 'payment_failed',
          payload: { name: to.name, invoice_id: inv.id, attempt_count: inv.attempt_count ?? 0 },
          dedupeKey: `payment_failed:${inv.id}:${inv.attempt_count ?? 0}`,
        });
      }
      return 'processed';
    }

    case 'trial_will_end': {
      const sub = parsed.object;
      const row =
        (await lockBy(tx, 'stripe_subscription_id', sub.id)) ??
        (await lockBy(tx, 'stripe_customer_id', refId(sub.customer)));
      if (!row) return unmatched({ subscription_id: sub.id });
      const to = await recipient(tx, row.userId);
      if (to) {
        const trialEnd = new Date(sub.trial_end * 1000);
        await enqueueEmail(tx, {
          to: to.email,
          userId: row.userId,
          template: 'trial_will_end',
          payload: {
            name: to.name,
            trial_end: trialEnd.toISOString(),
            trial_end_date: trialEnd.toISOString().slice(0, 10),
          },
          dedupeKey: `trial_will_end:${sub.id}:${sub.trial_end}`,
        });
      }
      return 'processed';
    }
  }
}
