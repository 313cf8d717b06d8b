/**
 * Training jobs (docs/api.md §2.5, §4.6–§4.10): submission in one transaction with the quota and the queue message,
 * status views, cancellation from any process, the per-user circuit breaker. Every state change is a function of
 * `transitions.ts`; every statement is in `queries.ts`; other domains' tables are reached through their services
 * (billing quota, recordings, auth's user contact).
 */
import { normalizeWakeWord, WakeWordError } from '@violawake/detector/wakeword';
import { PronunciationError, validatePronunciation } from '@violawake/engine/synth/pronunciation-check';
import { userContact } from '../auth/service.ts';
import { FREE_MAX_RECORDINGS, PLAN_NAMES, quotaPolicy } from '../billing/plans.ts';
import { checkAndChargeQuota } from '../billing/quota.ts';
import type { AppContext } from '../core/context.ts';
import type { DbOrTx } from '../core/db/client.ts';
import { enqueueEmail } from '../core/email/outbox.ts';
import { HttpError } from '../core/http/errors.ts';
import { assertTrainable, requestLanguage } from '../languages/service.ts';
import { recordingsForTraining } from '../recordings/service.ts';
import type { JobRow } from './queries.ts';
import * as q from './queries.ts';
import type {
  BreakerState,
  JobResponse,
  PronunciationInput,
  TrainingRequest,
  TrainingStatus,
} from './schemas.ts';
import {
  cancelQueued,
  enqueueJob,
  releaseHeld,
  requestCancel,
  TERMINAL,
  TRAINING_QUEUE,
} from './transitions.ts';

export type { JobRow } from './queries.ts';
export { CONTROL_CHANNEL, EVENTS_CHANNEL, TERMINAL, TRAINING_QUEUE } from './transitions.ts';

export const iso = (v: Date | null | undefined): string | null => (v ? v.toISOString() : null);

export const jobById = (db: DbOrTx, jobId: number): Promise<JobRow | null> => q.jobById(db, jobId);

/** The caller's own job, or 404 "Training job not found". */
export async function ownJob(ctx: AppContext, userId: number, jobId: number): Promise<JobRow> {
  const job = await q.jobById(ctx.db, jobId);
  if (!job || job.userId !== userId) throw new HttpError(404, 'Training job not found');
  return job;
}

/** Whether the job is the user's (download tokens for its event stream). */
export async function isOwnJob(db: DbOrTx, userId: number, jobId: number): Promise<boolean> {
  return (await q.jobOfUser(db, userId, jobId)) !== null;
}

/** 1-based position among queued, unheld jobs in dispatch order; null when not waiting. */
export async function queuePosition(db: DbOrTx, job: JobRow): Promise<number | null> {
  if (job.status !== 'queued' || job.holdReason) return null;
  return (await q.jobsAhead(db, job)) + 1;
}

function heldMessage(job: JobRow): string | null {
  if (job.holdReason === 'breaker_paused') {
    return 'Your training queue is paused after repeated failures. Resume it to continue.';
  }
  if (job.holdReason === 'breaker_backoff') return `Waiting until ${iso(job.notBefore)} after a failed job.`;
  return null;
}

/** TrainingStatus (also the SSE event payload). */
export async function trainingStatus(db: DbOrTx, job: JobRow): Promise<TrainingStatus> {
  const position = await queuePosition(db, job);
  const message =
    job.status === 'queued'
      ? (heldMessage(job) ?? job.message ?? `Waiting in queue (position ${position})`)
      : job.message;
  return {
    job_id: job.id,
    status: job.status,
    progress: job.progress,
    d_prime: job.dPrime,
    model_id: job.modelId,
    error: job.error,
    stage: job.stage,
    message,
    epoch: job.epoch,
    total_epochs: job.totalEpochs,
    queue_position: position,
    quality_grade: job.qualityGrade,
    error_code: job.errorCode,
    train_loss: job.trainLoss === null ? null : round6(job.trainLoss),
    val_loss: job.valLoss === null ? null : round6(job.valLoss),
  };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export async function jobResponse(db: DbOrTx, job: JobRow): Promise<JobResponse> {
  return {
    job_id: job.id,
    user_id: job.userId,
    wake_word: job.wakeWord,
    status: job.status === 'queued' ? ('pending' as const) : job.status,
    created_at: iso(job.createdAt)!,
    started_at: iso(job.startedAt),
    completed_at: iso(job.completedAt),
    error: job.error,
    progress_pct: job.progress,
    d_prime: job.dPrime,
    model_id: job.modelId,
    stage: job.stage,
    error_code: job.errorCode,
    quality_grade: job.qualityGrade,
    queue_position: await queuePosition(db, job),
    epochs: job.epochs,
    attempts: job.attempts,
    cancel_requested: job.cancelRequestedAt !== null,
    text_only: job.recordingIds.length === 0,
    language: job.language,
  };
}

export type SubmitInput = TrainingRequest;

/** The request's pronunciation, checked as the engine will (422 naming the field), in the job row's shape. */
export function checkedPronunciation(
  input: PronunciationInput | undefined,
  language = 'en',
): PronunciationInput | null {
  try {
    const p = validatePronunciation({ soundsLike: input?.sounds_like, phonemes: input?.phonemes }, language);
    if (p.soundsLike) return { sounds_like: p.soundsLike };
    if (p.phonemes) return { phonemes: p.phonemes };
    return null;
  } catch (err) {
    if (err instanceof PronunciationError)
      throw new HttpError(422, [
        { loc: ['body', 'pronunciation', err.field], msg: err.message, type: 'value_error' },
      ]);
    throw err;
  }
}

/** §4.6 step 4: everything in one transaction; any failure rolls back the usage charge too. */
export async function submitJob(
  ctx: AppContext,
  userId: number,
  input: SubmitInput,
  requestId: string,
): Promise<number> {
  let wakeWord: string;
  try {
    wakeWord = normalizeWakeWord(input.wake_word);
  } catch (err) {
    if (err instanceof WakeWordError) throw new HttpError(400, err.message);
    throw err;
  }
  // the language (docs/languages.md): a 422 for an unknown code or letters it cannot speak; checked again below
  // against the recordings' language when the request names none
  let language = requestLanguage(input.language, { wakeWord });
  let pronunciation = checkedPronunciation(input.pronunciation, language);
  const ids = input.recording_ids;
  if (new Set(ids).size !== ids.length) {
    throw new HttpError(422, [
      { loc: ['body', 'recording_ids'], msg: 'Recording ids must be unique', type: 'value_error' },
    ]);
  }
  if (input.text_only && ids.length > 0) {
    throw new HttpError(400, 'A text-only job takes no recordings: send recording_ids as an empty list.');
  }
  if (!input.text_only && ids.length === 0) {
    throw new HttpError(422, [
      { loc: ['body', 'recording_ids'], msg: 'List should have at least 1 item', type: 'list_too_short' },
    ]);
  }
  await assertTrainable(language);
  const queue = ctx.queue;
  if (!queue) throw new HttpError(503, 'Training queue is not available');
  const now = ctx.clock.now();
  const result = await ctx.db.transaction(async (tx) => {
    const quota = await checkAndChargeQuota(tx, userId, now, quotaPolicy(ctx.config));
    const plan = PLAN_NAMES[quota.tier];
    // The free plan's options are bounded (docs/training.md "Fair queueing").
    if (quota.tier === 'free') {
      if (input.epochs > ctx.config.freeMaxEpochs) {
        throw new HttpError(
          403,
          `The ${plan} plan allows at most ${ctx.config.freeMaxEpochs} epochs per job (asked for ${input.epochs}).`,
        );
      }
      if (ids.length > FREE_MAX_RECORDINGS) {
        throw new HttpError(
          403,
          `The ${plan} plan trains from at most ${FREE_MAX_RECORDINGS} recordings per job (got ${ids.length}).`,
        );
      }
    }
    // Per-user cap on queued + running jobs; the subscription row lock taken above serializes this user's
    // submissions, so concurrent requests cannot both pass it.
    const maxActive = ctx.config.maxActiveJobs[quota.tier];
    const activeCount = await q.countActiveOfUser(tx, userId);
    if (activeCount >= maxActive) {
      throw new HttpError(
        429,
        `You have ${activeCount} training job${activeCount === 1 ? '' : 's'} queued or running; the ${plan} plan allows ${maxActive} at a time. Wait for one to finish or cancel one.`,
        { 'Retry-After': '60' },
      );
    }
    if (!input.text_only) {
      // FOR SHARE: a concurrent delete of one of these takes waits for this transaction (then sees the job: 409)
      const rows = await recordingsForTraining(tx, userId, ids, 'share');
      const found = new Set(rows.map((r) => r.id));
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length) throw new HttpError(404, `Recordings not found: ${missing.join(', ')}`);
      if (rows.some((r) => r.wakeWord !== wakeWord)) {
        throw new HttpError(400, `All recordings must be for the wake word '${wakeWord}'`);
      }
      const takeLanguages = [...new Set(rows.map((r) => r.language))];
      if (input.language === undefined && takeLanguages.length === 1 && takeLanguages[0] !== language) {
        language = takeLanguages[0] as string;
        pronunciation = checkedPronunciation(input.pronunciation, language);
        await assertTrainable(language);
      }
      if (takeLanguages.some((l) => l !== language)) {
        throw new HttpError(
          400,
          `All recordings must be in the job's language '${language}' (the takes are in ${takeLanguages.map((l) => `'${l}'`).join(', ')}).`,
        );
      }
      if (ids.length < 5) throw new HttpError(400, `Need at least 5 recordings. Got ${ids.length}.`);
    }
    await q.lockQueue(tx);
    // Free jobs (priority 0) may fill only the unreserved part of the queue, so a paid submission is never
    // refused because of free jobs; the whole queue is still capped.
    const queued = await q.queuedCounts(tx);
    const max = ctx.config.queueMaxSize;
    const freeShare = max - Math.floor((max * ctx.config.queuePaidReservePercent) / 100);
    if (queued.n >= max) {
      throw new HttpError(503, 'Training queue is full. Please try again later.', { 'Retry-After': '60' });
    }
    if (quota.tier === 'free' && queued.free >= freeShare) {
      throw new HttpError(
        429,
        `The ${plan} plan's share of the training queue is full (${freeShare} of ${max} places; the rest are kept for paid plans). Please try again later.`,
        { 'Retry-After': '60' },
      );
    }
    const jobId = await enqueueJob(ctx, tx, {
      userId,
      wakeWord,
      epochs: input.epochs,
      recordingIds: ids,
      language,
      pronunciation,
      priority: quota.priority,
      requestId,
      usagePeriodStart: quota.periodStart,
    });
    if (
      quota.limit !== null &&
      quota.used >= Math.ceil(quota.limit * 0.8) &&
      quota.used - 1 < Math.ceil(quota.limit * 0.8)
    ) {
      const user = await userContact(tx, userId);
      if (user) {
        await enqueueEmail(tx, {
          to: user.email,
          userId,
          template: 'quota_warning',
          payload: { name: user.name, used: quota.used, limit: quota.limit },
          dedupeKey: `quota_warning:${userId}:${quota.periodStart.toISOString().slice(0, 7)}`,
        });
      }
    }
    return jobId;
  });
  return result;
}

export function listJobs(ctx: AppContext, userId: number, limit: number): Promise<JobRow[]> {
  return q.jobsOfUser(ctx.db, userId, limit);
}

/** Cancel from any process: queued → cancelled now; running → flag + NOTIFY for the owning worker. */
export async function cancelJob(ctx: AppContext, userId: number, jobId: number): Promise<void> {
  const staleMessage = await ctx.db.transaction(async (tx) => {
    const job = await q.jobById(tx, jobId, true);
    if (!job || job.userId !== userId) throw new HttpError(404, 'Training job not found');
    if (TERMINAL.has(job.status)) throw new HttpError(409, 'Training job can no longer be cancelled');
    if (job.status === 'queued') return cancelQueued(tx, job);
    await requestCancel(tx, job);
    return null;
  });
  if (staleMessage) await ctx.queue?.cancel(TRAINING_QUEUE, staleMessage).catch(() => {});
}

export async function breakerState(ctx: AppContext, userId: number): Promise<BreakerState> {
  const b = await q.breakerOf(ctx.db, userId);
  return {
    consecutive_failures: b?.consecutiveFailures ?? 0,
    paused: b?.paused ?? false,
    next_attempt_at: iso(b?.nextAttemptAt),
    last_failure_at: iso(b?.lastFailureAt),
    pause_reason: b?.pauseReason ?? null,
  };
}

/** Reset the breaker and re-send every held job in its original order. */
export async function resumeQueue(ctx: AppContext, userId: number): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await q.resetBreaker(tx, userId);
    for (const job of await q.heldJobsOfUser(tx, userId)) await releaseHeld(ctx, tx, job);
  });
}

/** Account deletion (docs/api.md §4.15 step 2): queued jobs cancelled, running jobs asked to stop. */
export async function cancelJobsForDeletion(ctx: AppContext, userId: number): Promise<void> {
  for (const j of await q.activeJobsOfUser(ctx.db, userId)) {
    await cancelJob(ctx, userId, j.id).catch(() => {});
  }
}

/** Whether a queued or running job trains from the recording (the recordings domain asks before a delete). */
export function recordingInActiveJob(db: DbOrTx, recordingId: number): Promise<boolean> {
  return q.activeJobUsesRecording(db, recordingId);
}

// ---- for ops (retention, health) ----------------------------------------------------------------------------------

/** Ids of the recordings queued or running jobs train from (retention keeps them). */
export function recordingsInActiveJobs(db: DbOrTx): Promise<number[]> {
  return q.recordingIdsOfActiveJobs(db);
}

/** Ids of the recordings whose last completed job completed before `cutoff` (opt-in post-training retention). */
export function recordingsLastTrainedBefore(db: DbOrTx, cutoff: Date): Promise<number[]> {
  return q.recordingIdsLastTrainedBefore(db, cutoff);
}

/** Retention: finished jobs (completed, failed, cancelled) created before `cutoff` go. */
export function deleteFinishedJobsCreatedBefore(db: DbOrTx, cutoff: Date): Promise<void> {
  return q.deleteTerminalJobsCreatedBefore(db, cutoff);
}

/** Jobs per status (the `violawake_training_jobs` gauge). */
export async function jobCounts(db: DbOrTx): Promise<Record<q.JobStatus, number>> {
  const out: Record<q.JobStatus, number> = { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const r of await q.jobCountsByStatus(db)) out[r.status] = r.n;
  return out;
}

/** Queued plus running jobs of one user (`violawake users`). */
export function activeJobCount(db: DbOrTx, userId: number): Promise<number> {
  return q.countActiveOfUser(db, userId);
}

/** The training queue for /api/health/details. */
export function queueStats(db: DbOrTx) {
  return q.queueStats(db);
}

/** The negative bank's one-time build, as this process knows it (bank-build.ts). */
export { type BankStatus, bankStatus } from './bank-build.ts';
