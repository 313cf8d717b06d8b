/**
 * LOCAL STAND-IN, to be replaced by `enqueueEmail` from `apps/server/src/core/email/outbox.ts` (auth engineer) once
 * it lands: same signature and semantics (api.md §4.3): insert into email_outbox in the caller's transaction with
 * `ON CONFLICT (dedupe_key) DO NOTHING` and NOTIFY email_outbox (delivered at commit).
 */
import { sql } from 'drizzle-orm';
import { type DbOrTx, rowCountOf } from '../core/db/client.ts';

export interface EnqueueEmail {
  to: string;
  userId: number | null;
  template: 'payment_failed' | 'trial_will_end';
  payload: Record<string, unknown>;
  dedupeKey: string | null;
}

/** Returns true when a row was inserted (false: the dedupe key already existed). */
export async function enqueueEmail(tx: DbOrTx, msg: EnqueueEmail): Promise<boolean> {
  const r = await tx.execute(sql`
    INSERT INTO email_outbox (to_address, user_id, template, payload, dedupe_key)
    VALUES (${msg.to}, ${msg.userId}, ${msg.template}, ${JSON.stringify(msg.payload)}::jsonb, ${msg.dedupeKey})
    ON CONFLICT (dedupe_key) DO NOTHING`);
  const inserted = rowCountOf(r) > 0;
  if (inserted) await tx.execute(sql`SELECT pg_notify('email_outbox', '')`);
  return inserted;
}
