/**
 * Retention and housekeeping (docs/api.md §4.14): a pg-boss schedule fires once per tick across all processes, and
 * `POST /api/admin/cleanup` runs the same steps on demand. An advisory lock keeps two runs from overlapping (the
 * second answers 409). Storage errors are logged and the row is still deleted.
 */
import { sql } from 'drizzle-orm';
import type { AppContext } from '../core/context.ts';
import { rowCountOf } from '../core/db/client.ts';
import { ensureQueue } from '../core/queue/boss.ts';
import { purgeModelsCreatedBefore } from '../models/service.ts';
import { purgeRecordings } from '../recordings/service.ts';
import {
  deleteFinishedJobsCreatedBefore,
  recordingsInActiveJobs,
  recordingsLastTrainedBefore,
} from '../training/service.ts';

export const RETENTION_QUEUE = 'retention';
const RETENTION_LOCK_KEY = 727_003;
const BATCH = 500;

export interface CleanupResult {
  soft_deleted_recordings_purged: number;
  trained_recordings_deleted: number;
  recordings_deleted: number;
  models_deleted: number;
  tokens_purged: number;
  invitations_purged: number;
  outbox_purged: number;
  stripe_events_purged: number;
}

export class CleanupRunningError extends Error {}

let localRunning = false;

/** Run `fn` holding the retention advisory lock; throws CleanupRunningError when another run holds it. */
async function withRetentionLock<T>(ctx: AppContext, fn: () => Promise<T>): Promise<T> {
  if (ctx.database.driver === 'pglite') {
    if (localRunning) throw new CleanupRunningError();
    localRunning = true;
    try {
      return await fn();
    } finally {
      localRunning = false;
    }
  }
  const client = await ctx.database.pool!.connect();
  try {
    const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      RETENTION_LOCK_KEY,
    ]);
    if (!got.rows[0]?.ok) throw new CleanupRunningError();
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

export async function runRetention(ctx: AppContext): Promise<CleanupResult> {
  return withRetentionLock(ctx, async () => {
    const c = ctx.config;
    const now = ctx.clock.now().toISOString();
    const result: CleanupResult = {
      soft_deleted_recordings_purged: 0,
      trained_recordings_deleted: 0,
      recordings_deleted: 0,
      models_deleted: 0,
      tokens_purged: 0,
      invitations_purged: 0,
      outbox_purged: 0,
      stripe_events_purged: 0,
    };
    const at = ctx.clock.now().getTime();
    const before = (hours: number) => new Date(at - hours * 3600_000);
    // Takes used by queued or running jobs stay, whatever else says they may go.
    const keep = recordingsInActiveJobs;
    // Rows hidden by an older version (which soft-deleted the takes at the end of a job) are never shown again.
    result.soft_deleted_recordings_purged = await purgeRecordings(ctx, { softDeleted: true }, keep, BATCH);
    if (c.postTrainingRetentionHours > 0) {
      // Opt-in: a take goes this many hours after the last completed job that used it (docs/training.md).
      const ids = await recordingsLastTrainedBefore(ctx.db, before(c.postTrainingRetentionHours));
      result.trained_recordings_deleted = await purgeRecordings(ctx, { ids }, keep, BATCH);
    }
    if (c.recordingRetentionDays > 0) {
      result.recordings_deleted = await purgeRecordings(
        ctx,
        { createdBefore: before(c.recordingRetentionDays * 24) },
        keep,
        BATCH,
      );
    }
    if (c.modelRetentionDays > 0) {
      const cutoff = before(c.modelRetentionDays * 24);
      result.models_deleted = await purgeModelsCreatedBefore(ctx, cutoff, BATCH);
      await deleteFinishedJobsCreatedBefore(ctx.db, cutoff);
    }
    const count = async (q: ReturnType<typeof sql>) => rowCountOf(await ctx.db.execute(q));
    result.tokens_purged =
      (await count(sql`DELETE FROM revoked_tokens WHERE expires_at < ${now}::timestamptz`)) +
      (await count(
        sql`DELETE FROM download_tokens WHERE expires_at < ${now}::timestamptz - interval '1 hour'`,
      ));
    result.invitations_purged = await count(sql`DELETE FROM team_invitations
      WHERE coalesce(accepted_at, revoked_at, expires_at) < ${now}::timestamptz - interval '30 days'`);
    result.outbox_purged = await count(sql`DELETE FROM email_outbox WHERE status IN ('sent', 'failed')
      AND created_at < ${now}::timestamptz - interval '30 days'`);
    result.stripe_events_purged = await count(
      sql`DELETE FROM processed_stripe_events WHERE processed_at < ${now}::timestamptz - interval '30 days'`,
    );
    ctx.logger.info({ ...result }, 'retention complete');
    return result;
  });
}

/** Create the queue and the schedule (idempotent), and run retention when the schedule fires. */
export async function startRetention(ctx: AppContext): Promise<() => Promise<void>> {
  const boss = ctx.queue!;
  await ensureQueue(ctx.database, boss, RETENTION_QUEUE);
  await boss.schedule(RETENTION_QUEUE, ctx.config.retentionCron, {}, { tz: 'UTC' });
  const id = await boss.work(RETENTION_QUEUE, async () => {
    try {
      await runRetention(ctx);
    } catch (err) {
      if (!(err instanceof CleanupRunningError)) throw err;
    }
  });
  return async () => {
    await boss.offWork({ id } as never).catch(() => {});
  };
}
