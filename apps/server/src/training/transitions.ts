/**
 * Every change of a training job's state (the state machine of docs/training.md, "Job states"), each in the
 * transaction that makes it: the row update (fenced by status and worker id where a worker acts), its side effects in
 * the owning domains (billing refunds, the models row, the email outbox) and the change event (`event_seq` + NOTIFY).
 * Callers: `service.ts` (submit, cancel, resume), `worker.ts` (claim, progress, heartbeat, finish), `reaper.ts`.
 */
import { randomUUID } from 'node:crypto';
import { userContact } from '../auth/service.ts';
import { refundUsage } from '../billing/quota.ts';
import type { AppContext } from '../core/context.ts';
import { type DbOrTx, drizzleExecutor } from '../core/db/client.ts';
import { enqueueEmail } from '../core/email/outbox.ts';
import { insertModel, storeTrainedModel, type TrainedModelFiles } from '../models/service.ts';
import type { PipelineProgress } from './child-protocol.ts';
import type { JobRow, NewJob } from './queries.ts';
import * as q from './queries.ts';

export const TRAINING_QUEUE = 'training';
export const EVENTS_CHANNEL = 'training_events';
export const CONTROL_CHANNEL = 'job_control';

export const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

export const ERROR_TEXT = {
  cancelled: 'Training cancelled by user',
  quality_gate: 'Model failed the quality gate with grade F; export was blocked.',
  timeout: (n: number) => `Training timed out after ${n} seconds`,
  worker_lost: 'The training worker stopped unexpectedly. The job was retried once and failed again.',
  insufficient_data: (n: number) => `Not enough usable recordings (${n}). At least 5 are required.`,
  internal: 'Training failed because of an internal error.',
} as const;

export type FailCode = 'quality_gate' | 'timeout' | 'worker_lost' | 'insufficient_data' | 'internal';

const CANCELLED = {
  status: 'cancelled',
  error: ERROR_TEXT.cancelled,
  errorCode: 'cancelled',
  message: ERROR_TEXT.cancelled,
  completedAt: q.NOW,
} as const;

// ---- building blocks ---------------------------------------------------------------------------------------------

/** Bump event_seq and notify every API process, inside the caller's transaction. */
export async function publish(tx: DbOrTx, jobId: number): Promise<void> {
  const seq = await q.bumpEventSeq(tx, jobId);
  if (seq !== null) await q.notify(tx, EVENTS_CHANNEL, `${jobId}:${seq}`);
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

/**
 * A job cancelled before the trainer started (still queued, or running but not yet at the `training` stage) gives
 * its training back, once. Call inside the transaction that marks it cancelled.
 */
export async function refundUntrained(tx: DbOrTx, jobId: number): Promise<void> {
  const r = await q.claimUntrainedRefund(tx, jobId);
  if (r) await refundUsage(tx, r.userId, r.usagePeriodStart);
}

/** Refund (once, not for the quality gate) and the circuit breaker, in the failing transaction. */
async function failureSideEffects(
  ctx: AppContext,
  tx: DbOrTx,
  job: JobRow,
  code: FailCode,
  error: string,
): Promise<void> {
  if (code !== 'quality_gate' && !job.usageRefunded) {
    await refundUsage(tx, job.userId, job.usagePeriodStart);
    await q.updateJob(tx, job.id, { usageRefunded: true });
  }
  await q.recordFailure(
    tx,
    job.userId,
    error,
    ctx.config.breakerFailureThreshold,
    ctx.config.breakerBackoffSeconds,
  );
}

// ---- from the API: submit, cancel, resume -------------------------------------------------------------------------

/** (none) → queued: the row, its queue message and its first event, in the submission's transaction. */
export async function enqueueJob(
  ctx: AppContext,
  tx: DbOrTx,
  row: Omit<NewJob, 'bossJobId'>,
): Promise<number> {
  const bossId = randomUUID();
  const jobId = await q.insertJob(tx, { ...row, bossJobId: bossId });
  await sendMessage(ctx, tx, jobId, bossId, row.priority);
  await publish(tx, jobId);
  return jobId;
}

/** queued → cancelled (the caller holds the row lock); the untrained job is refunded. Returns its stale message id. */
export async function cancelQueued(tx: DbOrTx, job: JobRow): Promise<string | null> {
  await q.updateJob(tx, job.id, {
    ...CANCELLED,
    cancelRequestedAt: q.NOW,
    bossJobId: null,
    holdReason: null,
  });
  await refundUntrained(tx, job.id);
  await publish(tx, job.id);
  return job.bossJobId;
}

/** running: set the cancel flag and wake the owning worker (`job_control`), which stops the child. */
export async function requestCancel(tx: DbOrTx, job: JobRow): Promise<void> {
  await q.updateJob(tx, job.id, { cancelRequestedAt: job.cancelRequestedAt ?? q.NOW });
  await q.notify(tx, CONTROL_CHANNEL, String(job.id));
  await publish(tx, job.id);
}

/** queued (held by the breaker) → queued (dispatchable): a new message in the original priority. */
export async function releaseHeld(ctx: AppContext, tx: DbOrTx, job: JobRow): Promise<void> {
  const bossId = randomUUID();
  await q.updateJob(tx, job.id, { holdReason: null, notBefore: null, bossJobId: bossId, message: null });
  await sendMessage(ctx, tx, job.id, bossId, job.priority);
  await publish(tx, job.id);
}

// ---- from the worker: claim, progress, heartbeat, finish --------------------------------------------------------

/**
 * queued → running on this worker, for the message `bossId`; or, when the user's breaker is paused, held
 * (`breaker_paused`, no message), or while it backs off, held with a new message for `next_attempt_at`. Returns the
 * running row, or null (stale message, or held).
 */
export async function claim(
  ctx: AppContext,
  jobId: number,
  bossId: string,
  workerId: string,
): Promise<JobRow | null> {
  return ctx.db.transaction(async (tx) => {
    const job = await q.jobById(tx, jobId, true);
    if (job?.status !== 'queued' || job.bossJobId !== bossId) return null; // stale message
    const breaker = await q.breakerOf(tx, job.userId);
    if (breaker?.paused) {
      await q.updateJob(tx, jobId, { holdReason: 'breaker_paused', bossJobId: null, notBefore: null });
      await publish(tx, jobId);
      return null;
    }
    const next = breaker?.nextAttemptAt ?? null;
    if (next && next.getTime() > ctx.clock.now().getTime()) {
      const newBoss = randomUUID();
      await q.updateJob(tx, jobId, { holdReason: 'breaker_backoff', notBefore: next, bossJobId: newBoss });
      await sendMessage(ctx, tx, jobId, newBoss, job.priority, next);
      await publish(tx, jobId);
      return null;
    }
    const running = await q.updateJob(tx, jobId, {
      status: 'running',
      stage: 'preparing',
      progress: 0,
      startedAt: q.NOW,
      attempts: q.increment('attempts'),
      workerId,
      heartbeatAt: q.NOW,
      holdReason: null,
      notBefore: null,
      message: 'Preparing training data...',
      epoch: null,
      totalEpochs: null,
      trainLoss: null,
      valLoss: null,
    });
    await publish(tx, jobId);
    return running;
  });
}

const clamp = (x: number) => Math.max(0, Math.min(100, Number.isFinite(x) ? x : 0));

/** running: a progress step (fenced by worker id; progress never goes back), published. */
export async function saveProgress(
  ctx: AppContext,
  jobId: number,
  workerId: string,
  p: PipelineProgress,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const row = await q.updateJob(
      tx,
      jobId,
      {
        stage: p.stage,
        progress: q.atLeast('progress', clamp(p.progress)),
        message: p.message,
        epoch: p.epoch ?? null,
        totalEpochs: p.total_epochs ?? null,
        trainLoss: p.train_loss ?? null,
        valLoss: p.val_loss ?? null,
        heartbeatAt: q.NOW,
      },
      { status: 'running', workerId },
    );
    if (row) await publish(tx, jobId);
  });
}

/** running: the worker's heartbeat. `lost` when the row is no longer this worker's; `cancel` when a cancel waits. */
export async function heartbeat(
  ctx: AppContext,
  jobId: number,
  workerId: string,
): Promise<'ok' | 'cancel' | 'lost'> {
  const row = await q.updateJob(ctx.db, jobId, { heartbeatAt: q.NOW }, { status: 'running', workerId });
  if (!row) return 'lost';
  return row.cancelRequestedAt ? 'cancel' : 'ok';
}

/** Whether a cancel was requested for the job. */
export async function cancelRequested(ctx: AppContext, jobId: number): Promise<boolean> {
  const job = await q.jobById(ctx.db, jobId);
  return Boolean(job?.cancelRequestedAt);
}

/** running → cancelled (the child stopped after a cancel); refunded if the trainer had not started. */
export async function finishCancelled(ctx: AppContext, jobId: number, workerId: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const row = await q.updateJob(
      tx,
      jobId,
      { ...CANCELLED, workerId: null },
      { status: 'running', workerId },
    );
    if (row) {
      await refundUntrained(tx, jobId);
      await publish(tx, jobId);
    }
  });
}

/**
 * running → queued with a new message (the worker shuts down); `keepRetry` gives the attempt back, so a restart
 * does not use the job's one retry.
 */
export async function requeue(
  ctx: AppContext,
  job: JobRow,
  workerId: string,
  message: string,
  keepRetry: boolean,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const bossId = randomUUID();
    const row = await q.updateJob(
      tx,
      job.id,
      {
        ...REQUEUED,
        message,
        bossJobId: bossId,
        ...(keepRetry ? { attempts: q.decrementToZero('attempts') } : {}),
      },
      { status: 'running', workerId },
    );
    if (row) {
      await sendMessage(ctx, tx, job.id, bossId, job.priority);
      await publish(tx, job.id);
    }
  });
}

const REQUEUED = {
  status: 'queued',
  stage: 'queued',
  progress: 0,
  workerId: null,
  heartbeatAt: null,
  epoch: null,
  totalEpochs: null,
} as const;

/** running → failed on this worker: refund (except the quality gate), breaker +1, published. */
export async function fail(
  ctx: AppContext,
  jobId: number,
  workerId: string,
  code: FailCode,
  error: string,
  extra: { message?: string; dPrime?: number | null; grade?: string } = {},
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const row = await q.updateJob(
      tx,
      jobId,
      {
        status: 'failed',
        error,
        errorCode: code,
        message: extra.message ?? error,
        completedAt: q.NOW,
        workerId: null,
        ...(extra.dPrime != null ? { dPrime: extra.dPrime } : {}),
        ...(extra.grade != null ? { qualityGrade: extra.grade } : {}),
      },
      { status: 'running', workerId },
    );
    if (!row) return;
    await failureSideEffects(ctx, tx, row, code, error);
    await publish(tx, jobId);
  });
}

/**
 * running → completed: the model's objects are stored first (models domain), then one transaction inserts its row,
 * completes the job, closes the breaker and queues the `training_complete` email. False (and the objects removed)
 * when the job is no longer this worker's.
 */
export async function complete(
  ctx: AppContext,
  job: JobRow,
  workerId: string,
  result: TrainedModelFiles,
): Promise<boolean> {
  const model = await storeTrainedModel(ctx, job, result);
  const m = result.manifest.metrics;
  const ok = await ctx.db.transaction(async (tx) => {
    const locked = await q.jobById(tx, job.id, true);
    if (locked?.status !== 'running' || locked.workerId !== workerId) return false;
    await insertModel(tx, model);
    await q.updateJob(tx, job.id, {
      status: 'completed',
      stage: 'done',
      progress: 100,
      message: 'Training complete.',
      completedAt: q.NOW,
      modelId: model.modelId,
      dPrime: m.d_prime,
      qualityGrade: m.quality_grade,
      workerId: null,
      error: null,
      errorCode: null,
    });
    await q.closeBreaker(tx, job.userId);
    // The takes stay (docs/training.md, "Kept takes"): retention removes them, not the end of a job.
    const user = await userContact(tx, job.userId);
    if (user) {
      await enqueueEmail(tx, {
        to: user.email,
        userId: job.userId,
        template: 'training_complete',
        payload: {
          name: user.name,
          wake_word: job.wakeWord,
          model_id: model.modelId,
          quality_grade: m.quality_grade,
        },
        dedupeKey: `training_complete:${job.id}`,
      });
    }
    await publish(tx, job.id);
    return true;
  });
  if (!ok) await model.discard();
  return ok;
}

// ---- from the reaper -------------------------------------------------------------------------------------------

/**
 * A running job without a live worker (the caller holds its row lock): cancelled if a cancel waits, failed with
 * `timeout` past the hard limit, queued again once (attempts < 2), else failed with `worker_lost`.
 */
export async function reapJob(ctx: AppContext, tx: DbOrTx, job: JobRow, hardSeconds: number): Promise<void> {
  const startedAt = job.startedAt ? job.startedAt.getTime() : Date.now();
  const expired = Date.now() - startedAt > hardSeconds * 1000;
  if (job.cancelRequestedAt) {
    await q.updateJob(tx, job.id, { ...CANCELLED, workerId: null });
    await refundUntrained(tx, job.id);
  } else if (expired) {
    const error = ERROR_TEXT.timeout(ctx.config.trainingTimeoutSeconds);
    await q.updateJob(tx, job.id, failedWith('timeout', error));
    await failureSideEffects(ctx, tx, job, 'timeout', error);
  } else if (job.attempts < 2) {
    const bossId = randomUUID();
    await q.updateJob(tx, job.id, {
      ...REQUEUED,
      message: 'Restarting after a worker failure',
      bossJobId: bossId,
    });
    await sendMessage(ctx, tx, job.id, bossId, job.priority);
  } else {
    await q.updateJob(tx, job.id, failedWith('worker_lost', ERROR_TEXT.worker_lost));
    await failureSideEffects(ctx, tx, job, 'worker_lost', ERROR_TEXT.worker_lost);
  }
  await publish(tx, job.id);
}

const failedWith = (code: FailCode, error: string) =>
  ({ status: 'failed', error, errorCode: code, message: error, completedAt: q.NOW, workerId: null }) as const;
