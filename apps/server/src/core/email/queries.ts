/**
 * Every statement on `email_outbox` (docs/data-model.md): insert with NOTIFY, claim with a lease
 * (`FOR UPDATE SKIP LOCKED`), the three outcomes of a delivery, counts and retention. The NOTIFY is delivered when
 * the caller's transaction commits.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { type DbOrTx, execRows, rowCountOf } from '../db/client.ts';
import type { EmailTemplate } from './templates.ts';

export const OUTBOX_CHANNEL = 'email_outbox';

export interface OutboxRow {
  id: number;
  to_address: string;
  template: EmailTemplate;
  payload: Record<string, unknown> | string;
  attempts: number;
}

export interface NewEmail {
  to: string;
  userId: number | null;
  template: EmailTemplate;
  payload: Record<string, unknown>;
  dedupeKey: string | null;
}

/** Insert one message (a used dedupe key inserts nothing) and notify the deliverers; its id, or null. */
export async function insertEmail(tx: DbOrTx, msg: NewEmail): Promise<number | null> {
  const rows = await execRows<{ id: number }>(
    tx,
    sql`INSERT INTO email_outbox (to_address, user_id, template, payload, dedupe_key)
        VALUES (${msg.to}, ${msg.userId}, ${msg.template}, ${JSON.stringify(msg.payload)}::jsonb, ${msg.dedupeKey})
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id`,
  );
  if (rows.length === 0) return null;
  await tx.execute(sql`SELECT pg_notify(${OUTBOX_CHANNEL}, ${String(rows[0]!.id)})`);
  return Number(rows[0]!.id);
}

/** Insert several messages and their NOTIFYs in one statement; how many were inserted. */
export async function insertEmails(tx: DbOrTx, msgs: (NewEmail & { dedupeKey: string })[]): Promise<number> {
  if (msgs.length === 0) return 0;
  const rows = msgs.map((m) => ({
    to_address: m.to,
    user_id: m.userId,
    template: m.template,
    payload: m.payload,
    dedupe_key: m.dedupeKey,
  }));
  const result = await execRows<{ emails: number }>(
    tx,
    sql`WITH mail AS (
          INSERT INTO email_outbox (to_address, user_id, template, payload, dedupe_key)
          SELECT m.to_address, m.user_id, m.template, m.payload, m.dedupe_key
          FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS m(to_address text, user_id bigint, template text,
            payload jsonb, dedupe_key text)
          ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
        )
        SELECT count(pg_notify(${OUTBOX_CHANNEL}, id::text))::int AS emails FROM mail`,
  );
  return Number(result[0]?.emails ?? 0);
}

/** Drop a user's messages not sent yet. */
export async function deleteUnsent(tx: DbOrTx, userId: number): Promise<void> {
  await tx.execute(sql`DELETE FROM email_outbox WHERE user_id = ${userId} AND status <> 'sent'`);
}

/**
 * Claim up to `limit` due messages with a lease until `leaseUntil`. Due: pending, or sending with an expired lease;
 * "now" is the later of the database's and the caller's clock.
 */
export function claimDue(db: DbOrTx, now: Date, leaseUntil: Date, limit: number): Promise<OutboxRow[]> {
  return execRows<OutboxRow>(
    db,
    sql`UPDATE email_outbox SET status = 'sending', locked_until = ${leaseUntil}
         WHERE id IN (
           SELECT id FROM email_outbox
            WHERE next_attempt_at <= GREATEST(now(), ${now}::timestamptz)
              AND (status = 'pending'
                   OR (status = 'sending' AND locked_until < GREATEST(now(), ${now}::timestamptz)))
            ORDER BY next_attempt_at, id
            LIMIT ${limit}
            FOR UPDATE SKIP LOCKED)
     RETURNING id, to_address, template, payload, attempts`,
  );
}

/** Sent: the payload is replaced by `kept` (credentials removed). */
export async function markSent(
  db: DbOrTx,
  id: number,
  at: Date,
  kept: Record<string, unknown>,
): Promise<void> {
  await db.execute(
    sql`UPDATE email_outbox SET status = 'sent', sent_at = ${at}, locked_until = NULL,
               attempts = attempts + 1, last_error = NULL, payload = ${JSON.stringify(kept)}::jsonb
         WHERE id = ${id}`,
  );
}

export async function markFailed(db: DbOrTx, id: number, attempts: number, message: string): Promise<void> {
  await db.execute(
    sql`UPDATE email_outbox SET status = 'failed', attempts = ${attempts}, last_error = ${message},
               locked_until = NULL WHERE id = ${id}`,
  );
}

export async function markRetry(
  db: DbOrTx,
  id: number,
  attempts: number,
  message: string,
  next: Date,
): Promise<void> {
  await db.execute(
    sql`UPDATE email_outbox SET status = 'pending', attempts = ${attempts}, last_error = ${message},
               locked_until = NULL, next_attempt_at = ${next} WHERE id = ${id}`,
  );
}

/** Messages waiting (pending or sending) and failed. */
export async function pendingAndFailed(database: Database): Promise<{ pending: number; failed: number }> {
  const r = await database.query<{ pending: number; failed: number }>(
    `SELECT count(*) FILTER (WHERE status IN ('pending', 'sending'))::int AS pending,
            count(*) FILTER (WHERE status = 'failed')::int AS failed FROM email_outbox`,
  );
  return r.rows[0] ?? { pending: 0, failed: 0 };
}

/** Messages by status (the `email_outbox` gauge). */
export async function countsByStatus(database: Database): Promise<{ status: string; n: number }[]> {
  const r = await database.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM email_outbox GROUP BY status',
  );
  return r.rows;
}

/** Retention: sent and failed messages created more than 30 days before `now`. */
export async function purgeSettled(db: DbOrTx, now: Date): Promise<number> {
  return rowCountOf(
    await db.execute(sql`DELETE FROM email_outbox WHERE status IN ('sent', 'failed')
      AND created_at < ${now.toISOString()}::timestamptz - interval '30 days'`),
  );
}
