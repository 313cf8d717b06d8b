/**
 * Retention and housekeeping (docs/api.md §4.14): a pg-boss schedule fires once per tick across all processes, and
 * `POST /api/admin/cleanup` runs the same steps on demand. An advisory lock keeps two runs from overlapping (the
 * second answers 409). Storage errors are logged and the row is still deleted.
 */
import { purgeExpiredTokens } from '../auth/service.ts';
import { purgeStripeEvents } from '../billing/service.ts';
import type { AppContext } from '../core/context.ts';
import { tryWithAdvisoryLock } from '../core/db/locks.ts';
import { purgeSettledEmails } from '../core/email/outbox.ts';
import { ensureQueue } from '../core/queue/boss.ts';
import { purgeModelsCreatedBefore } from '../models/service.ts';
import { purgeRecordings } from '../recordings/service.ts';
import { purgeSettledInvitations } from '../teams/service.ts';
import {
  deleteFinishedJobsCreatedBefore,
  recordingsInActiveJobs,
  recordingsLastTrainedBefore,
} from '../training/service.ts';
import type { CleanupResult } from './schemas.ts';

export const RETENTION_QUEUE = 'retention';
const RETENTION_LOCK_KEY = 727_003;
const BATCH = 500;

export type { CleanupResult };

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
  const r = await tryWithAdvisoryLock(ctx.database, RETENTION_LOCK_KEY, fn);
  if (!r.locked) throw new CleanupRunningError();
  return r.value;
}

export async function runRetention(ctx: AppContext): Promise<CleanupResult> {
  return withRetentionLock(ctx, async () => {
    const c = ctx.config;
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
    const now = ctx.clock.now();
    const at = now.getTime();
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
    // The other domains' housekeeping, each through its own service.
    result.tokens_purged = await purgeExpiredTokens(ctx, now);
    result.invitations_purged = await purgeSettledInvitations(ctx, now);
    result.outbox_purged = await purgeSettledEmails(ctx, now);
    result.stripe_events_purged = await purgeStripeEvents(ctx, now);
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
