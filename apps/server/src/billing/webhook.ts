/**
 * Stripe webhook processing, exactly once (docs/billing.md "Webhook processing"):
 * 1. 503 unless billing and the webhook secret are configured; the raw body is verified with the Stripe library
 *    (tolerance 300 s) → 400 on a missing header or a bad signature.
 * 2. Shape check of the envelope and of the fields the handler reads → 400 "Malformed event payload.", nothing
 *    recorded. An event id already recorded answers `duplicate` after one indexed read (no transaction).
 *    checkout.session.completed retrieves the subscription from Stripe before the transaction.
 * 3. Verified events that arrive together are processed in ONE transaction per batch (group commit): claim the
 *    event ids (`ON CONFLICT DO NOTHING`; a conflict = duplicate, no effect), lock the subscription rows they touch
 *    (in id order), apply the effects in arrival order in memory, then write the rows (one UPDATE), the emails
 *    with their NOTIFYs (one INSERT) and given-back claims (billing/queries.ts). Any error rolls the batch back and each event is retried alone, so one bad event fails (500, Stripe
 *    retries) without taking the others with it. A concurrent duplicate blocks on the first one's claim.
 * 4. A subscription event that is not strictly newer (by Stripe's whole-second `created`) than the last applied one
 *    never applies its own payload: its claim is given back, the subscription is re-read from Stripe and that
 *    current state is applied in a second pass. A second live subscription of the same customer is cancelled at
 *    Stripe instead of being granted.
 */
import { z } from 'zod';
import { userContacts } from '../auth/service.ts';
import type { AppContext } from '../core/context.ts';
import { STRIPE_STATUSES } from '../core/db/schema.ts';
import { enqueueEmails } from '../core/email/outbox.ts';
import { HttpError } from '../core/http/errors.ts';
import * as q from './queries.ts';
import type { Tier } from './quota.ts';
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

export type WebhookResult =
  | 'processed'
  | 'duplicate'
  | 'ignored'
  | 'unmatched'
  | 'stale'
  | 'duplicate_subscription';

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

/** Events older than 30 days are purged from `processed_stripe_events` (at most once a minute per process). */
export const PURGE_EVERY_MS = 60_000;
/** Most events per transaction, and transactions in flight per process. */
const MAX_BATCH = 64;
const MAX_IN_FLIGHT = 2;

/** One verified event on its way through the pipeline, with what the network steps learned. */
interface Item {
  event: StripeEventEnvelope;
  parsed: Parsed;
  /** The subscription as Stripe returns it now (checkout always; others after a re-read). */
  retrieved: StripeSubscriptionShape | null;
  /** The re-read found no such subscription at Stripe. */
  missing?: boolean;
  /** The stored live subscription was checked at Stripe and has ended: the event's subscription may replace it. */
  storedEnded?: boolean;
  /** The event's subscription was a second live one and has been cancelled at Stripe. */
  duplicateCancelled?: boolean;
}

/** What a network step must do before the event can be decided (its claim is given back meanwhile). */
type Deferral =
  | { kind: 'reread'; subscriptionId: string }
  | { kind: 'second_subscription'; stored: string; candidate: string };

type Outcome = WebhookResult | Deferral;

/** The whole webhook: verify, skip known duplicates, (checkout) retrieve, then the batched transaction. */
export async function handleWebhook(
  ctx: AppContext,
  rawBody: Buffer,
  signature: string | undefined,
  meta: { type: string } = { type: '' },
): Promise<WebhookResult> {
  const { event, parsed } = verifyEvent(ctx, rawBody, signature);
  meta.type = event.type;
  // Fast path for redeliveries: a committed claim is final, so a read (one per batch, no transaction) settles it.
  if (await pipelinesOf(ctx).known.submit(event.id)) return 'duplicate';
  const item: Item = { event, parsed, retrieved: null };
  if (parsed.kind === 'checkout') {
    const subId = refId(parsed.object.subscription);
    // Failure → 500 (Stripe retries); nothing has been recorded yet.
    if (subId) item.retrieved = await retrieveSubscription(ctx, subId);
  }
  // At most: re-read, then the second-subscription check, then the decision.
  for (let pass = 0; pass < 4; pass++) {
    const outcome = await pipelinesOf(ctx).apply.submit(item);
    if (typeof outcome === 'string') return outcome;
    await resolveDeferral(ctx, item, outcome);
  }
  throw new Error('Stripe event still undecided after four passes');
}

async function retrieveSubscription(ctx: AppContext, id: string): Promise<StripeSubscriptionShape> {
  const stripe = stripeOf(ctx);
  if (!stripe) throw new HttpError(503, NOT_CONFIGURED);
  const sub = await stripe.subscriptions.retrieve(id);
  const shape = subscriptionSchema.safeParse(sub);
  if (!shape.success) throw new Error('Stripe returned a subscription without the expected fields');
  return shape.data;
}

const isMissing = (err: unknown) => {
  const e = err as { code?: string; statusCode?: number };
  return e.code === 'resource_missing' || e.statusCode === 404;
};

/** The network step of a deferred event (outside any transaction). Errors → 500, Stripe retries. */
async function resolveDeferral(ctx: AppContext, item: Item, d: Deferral): Promise<void> {
  if (d.kind === 'reread') {
    try {
      item.retrieved = await retrieveSubscription(ctx, d.subscriptionId);
    } catch (err) {
      if (!isMissing(err)) throw err;
      item.missing = true;
    }
    return;
  }
  // Two live subscriptions for one user: is the stored one really still live at Stripe?
  let storedLive = false;
  try {
    storedLive = !TERMINAL.has((await retrieveSubscription(ctx, d.stored)).status);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  if (!storedLive) {
    item.storedEnded = true;
    return;
  }
  const stripe = stripeOf(ctx);
  if (!stripe) throw new HttpError(503, NOT_CONFIGURED);
  try {
    // Cancel now and credit the unused time: the user keeps one subscription and is not charged twice.
    await stripe.subscriptions.cancel(d.candidate, { prorate: true, invoice_now: true });
  } catch (err) {
    const e = err as { statusCode?: number; message?: string };
    const alreadyCancelled = e.statusCode === 400 && /cancel+ed/i.test(e.message ?? '');
    if (!isMissing(err) && !alreadyCancelled) throw err;
  }
  ctx.logger.warn(
    {
      event_id: item.event.id,
      event_type: item.event.type,
      subscription_id: d.candidate,
      kept_subscription_id: d.stored,
    },
    'Second live Stripe subscription for one user cancelled; the stored one is kept',
  );
  item.duplicateCancelled = true;
}

// ---- batching -------------------------------------------------------------------------------------------------

/**
 * Runs `work` over everything queued meanwhile (at most MAX_BATCH at a time, MAX_IN_FLIGHT batches at once): no
 * added delay, and under load one database round trip serves many requests. When a batch fails and `retryAlone`
 * is set, each input runs alone so only the bad one fails.
 */
class MicroBatcher<I, O> {
  private queue: { input: I; resolve(o: O): void; reject(err: unknown): void }[] = [];
  private inFlight = 0;
  constructor(
    private readonly work: (inputs: I[]) => Promise<O[]>,
    private readonly retryAlone: boolean,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: typeof this.queue): Promise<void> {
    try {
      const outputs = await this.work(batch.map((p) => p.input));
      for (const [i, p] of batch.entries()) p.resolve(outputs[i]!);
      return;
    } catch (err) {
      if (batch.length === 1 || !this.retryAlone) {
        for (const p of batch) p.reject(err);
        return;
      }
    }
    for (const p of batch) {
      try {
        p.resolve((await this.work([p.input]))[0]!);
      } catch (err) {
        p.reject(err);
      }
    }
  }
}

interface Pipelines {
  /** Event id → already recorded. */
  known: MicroBatcher<string, boolean>;
  /** The exactly-once transaction. */
  apply: MicroBatcher<Item, Outcome>;
}

const pipelines = new WeakMap<AppContext, Pipelines>();
function pipelinesOf(ctx: AppContext): Pipelines {
  let p = pipelines.get(ctx);
  if (!p) {
    p = {
      known: new MicroBatcher(async (ids) => {
        const found = await q.knownEventIds(ctx.db, ids);
        return ids.map((id) => found.has(id));
      }, false),
      apply: new MicroBatcher((items) => processBatch(ctx, items), true),
    };
    pipelines.set(ctx, p);
  }
  return p;
}

const lastPurge = new WeakMap<AppContext, number>();
function purgeDue(ctx: AppContext): boolean {
  const now = ctx.clock.now().getTime();
  const last = lastPurge.get(ctx);
  if (last !== undefined && now - last < PURGE_EVERY_MS) return false;
  lastPurge.set(ctx, now);
  return true;
}

// ---- the transaction ------------------------------------------------------------------------------------------

/** A locked subscription row as the batch sees it (changes are made in memory, written at the end). */
type Row = q.SubscriptionState & {
  userId: number;
  email: string;
  name: string;
  dirty: boolean;
};

interface Email {
  to_address: string;
  user_id: number;
  template: 'payment_failed' | 'trial_will_end';
  payload: Record<string, unknown>;
  dedupe_key: string;
}

/** The ids an event may find its row by (subscription first, then customer, then the checkout's user). */
function keysOf(item: Item): { sub: string | null; customer: string | null; user: number | null } {
  const p = item.parsed;
  switch (p.kind) {
    case 'checkout': {
      const r = item.retrieved;
      return {
        sub: r?.id ?? null,
        customer: refId(p.object.customer) ?? (r ? refId(r.customer) : null),
        user: userIdFrom(p.object.metadata?.violawake_user_id) ?? userIdFrom(p.object.client_reference_id),
      };
    }
    case 'subscription':
    case 'subscription_deleted':
      return { sub: p.object.id, customer: refId(p.object.customer), user: null };
    case 'invoice_paid':
    case 'invoice_failed':
      return {
        sub: refId(p.object.parent?.subscription_details?.subscription) ?? refId(p.object.subscription),
        customer: refId(p.object.customer),
        user: null,
      };
    case 'trial_will_end':
      return { sub: p.object.id, customer: refId(p.object.customer), user: null };
    case 'other':
      return { sub: null, customer: null, user: null };
  }
}

async function processBatch(ctx: AppContext, items: Item[]): Promise<Outcome[]> {
  return ctx.db.transaction(async (tx) => {
    if (purgeDue(ctx)) await q.purgeProcessedEvents(tx);
    // Claims in id order (two batches sharing ids cannot deadlock); the first occurrence in the batch owns an id.
    const ids = [...new Set(items.map((i) => i.event.id))].sort();
    const types = new Map(items.map((i) => [i.event.id, i.event.type]));
    const claimed = await q.claimEvents(
      tx,
      ids.map((id) => ({ id, type: types.get(id)! })),
    );
    const outcomes: Outcome[] = items.map(() => 'duplicate');
    const fresh: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const id = items[i]!.event.id;
      if (claimed.delete(id)) fresh.push(i);
    }
    if (fresh.length === 0) return outcomes;

    const subs = new Set<string>();
    const customers = new Set<string>();
    const userIds = new Set<number>();
    for (const i of fresh) {
      const k = keysOf(items[i]!);
      if (k.sub) subs.add(k.sub);
      if (k.customer) customers.add(k.customer);
      if (k.user) userIds.add(k.user);
    }
    if (userIds.size > 0) {
      // A checkout may be the first thing that happens to a user's billing: create the row if the user exists.
      const existing = await userContacts(tx, [...userIds]);
      await q.ensureSubscriptions(
        tx,
        existing.map((u) => u.id),
      );
    }
    const locked = await q.lockSubscriptionsMatching(tx, {
      subscriptionIds: [...subs],
      customerIds: [...customers],
      userIds: [...userIds],
    });
    const contacts = new Map(
      (await userContacts(tx, [...new Set(locked.map((r) => r.userId))])).map((u) => [u.id, u]),
    );
    const rows: Row[] = [];
    for (const r of locked) {
      const user = contacts.get(r.userId);
      if (!user) continue; // the user is being deleted (its rows go with it)
      rows.push({
        id: r.id,
        userId: r.userId,
        tier: r.tier,
        status: r.status,
        stripeCustomerId: r.stripeCustomerId,
        stripeSubscriptionId: r.stripeSubscriptionId,
        stripePriceId: r.stripePriceId,
        currentPeriodEnd: r.currentPeriodEnd,
        trialEnd: r.trialEnd,
        cancelAtPeriodEnd: r.cancelAtPeriodEnd,
        trialConsumed: r.trialConsumed,
        stripeEventCreated: r.stripeEventCreated,
        stripeCheckoutSessionId: r.stripeCheckoutSessionId,
        email: user.email,
        name: user.name,
        dirty: false,
      });
    }

    const emails = new Map<string, Email>();
    const unclaim: string[] = [];
    for (const i of fresh) {
      const item = items[i]!;
      const outcome = applyEvent(ctx, rows, emails, item);
      outcomes[i] = outcome;
      if (typeof outcome !== 'string') unclaim.push(item.event.id);
    }

    // Rows, emails (with their NOTIFY) and given-back claims.
    await q.writeSubscriptionStates(
      tx,
      rows.filter((r) => r.dirty),
    );
    await enqueueEmails(
      tx,
      [...emails.values()].map((e) => ({
        to: e.to_address,
        userId: e.user_id,
        template: e.template,
        payload: e.payload,
        dedupeKey: e.dedupe_key,
      })),
    );
    await q.unclaimEvents(tx, unclaim);
    return outcomes;
  });
}

// ---- the effects (in memory, on the locked rows) --------------------------------------------------------------

function tierForPrice(ctx: AppContext, priceId: string | null): Tier | null {
  if (!priceId) return null;
  const p = ctx.config.stripePrices;
  if (p.developer && priceId === p.developer) return 'developer';
  if (p.business && priceId === p.business) return 'business';
  if (p.enterprise && priceId === p.enterprise) return 'enterprise';
  return null;
}

function userIdFrom(value: string | null | undefined): number | null {
  if (!value || !/^[1-9]\d{0,15}$/.test(value)) return null;
  return Number(value);
}

/** The row an event applies to: by subscription id, else by customer id, else (checkout) by user id. */
function findRow(rows: Row[], item: Item): Row | null {
  const k = keysOf(item);
  return (
    (k.sub ? rows.find((r) => r.stripeSubscriptionId === k.sub) : undefined) ??
    (k.customer ? rows.find((r) => r.stripeCustomerId === k.customer) : undefined) ??
    (k.user ? rows.find((r) => r.userId === k.user) : undefined) ??
    null
  );
}

/**
 * How the event's second compares with the last applied one: 1 strictly newer (or nothing applied yet), 0 the same
 * second (Stripe's `created` has whole-second resolution, so the order is unknown), -1 older.
 */
function order(row: Row, event: StripeEventEnvelope): -1 | 0 | 1 {
  if (row.stripeEventCreated === null) return 1;
  const diff = event.created * 1000 - row.stripeEventCreated.getTime();
  return diff > 0 ? 1 : diff === 0 ? 0 : -1;
}

function touch(row: Row, event: StripeEventEnvelope, set: Partial<Row>): void {
  Object.assign(row, set);
  const created = new Date(event.created * 1000);
  // Never moves backwards (a re-read older event applies Stripe's current state, not its own time).
  if (row.stripeEventCreated === null || created > row.stripeEventCreated) row.stripeEventCreated = created;
  row.dirty = true;
}

/** Row fields from a Stripe subscription object (tier from the first item's price, never metadata). */
function subscriptionState(
  ctx: AppContext,
  event: StripeEventEnvelope,
  row: Row,
  sub: StripeSubscriptionShape,
): Partial<Row> {
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

const ENDED_STATE: Partial<Row> = {
  tier: 'free',
  status: 'canceled',
  stripeSubscriptionId: null,
  stripePriceId: null,
  currentPeriodEnd: null,
  trialEnd: null,
  cancelAtPeriodEnd: false,
};

const TERMINAL = new Set(['canceled', 'incomplete_expired']);
const liveSubscription = (row: Row) =>
  row.stripeSubscriptionId !== null && !TERMINAL.has(row.status) ? row.stripeSubscriptionId : null;

/**
 * Apply a subscription's state to the row: a finished subscription other than the stored one changes nothing; a
 * second live one is checked at Stripe (deferred); the stored one finished → the ended state.
 */
function applySubscription(
  ctx: AppContext,
  row: Row,
  item: Item,
  sub: StripeSubscriptionShape,
  extra: Partial<Row> = {},
): Outcome {
  const stored = row.stripeSubscriptionId;
  if (TERMINAL.has(sub.status)) {
    if (stored !== null && stored !== sub.id) return 'ignored';
    if (item.retrieved === sub && item.parsed.kind !== 'checkout') {
      // Stripe says now that it has ended: the same as its deletion (idempotent when already applied).
      if (stored === null && TERMINAL.has(row.status)) return 'stale';
      touch(row, item.event, { ...ENDED_STATE, status: sub.status, ...extra });
      return 'processed';
    }
  }
  const live = liveSubscription(row);
  if (live !== null && live !== sub.id && !TERMINAL.has(sub.status) && !item.storedEnded) {
    if (item.duplicateCancelled) return 'duplicate_subscription';
    return { kind: 'second_subscription', stored: live, candidate: sub.id };
  }
  touch(row, item.event, { ...subscriptionState(ctx, item.event, row, sub), ...extra });
  return 'processed';
}

function applyEvent(ctx: AppContext, rows: Row[], emails: Map<string, Email>, item: Item): Outcome {
  const { event, parsed } = item;
  const unmatched = (ids: Record<string, unknown>): WebhookResult => {
    ctx.logger.warn(
      { event_id: event.id, event_type: event.type, ...ids },
      'Stripe event matches no subscription row; recorded without effect',
    );
    return 'unmatched';
  };
  const email = (row: Row, e: Omit<Email, 'to_address' | 'user_id'>) => {
    if (!emails.has(e.dedupe_key))
      emails.set(e.dedupe_key, { to_address: row.email, user_id: row.userId, ...e });
  };
  switch (parsed.kind) {
    case 'other':
      return 'ignored';

    case 'checkout': {
      const o = parsed.object;
      const retrieved = item.retrieved;
      if (!retrieved) return 'ignored'; // not a subscription checkout
      const row = findRow(rows, item);
      if (!row) {
        const k = keysOf(item);
        return unmatched({ subscription_id: retrieved.id, customer_id: k.customer });
      }
      if (order(row, event) < 0) return 'stale';
      const customerId = refId(o.customer) ?? refId(retrieved.customer);
      // This session is settled: the next checkout opens a new one.
      const session = row.stripeCheckoutSessionId === o.id ? { stripeCheckoutSessionId: null } : {};
      return applySubscription(ctx, row, item, retrieved, { stripeCustomerId: customerId, ...session });
    }

    case 'subscription':
    case 'subscription_deleted': {
      const sub = parsed.object;
      const row = findRow(rows, item);
      if (!row) return unmatched({ subscription_id: sub.id });
      if (item.retrieved || item.missing) {
        // Second pass of an event that was not strictly newer: Stripe's current state decides.
        if (item.missing || !item.retrieved) return 'stale';
        return applySubscription(ctx, row, item, item.retrieved);
      }
      const when = order(row, event);
      if (when < 0) return 'stale';
      if (parsed.kind === 'subscription_deleted') {
        // Only the stored subscription's deletion ends the row; a deletion is final at Stripe, so it wins a tie.
        if (row.stripeSubscriptionId !== sub.id) return unmatched({ subscription_id: sub.id });
        touch(row, event, ENDED_STATE);
        return 'processed';
      }
      // The same second as the last applied event: which came first is unknown, so the payload never decides
      // (it could undo a cancellation); Stripe's current state does.
      if (when === 0) return { kind: 'reread', subscriptionId: sub.id };
      return applySubscription(ctx, row, item, sub);
    }

    case 'invoice_paid':
    case 'invoice_failed': {
      const inv = parsed.object;
      const row = findRow(rows, item);
      if (!row) {
        const k = keysOf(item);
        return unmatched({ invoice_id: inv.id, subscription_id: k.sub });
      }
      const stale = order(row, event) < 0;
      if (parsed.kind === 'invoice_paid') {
        if (stale) return 'stale';
        touch(row, event, row.status === 'past_due' || row.status === 'unpaid' ? { status: 'active' } : {});
        return 'processed';
      }
      // The user is told about a failed payment even when a newer event already decided the state.
      email(row, {
        template: 'payment_failed',
        payload: { name: row.name, invoice_id: inv.id, attempt_count: inv.attempt_count ?? 0 },
        dedupe_key: `payment_failed:${inv.id}:${inv.attempt_count ?? 0}`,
      });
      if (stale) return 'stale';
      touch(row, event, { status: 'past_due' });
      return 'processed';
    }

    case 'trial_will_end': {
      const sub = parsed.object;
      const row = findRow(rows, item);
      if (!row) return unmatched({ subscription_id: sub.id });
      const trialEnd = new Date(sub.trial_end * 1000);
      email(row, {
        template: 'trial_will_end',
        payload: {
          name: row.name,
          trial_end: trialEnd.toISOString(),
          trial_end_date: trialEnd.toISOString().slice(0, 10),
        },
        dedupe_key: `trial_will_end:${sub.id}:${sub.trial_end}`,
      });
      return 'processed';
    }
  }
}
