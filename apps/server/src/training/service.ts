/**
 * Training jobs (docs/api.md §2.5, §4.6–§4.10): submission in one transaction with the quota and the queue message,
 * status views, cancellation from any process, the per-user circuit breaker, and change events (event_seq +
 * NOTIFY in the changing transaction).
 */
import { randomUUID } from 'node:crypto';
import { normalizeWakeWord, WakeWordError } from '@violawake/detector/wakeword';
import { PronunciationError, validatePronunciation } from '@violawake/engine/synth/pronunciation-check';
import { sql } from 'drizzle-orm';
import { FREE_MAX_RECORDINGS, PLAN_NAMES, quotaPolicy } from '../billing/plans.ts';
import { checkAndChargeQuota, refundUsage } from '../billing/quota.ts';
import type { AppContext } from '../core/context.ts';
import { type DbOrTx, drizzleExecutor, execRows } from '../core/db/client.ts';
import { enqueueEmail } from '../core/email/outbox.ts';
import { HttpError } from '../core/http/errors.ts';
import { activeJobUsesRecording } from './queries.ts';

export const TRAINING_QUEUE = 'training';
export const EVENTS_CHANNEL = 'training_events';
export const CONTROL_CHANNEL = 'job_control';
const QUEUE_LOCK_KEY = 727_002;

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** A training_jobs row as raw SQL returns it (snake_case). */
export interface JobRow {
  id: number;
  user_id: number;
  wake_word: string;
  epochs: number;
  recording_ids: number[];
  pronunciation: { sounds_like?: string; phonemes?: string } | null;
  priority: number;
  request_id: string | null;
  status: JobStatus;
  stage: string;
  progress: number;
  epoch: number | null;
  total_epochs: number | null;
  train_loss: number | null;
  val_loss: number | null;
  message: string | null;
  error: string | null;
  error_code: string | null;
  event_seq: number;
  started_at: Date | string | null;
  completed_at: Date | string | null;
  model_id: number | null;
  d_prime: number | null;
  quality_grade: string | null;
  boss_job_id: string | null;
  hold_reason: string | null;
  not_before: Date | string | null;
  attempts: number;
  worker_id: string | null;
  heartbeat_at: Date | string | null;
  cancel_requested_at: Date | string | null;
  usage_period_start: Date | string;
  usage_refunded: boolean;
  created_at: Date | string;
}

export const iso = (v: Date | string | null | undefined): string | null =>
  v === null || v === undefined ? null : new Date(v).toISOString();

export async function jobById(db: DbOrTx, jobId: number): Promise<JobRow | null> {
  const rows = await execRows<JobRow>(db, sql`SELECT * FROM training_jobs WHERE id = ${jobId}`);
  return rows[0] ? normalizeRow(rows[0]) : null;
}

function normalizeRow(r: JobRow): JobRow {
  return {
    ...r,
    id: Number(r.id),
    user_id: Number(r.user_id),
    model_id: r.model_id === null ? null : Number(r.model_id),
    recording_ids: (r.recording_ids ?? []).map(Number),
  };
}

/** The caller's own job, or 404 "Training job not found". */
export async function ownJob(ctx: AppContext, userId: number, jobId: number): Promise<JobRow> {
  const job = await jobById(ctx.db, jobId);
  if (!job || job.user_id !== userId) throw new HttpError(404, 'Training job not found');
  return job;
}

/** 1-based position among queued, unheld jobs in dispatch order; null when not waiting. */
export async function queuePosition(db: DbOrTx, job: JobRow): Promise<number | null> {
  if (job.status !== 'queued' || job.hold_reason) return null;
  const rows = await execRows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM training_jobs
         WHERE status = 'queued' AND hold_reason IS NULL
           AND (priority > ${job.priority}
                OR (priority = ${job.priority} AND (created_at < ${iso(job.created_at)}::timestamptz
                    OR (created_at = ${iso(job.created_at)}::timestamptz AND id < ${job.id}))))`,
  );
  return (rows[0]?.n ?? 0) + 1;
}

function heldMessage(job: JobRow): string | null {
  if (job.hold_reason === 'breaker_paused') {
    return 'Your training queue is paused after repeated failures. Resume it to continue.';
  }
  if (job.hold_reason === 'breaker_backoff')
    return `Waiting until ${iso(job.not_before)} after a failed job.`;
  return null;
}

/** TrainingStatus (also the SSE event payload). */
export async function trainingStatus(db: DbOrTx, job: JobRow) {
  const position = await queuePosition(db, job);
  const message =
    job.status === 'queued'
      ? (heldMessage(job) ?? job.message ?? `Waiting in queue (position ${position})`)
      : job.message;
  return {
    job_id: job.id,
    status: job.status,
    progress: job.progress,
    d_prime: job.d_prime,
    model_id: job.model_id,
    error: job.error,
    stage: job.stage,
    message,
    epoch: job.epoch,
    total_epochs: job.total_epochs,
    queue_position: position,
    quality_grade: job.quality_grade,
    error_code: job.error_code,
    train_loss: job.train_loss === null ? null : round6(job.train_loss),
    val_loss: job.val_loss === null ? null : round6(job.val_loss),
  };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export async function jobResponse(db: DbOrTx, job: JobRow) {
  return {
    job_id: job.id,
    user_id: job.user_id,
    wake_word: job.wake_word,
    status: job.status === 'queued' ? ('pending' as const) : job.status,
    created_at: iso(job.created_at)!,
    started_at: iso(job.started_at),
    completed_at: iso(job.completed_at),
    error: job.error,
    progress_pct: job.progress,
    d_prime: job.d_prime,
    model_id: job.model_id,
    stage: job.stage,
    error_code: job.error_code,
    quality_grade: job.quality_grade,
    queue_position: await queuePosition(db, job),
    epochs: job.epochs,
    attempts: job.attempts,
    cancel_requested: job.cancel_requested_at !== null,
    text_only: job.recording_ids.length === 0,
  };
}

/** Bump event_seq and notify every API process, inside the caller's transaction. */
export async function publish(tx: DbOrTx, jobId: number): Promise<void> {
  const rows = await execRows<{ event_seq: number }>(
    tx,
    sql`UPDATE training_jobs SET event_seq = event_seq + 1, updated_at = now() WHERE id = ${jobId} RETURNING event_seq`,
  );
  if (rows[0]) await tx.execute(sql`SELECT pg_notify(${EVENTS_CHANNEL}, ${`${jobId}:${rows[0].event_seq}`})`);
}

export interface SubmitInput {
  wake_word: string;
  recording_ids: number[];
  epochs: number;
  text_only: boolean;
  pronunciation?: { sounds_like?: string; phonemes?: string };
}

/** The request's pronunciation, checked as the engine will (422 naming the field), in the job row's shape. */
export function checkedPronunciation(
  input: { sounds_like?: string; phonemes?: string } | undefined,
): { sounds_like?: string; phonemes?: string } | null {
  try {
    const p = validatePronunciation({ soundsLike: input?.sounds_like, phonemes: input?.phonemes });
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
  const pronunciation = checkedPronunciation(input.pronunciation);
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
    const active = await execRows<{ n: number }>(
      tx,
      sql`SELECT count(*)::int AS n FROM training_jobs WHERE user_id = ${userId} AND status IN ('queued', 'running')`,
    );
    const activeCount = active[0]?.n ?? 0;
    if (activeCount >= maxActive) {
      throw new HttpError(
        429,
        `You have ${activeCount} training job${activeCount === 1 ? '' : 's'} queued or running; the ${plan} plan allows ${maxActive} at a time. Wait for one to finish or cancel one.`,
        { 'Retry-After': '60' },
      );
    }
    if (!input.text_only) {
      const rows = await execRows<{ id: number; wake_word: string }>(
        tx,
        sql`SELECT id, wake_word FROM recordings
             WHERE user_id = ${userId} AND deleted_at IS NULL AND id = ANY(${sql.raw(`ARRAY[${ids.map(Number).join(',')}]::bigint[]`)})`,
      );
      const found = new Set(rows.map((r) => Number(r.id)));
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length) throw new HttpError(404, `Recordings not found: ${missing.join(', ')}`);
      if (rows.some((r) => r.wake_word !== wakeWord)) {
        throw new HttpError(400, `All recordings must be for the wake word '${wakeWord}'`);
      }
      if (ids.length < 5) throw new HttpError(400, `Need at least 5 recordings. Got ${ids.length}.`);
    }
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${QUEUE_LOCK_KEY})`);
    // Free jobs (priority 0) may fill only the unreserved part of the queue, so a paid submission is never
    // refused because of free jobs; the whole queue is still capped.
    const queued = await execRows<{ n: number; free: number }>(
      tx,
      sql`SELECT count(*)::int AS n, (count(*) FILTER (WHERE priority = 0))::int AS free
            FROM training_jobs WHERE status = 'queued'`,
    );
    const max = ctx.config.queueMaxSize;
    const freeShare = max - Math.floor((max * ctx.config.queuePaidReservePercent) / 100);
    if ((queued[0]?.n ?? 0) >= max) {
      throw new HttpError(503, 'Training queue is full. Please try again later.', { 'Retry-After': '60' });
    }
    if (quota.tier === 'free' && (queued[0]?.free ?? 0) >= freeShare) {
      throw new HttpError(
        429,
        `The ${plan} plan's share of the training queue is full (${freeShare} of ${max} places; the rest are kept for paid plans). Please try again later.`,
        { 'Retry-After': '60' },
      );
    }
    const bossId = randomUUID();
    const inserted = await execRows<{ id: number }>(
      tx,
      sql`INSERT INTO training_jobs (user_id, wake_word, epochs, recording_ids, pronunciation, priority, request_id, boss_job_id, usage_period_start)
          VALUES (${userId}, ${wakeWord}, ${input.epochs}, ${sql.raw(`ARRAY[${ids.map(Number).join(',')}]::bigint[]`)},
                  ${pronunciation === null ? null : JSON.stringify(pronunciation)}::jsonb,
                  ${quota.priority}, ${requestId}, ${bossId}, ${quota.periodStart.toISOString()}::timestamptz)
          RETURNING id`,
    );
    const jobId = Number(inserted[0]!.id);
    await sendMessage(ctx, tx, jobId, bossId, quota.priority);
    await publish(tx, jobId);
    if (
      quota.limit !== null &&
      quota.used >= Math.ceil(quota.limit * 0.8) &&
      quota.used - 1 < Math.ceil(quota.limit * 0.8)
    ) {
      const user = await execRows<{ email: string; name: string }>(
        tx,
        sql`SELECT email, name FROM users WHERE id = ${userId}`,
      );
      if (user[0]) {
        await enqueueEmail(tx, {
          to: user[0].email,
          userId,
          template: 'quota_warning',
          payload: { name: user[0].name, used: quota.used, limit: quota.limit },
          dedupeKey: `quota_warning:${userId}:${quota.periodStart.toISOString().slice(0, 7)}`,
        });
      }
    }
    return jobId;
  });
  return result;
}

/** The pg-boss message of a dispatchable job (priority orders dispatch; retries are the reaper's business). */
export async function sendMessage(
  ctx: AppContext,
  tx: DbOrTx,
  jobId: number,
  bossId: string,
  priority: number,
  startAfter?: Date,
): Promise<void> {
  await ctx.queue!.send(
    TRAINING_QUEUE,
    { job_id: jobId },
    {
      id: bossId,
      priority,
      retryLimit: 0,
      expireInSeconds: ctx.config.trainingTimeoutSeconds + 300,
      ...(startAfter ? { startAfter } : {}),
      db: drizzleExecutor(tx),
    },
  );
}

export async function listJobs(ctx: AppContext, userId: number, limit: number): Promise<JobRow[]> {
  const rows = await execRows<JobRow>(
    ctx.db,
    sql`SELECT * FROM training_jobs WHERE user_id = ${userId} ORDER BY created_at DESC, id DESC LIMIT ${limit}`,
  );
  return rows.map(normalizeRow);
}

/** Cancel from any process: queued → cancelled now; running → flag + NOTIFY for the owning worker. */
export async function cancelJob(ctx: AppContext, userId: number, jobId: number): Promise<void> {
  const outcome = await ctx.db.transaction(async (tx) => {
    const rows = await execRows<JobRow>(tx, sql`SELECT * FROM training_jobs WHERE id = ${jobId} FOR UPDATE`);
    const job = rows[0] ? normalizeRow(rows[0]) : null;
    if (!job || job.user_id !== userId) throw new HttpError(404, 'Training job not found');
    if (TERMINAL.has(job.status)) throw new HttpError(409, 'Training job can no longer be cancelled');
    if (job.status === 'queued') {
      await tx.execute(sql`UPDATE training_jobs
        SET status = 'cancelled', error = 'Training cancelled by user', error_code = 'cancelled', message = 'Training cancelled by user',
            completed_at = now(), cancel_requested_at = now(), boss_job_id = NULL, hold_reason = NULL
        WHERE id = ${jobId}`);
      await refundUntrained(tx, jobId);
      await publish(tx, jobId);
      return { bossId: job.boss_job_id, running: false };
    }
    await tx.execute(
      sql`UPDATE training_jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()) WHERE id = ${jobId}`,
    );
    await tx.execute(sql`SELECT pg_notify(${CONTROL_CHANNEL}, ${String(jobId)})`);
    await publish(tx, jobId);
    return { bossId: null, running: true };
  });
  if (outcome.bossId) await ctx.queue?.cancel(TRAINING_QUEUE, outcome.bossId).catch(() => {});
}

/**
 * A job cancelled before the trainer started (still queued, or running but not yet at the `training` stage) gives
 * its training back, once. Call inside the transaction that marks it cancelled.
 */
export async function refundUntrained(tx: DbOrTx, jobId: number): Promise<void> {
  const rows = await execRows<{ user_id: number; usage_period_start: Date | string }>(
    tx,
    sql`UPDATE training_jobs SET usage_refunded = true
         WHERE id = ${jobId} AND NOT usage_refunded AND epoch IS NULL
           AND stage NOT IN ('training', 'evaluating', 'exporting', 'done')
         RETURNING user_id, usage_period_start`,
  );
  const r = rows[0];
  if (r) await refundUsage(tx, Number(r.user_id), new Date(r.usage_period_start));
}

export interface BreakerRow {
  consecutive_failures: number;
  paused: boolean;
  next_attempt_at: Date | string | null;
  last_failure_at: Date | string | null;
  pause_reason: string | null;
}

export async function breakerState(ctx: AppContext, userId: number) {
  const rows = await execRows<BreakerRow>(
    ctx.db,
    sql`SELECT * FROM circuit_breakers WHERE user_id = ${userId}`,
  );
  const b = rows[0];
  return {
    consecutive_failures: b?.consecutive_failures ?? 0,
    paused: b?.paused ?? false,
    next_attempt_at: iso(b?.next_attempt_at),
    last_failure_at: iso(b?.last_failure_at),
    pause_reason: b?.pause_reason ?? null,
  };
}

/** Reset the breaker and re-send every held job in its original order. */
export async function resumeQueue(ctx: AppContext, userId: number): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await tx.execute(sql`UPDATE circuit_breakers
      SET consecutive_failures = 0, paused = false, next_attempt_at = NULL, pause_reason = NULL, updated_at = now()
      WHERE user_id = ${userId}`);
    const held = await execRows<JobRow>(
      tx,
      sql`SELECT * FROM training_jobs WHERE user_id = ${userId} AND status = 'queued' AND hold_reason IS NOT NULL
          ORDER BY priority DESC, created_at, id FOR UPDATE`,
    );
    for (const raw of held) {
      const job = normalizeRow(raw);
      const bossId = randomUUID();
      await tx.execute(sql`UPDATE training_jobs SET hold_reason = NULL, not_before = NULL, boss_job_id = ${bossId}, message = NULL
        WHERE id = ${job.id}`);
      await sendMessage(ctx, tx, job.id, bossId, job.priority);
      await publish(tx, job.id);
    }
  });
}

/** Account deletion (§4.15 step 2): queued jobs cancelled, running jobs asked to stop. */
export async function cancelJobsForDeletion(ctx: AppContext, userId: number): Promise<void> {
  const jobs = await execRows<{ id: number; status: string; boss_job_id: string | null }>(
    ctx.db,
    sql`SELECT id, status, boss_job_id FROM training_jobs WHERE user_id = ${userId} AND status IN ('queued', 'running')`,
  );
  for (const j of jobs) {
    await cancelJob(ctx, userId, Number(j.id)).catch(() => {});
  }
}

/** Whether a queued or running job trains from the recording (the recordings domain asks before a delete). */
export function recordingInActiveJob(db: DbOrTx, recordingId: number): Promise<boolean> {
  return activeJobUsesRecording(db, recordingId);
}
