/**
 * The transactional email outbox (docs/api.md §4.3). Messages are inserted in the transaction that causes them
 * (`ON CONFLICT (dedupe_key) DO NOTHING`, so a dedupe key sends at most once) and `NOTIFY email_outbox` wakes the
 * deliverers. Each worker process, every 5 s or on notify, claims up to 20 due rows with `FOR UPDATE SKIP LOCKED`
 * (status `sending`, 2-minute lease), renders and sends them. Success → `sent` (token and link removed from the
 * payload); failure → retry after min(30 s × 2^(attempts−1), 6 h); after 12 attempts or a permanent rejection →
 * `failed`.
 */
import type { AppContext } from '../context.ts';
import type { DbOrTx } from '../db/client.ts';
import { createEmailProvider, describeError, type EmailProvider, EmailSendError } from './providers.ts';
import * as q from './queries.ts';
import { type EmailTemplate, renderEmail } from './templates.ts';

export type { EmailTemplate } from './templates.ts';

export const OUTBOX_CHANNEL = q.OUTBOX_CHANNEL;
export const OUTBOX_POLL_MS = 5000;
export const OUTBOX_BATCH = 20;
export const OUTBOX_LEASE_MS = 2 * 60_000;
export const OUTBOX_MAX_ATTEMPTS = 12;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 6 * 3600_000;
/** Payload keys that carry credentials; removed once the message is sent. */
const SECRET_PAYLOAD_KEYS = ['token', 'link', 'url'];

export interface EmailMessage {
  to: string;
  userId: number | null;
  template: EmailTemplate;
  payload: Record<string, unknown>;
  dedupeKey?: string;
}

/**
 * Queue a message inside the caller's transaction (or directly on the db). Returns whether a row was inserted
 * (false: the dedupe key was already used). The NOTIFY is delivered when the transaction commits.
 */
export async function enqueueEmail(tx: DbOrTx, msg: EmailMessage): Promise<boolean> {
  return (await q.insertEmail(tx, { ...msg, dedupeKey: msg.dedupeKey ?? null })) !== null;
}

/**
 * Queue several messages in one statement inside the caller's transaction (dedupe keys as in `enqueueEmail`); the
 * NOTIFYs are delivered when it commits. Returns how many rows were inserted.
 */
export function enqueueEmails(tx: DbOrTx, msgs: (EmailMessage & { dedupeKey: string })[]): Promise<number> {
  return q.insertEmails(tx, msgs);
}

/** Drop a user's messages not sent yet (account deletion, in its transaction); sent ones stay for the record. */
export async function discardUnsentEmails(tx: DbOrTx, userId: number): Promise<void> {
  await q.deleteUnsent(tx, userId);
}

/** Retry delay after the given number of failed attempts (1-based). */
export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1), BACKOFF_MAX_MS);
}

export interface EmailService {
  provider: EmailProvider;
  /** Claim and deliver due messages once; returns how many were sent. */
  deliverDue(): Promise<{ sent: number; failed: number; retried: number }>;
}

const services = new WeakMap<AppContext, EmailService>();

/** The process's email service (provider + deliverer), created on first use. */
export function emailService(ctx: AppContext): EmailService {
  let s = services.get(ctx);
  if (!s) {
    s = createEmailService(ctx, createEmailProvider(ctx.config, ctx.logger));
    services.set(ctx, s);
  }
  return s;
}

/** Replace the provider (tests of a provider against a local server). */
export function setEmailProvider(ctx: AppContext, provider: EmailProvider): EmailService {
  const s = createEmailService(ctx, provider);
  services.set(ctx, s);
  return s;
}

function createEmailService(ctx: AppContext, provider: EmailProvider): EmailService {
  const db = ctx.db;
  return {
    provider,
    async deliverDue() {
      const now = ctx.clock.now();
      const leaseUntil = new Date(now.getTime() + OUTBOX_LEASE_MS);
      // Due: pending, or sending with an expired lease; "now" is the later of the database's and the context clock's.
      const claimed = await q.claimDue(db, now, leaseUntil, OUTBOX_BATCH);
      const out = { sent: 0, failed: 0, retried: 0 };
      for (const row of claimed) {
        const payload = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as Record<
          string,
          unknown
        >;
        const id = Number(row.id);
        try {
          const rendered = renderEmail(row.template, payload, ctx.config.consoleBaseUrl);
          await provider.send({
            ...rendered,
            id,
            from: ctx.config.emailFrom,
            to: row.to_address,
            template: row.template,
          });
          const kept = Object.fromEntries(
            Object.entries(payload).filter(([k]) => !SECRET_PAYLOAD_KEYS.includes(k)),
          );
          await q.markSent(db, id, ctx.clock.now(), kept);
          out.sent++;
          ctx.logger.info({ email_id: id, template: row.template, provider: provider.name }, 'email sent');
        } catch (err) {
          const attempts = Number(row.attempts) + 1;
          const permanent = err instanceof EmailSendError && err.permanent;
          const message = (err instanceof EmailSendError ? err.message : describeError(err)).slice(0, 1000);
          if (permanent || attempts >= OUTBOX_MAX_ATTEMPTS) {
            await q.markFailed(db, id, attempts, message);
            out.failed++;
            ctx.logger.error(
              { email_id: id, template: row.template, attempts, error: message },
              'email delivery failed',
            );
          } else {
            const next = new Date(Math.max(Date.now(), ctx.clock.now().getTime()) + backoffMs(attempts));
            await q.markRetry(db, id, attempts, message, next);
            out.retried++;
            ctx.logger.warn(
              { email_id: id, template: row.template, attempts, error: message },
              'email delivery will be retried',
            );
          }
        }
      }
      return out;
    },
  };
}

/**
 * The deliverer of a worker process: runs every 5 s and on `NOTIFY email_outbox`, one pass at a time (a notify
 * during a pass schedules another). Returns the stopper.
 */
export async function startOutboxWorker(ctx: AppContext): Promise<() => Promise<void>> {
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        do {
          again = false;
          const r = await emailService(ctx).deliverDue();
          // A full batch means more may be due right away.
          if (r.sent + r.failed + r.retried >= OUTBOX_BATCH) again = true;
        } while (again && !stopped);
      } catch (err) {
        if (!stopped) ctx.logger.error({ err }, 'email outbox pass failed');
      } finally {
        running = null;
      }
    })();
  };
  const unlisten = await ctx.database
    .listen(OUTBOX_CHANNEL, () => run())
    .catch((err) => {
      ctx.logger.warn({ err }, 'email outbox: LISTEN failed; polling only');
      return null;
    });
  const timer = setInterval(run, OUTBOX_POLL_MS);
  timer.unref();
  run();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await unlisten?.().catch(() => {});
    await running;
    await emailService(ctx).provider.close?.();
  };
}

/** The email component of /api/health/details. */
export async function emailHealth(ctx: AppContext) {
  const row = await q.pendingAndFailed(ctx.database);
  return {
    status: row.failed > 0 ? ('degraded' as const) : ('ok' as const),
    provider: ctx.config.emailProvider,
    outbox_pending: row.pending,
    outbox_failed: row.failed,
  };
}

/** The `email_outbox` gauge: messages by status. */
export function outboxCounts(ctx: AppContext): Promise<{ status: string; n: number }[]> {
  return q.countsByStatus(ctx.database);
}

/** Retention: forget sent and failed messages created more than 30 days before `now`. */
export function purgeSettledEmails(ctx: AppContext, now: Date): Promise<number> {
  return q.purgeSettled(ctx.db, now);
}
