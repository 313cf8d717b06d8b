/**
 * Every statement on the billing domain's tables: `subscriptions`, `usage_records`, `processed_stripe_events`
 * (docs/data-model.md). Plain functions taking the handle they run on; row types come from the Drizzle schema. The
 * webhook's batch statements use `sql` where the builder cannot say it (claims in id order through a jsonb array,
 * one UPDATE of many rows from `jsonb_to_recordset`); their array parameters travel as JSON, the same on both drivers.
 */
import { and, asc, eq, inArray, or, type SQL, sql } from 'drizzle-orm';
import { type DbOrTx, execRows } from '../core/db/client.ts';
import { processedStripeEvents, subscriptions, usageRecords } from '../core/db/schema.ts';

export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type SubscriptionChanges = Partial<Omit<typeof subscriptions.$inferInsert, 'id' | 'userId'>>;

// ---- subscriptions ----------------------------------------------------------------------------------------------

export async function subscriptionOf(db: DbOrTx, userId: number): Promise<SubscriptionRow | null> {
  const [row] = await db.select().from(subscriptions).where(eq(subscriptions.userId, userId));
  return row ?? null;
}

/** Create the user's subscription row (free, active) unless it exists. */
export async function ensureSubscription(db: DbOrTx, userId: number): Promise<void> {
  await db.insert(subscriptions).values({ userId }).onConflictDoNothing({ target: subscriptions.userId });
}

/** The user's subscription row locked `FOR UPDATE` until the transaction ends (null when there is none). */
export async function lockSubscriptionOf(tx: DbOrTx, userId: number): Promise<SubscriptionRow | null> {
  const [row] = await tx.select().from(subscriptions).where(eq(subscriptions.userId, userId)).for('update');
  return row ?? null;
}

/** Give the user `tier` locally (billing off): create or overwrite the row as active. */
export async function setLocalTier(db: DbOrTx, userId: number, tier: SubscriptionRow['tier']): Promise<void> {
  await db
    .insert(subscriptions)
    .values({ userId, tier, status: 'active' })
    .onConflictDoUpdate({
      target: subscriptions.userId,
      set: { tier, status: 'active', updatedAt: sql`now()` },
    });
}

/** Update one subscription row (by its id); `updated_at` is the database's now. */
export async function updateSubscription(
  db: DbOrTx,
  id: number,
  changes: SubscriptionChanges,
): Promise<void> {
  await db
    .update(subscriptions)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(eq(subscriptions.id, id));
}

// ---- usage_records ----------------------------------------------------------------------------------------------

export async function usageCount(
  db: DbOrTx,
  userId: number,
  action: string,
  periodStart: Date,
): Promise<number> {
  const [row] = await db
    .select({ count: usageRecords.count })
    .from(usageRecords)
    .where(
      and(
        eq(usageRecords.userId, userId),
        eq(usageRecords.action, action),
        eq(usageRecords.periodStart, periodStart),
      ),
    );
  return row?.count ?? 0;
}

/** Add one to the month's count (creating the row). */
export async function chargeUsage(
  db: DbOrTx,
  userId: number,
  action: string,
  periodStart: Date,
): Promise<void> {
  await db
    .insert(usageRecords)
    .values({ userId, action, periodStart, count: 1 })
    .onConflictDoUpdate({
      target: [usageRecords.userId, usageRecords.action, usageRecords.periodStart],
      set: { count: sql`${usageRecords.count} + 1`, updatedAt: sql`now()` },
    });
}

/** Take one off the month's count, never below 0. */
export async function refundUsage(
  db: DbOrTx,
  userId: number,
  action: string,
  periodStart: Date,
): Promise<void> {
  await db
    .update(usageRecords)
    .set({ count: sql`GREATEST(${usageRecords.count} - 1, 0)`, updatedAt: sql`now()` })
    .where(
      and(
        eq(usageRecords.userId, userId),
        eq(usageRecords.action, action),
        eq(usageRecords.periodStart, periodStart),
      ),
    );
}

// ---- the Stripe webhook's batch -------------------------------------------------------------------------------

const json = (v: unknown) => sql`${JSON.stringify(v)}::jsonb`;
/** A text[] parameter (through JSON, the same on both drivers); `col = ANY(...)` keeps index scans. */
const textArray = (v: string[]) => sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(v)}::jsonb))`;

/** Which of these event ids are already recorded. */
export async function knownEventIds(db: DbOrTx, ids: string[]): Promise<Set<string>> {
  const rows = await execRows<{ event_id: string }>(
    db,
    sql`SELECT event_id FROM processed_stripe_events WHERE event_id = ANY(${textArray(ids)})`,
  );
  return new Set(rows.map((r) => r.event_id));
}

/** Forget events recorded more than 30 days ago (a redelivery is older than that never). */
export async function purgeProcessedEvents(tx: DbOrTx): Promise<number> {
  const rows = await tx
    .delete(processedStripeEvents)
    .where(sql`${processedStripeEvents.processedAt} < now() - interval '30 days'`)
    .returning({ id: processedStripeEvents.eventId });
  return rows.length;
}

/** Forget events processed before `cutoff` (retention). */
export async function purgeProcessedEventsBefore(db: DbOrTx, cutoff: Date): Promise<number> {
  const rows = await db
    .delete(processedStripeEvents)
    .where(
      sql`${processedStripeEvents.processedAt} < ${cutoff.toISOString()}::timestamptz - interval '30 days'`,
    )
    .returning({ id: processedStripeEvents.eventId });
  return rows.length;
}

/**
 * Claim event ids, inserted in the given order (callers sort them, so two batches sharing ids cannot deadlock); a
 * conflict means someone else claimed it. Returns the ids this call claimed.
 */
export async function claimEvents(tx: DbOrTx, events: { id: string; type: string }[]): Promise<Set<string>> {
  const rows = await execRows<{ event_id: string }>(
    tx,
    sql`INSERT INTO processed_stripe_events (event_id, event_type)
        SELECT e->>'id', e->>'type' FROM jsonb_array_elements(${json(events)}) WITH ORDINALITY AS t(e, n)
        ORDER BY n
        ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
  );
  return new Set(rows.map((r) => r.event_id));
}

/** Give claims back (their events are decided in a later pass). */
export async function unclaimEvents(tx: DbOrTx, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.delete(processedStripeEvents).where(inArray(processedStripeEvents.eventId, ids));
}

/** Create free subscription rows for these (existing) users unless they have one. */
export async function ensureSubscriptions(tx: DbOrTx, userIds: number[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx
    .insert(subscriptions)
    .values(userIds.map((userId) => ({ userId })))
    .onConflictDoNothing({ target: subscriptions.userId });
}

/** The rows matching any of the subscription ids, customer ids or user ids, locked in id order. */
export function lockSubscriptionsMatching(
  tx: DbOrTx,
  keys: { subscriptionIds: string[]; customerIds: string[]; userIds: number[] },
): Promise<SubscriptionRow[]> {
  const conditions: SQL[] = [];
  if (keys.subscriptionIds.length > 0)
    conditions.push(inArray(subscriptions.stripeSubscriptionId, keys.subscriptionIds));
  if (keys.customerIds.length > 0) conditions.push(inArray(subscriptions.stripeCustomerId, keys.customerIds));
  if (keys.userIds.length > 0) conditions.push(inArray(subscriptions.userId, keys.userIds));
  if (conditions.length === 0) return Promise.resolve([]);
  return tx
    .select()
    .from(subscriptions)
    .where(or(...conditions))
    .orderBy(asc(subscriptions.id))
    .for('update');
}

/** The webhook's new state of one subscription row. */
export type SubscriptionState = Pick<
  SubscriptionRow,
  | 'id'
  | 'tier'
  | 'status'
  | 'stripeCustomerId'
  | 'stripeSubscriptionId'
  | 'stripePriceId'
  | 'currentPeriodEnd'
  | 'trialEnd'
  | 'cancelAtPeriodEnd'
  | 'trialConsumed'
  | 'stripeEventCreated'
  | 'stripeCheckoutSessionId'
>;

/** Write many rows' new state in one UPDATE. */
export async function writeSubscriptionStates(tx: DbOrTx, states: SubscriptionState[]): Promise<void> {
  if (states.length === 0) return;
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  const rows = states.map((r) => ({
    id: r.id,
    tier: r.tier,
    status: r.status,
    stripe_customer_id: r.stripeCustomerId,
    stripe_subscription_id: r.stripeSubscriptionId,
    stripe_price_id: r.stripePriceId,
    current_period_end: iso(r.currentPeriodEnd),
    trial_end: iso(r.trialEnd),
    cancel_at_period_end: r.cancelAtPeriodEnd,
    trial_consumed: r.trialConsumed,
    stripe_event_created: iso(r.stripeEventCreated),
    stripe_checkout_session_id: r.stripeCheckoutSessionId,
  }));
  await tx.execute(sql`UPDATE subscriptions s SET tier = v.tier, status = v.status,
      stripe_customer_id = v.stripe_customer_id, stripe_subscription_id = v.stripe_subscription_id,
      stripe_price_id = v.stripe_price_id, current_period_end = v.current_period_end, trial_end = v.trial_end,
      cancel_at_period_end = v.cancel_at_period_end, trial_consumed = v.trial_consumed,
      stripe_event_created = v.stripe_event_created, stripe_checkout_session_id = v.stripe_checkout_session_id,
      updated_at = now()
    FROM jsonb_to_recordset(${json(rows)}) AS v(id bigint, tier text, status text,
      stripe_customer_id text, stripe_subscription_id text, stripe_price_id text, current_period_end timestamptz,
      trial_end timestamptz, cancel_at_period_end boolean, trial_consumed boolean, stripe_event_created timestamptz,
      stripe_checkout_session_id text)
    WHERE s.id = v.id`);
}
