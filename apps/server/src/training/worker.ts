/**
 * The training worker (docs/api.md §4.8): takes pg-boss messages (highest priority, then oldest), claims the job row,
 * runs the pipeline in a child process, persists progress and publishes it, stores the model, and finishes the job
 * in one transaction. Heartbeats fence a worker that lost its job; the reaper (every worker, every 15 s) re-queues
 * or fails jobs whose worker died; cancellation arrives by NOTIFY from any process.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import { effectiveTierOf, refundUsage } from '../billing/quota.ts';
import type { AppContext } from '../core/context.ts';
import { type DbOrTx, execRows } from '../core/db/client.ts';
import { enqueueEmail } from '../core/email/outbox.ts';
import { getStorage } from '../core/storage/index.ts';
import { tfliteKeyOf } from '../models/tflite.ts';
import type { ChildJob, ChildMessage, ChildResult, PipelineProgress } from './child-protocol.ts';
import {
  CONTROL_CHANNEL,
  type JobRow,
  jobById,
  publish,
  refundUntrained,
  sendMessage,
  TRAINING_QUEUE,
} from './service.ts';

const CHILD_ENTRY = fileURLToPath(new URL('./child.ts', import.meta.url));
/**
 * tsx's loader for the child, as a file URL: a bare `--import tsx` is resolved from the working directory, so a worker
 * started outside the repository (a service's own directory) could not start a single job.
 */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const REAPER_MS = 15_000;
const KILL_GRACE_MS = 10_000;
const PROGRESS_MIN_MS = 500;

/**
 * What training notes call each recording: "take N" with the number the record page showed (the upload's `take`),
 * "take N (recording ID)" when two of the job's recordings share a number, "recording ID" without one — never the
 * stored file name (docs/training.md).
 */
export function takeLabels(recs: { id: number | string; take_number: number | null }[]): Map<number, string> {
  const count = new Map<number, number>();
  for (const r of recs)
    if (r.take_number != null) count.set(r.take_number, (count.get(r.take_number) ?? 0) + 1);
  return new Map(
    recs.map((r) => {
      const id = Number(r.id);
      if (r.take_number == null) return [id, `recording ${id}`];
      return [
        id,
        (count.get(r.take_number) ?? 0) > 1
          ? `take ${r.take_number} (recording ${id})`
          : `take ${r.take_number}`,
      ];
    }),
  );
}

export const ERROR_TEXT = {
  cancelled: 'Training cancelled by user',
  quality_gate: 'Model failed the quality gate with grade F; export was blocked.',
  timeout: (n: number) => `Training timed out after ${n} seconds`,
  worker_lost: 'The training worker stopped unexpectedly. The job was retried once and failed again.',
  insufficient_data: (n: number) => `Not enough usable recordings (${n}). At least 5 are required.`,
  internal: 'Training failed because of an internal error.',
} as const;

type FailCode = 'quality_gate' | 'timeout' | 'worker_lost' | 'insufficient_data' | 'internal';

interface RunningJob {
  jobId: number;
  child: ChildProcess | null;
  /** Why the child is being stopped (decides the outcome when it exits). */
  stopReason: 'cancel' | 'timeout' | 'lost' | 'shutdown' | null;
  timers: NodeJS.Timeout[];
}

export class TrainingWorker {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly running = new Map<number, RunningJob>();
  /**
   * Jobs this worker is claiming or running (from before the claim until the job ends): its reaper never takes them,
   * also not between the claim's commit and the job's entry in `running`.
   */
  private readonly handling = new Set<number>();
  private stopping = false;
  private reaper: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private workIds: string[] = [];

  constructor(private readonly ctx: AppContext) {}

  async start(): Promise<void> {
    const { ctx } = this;
    this.unlisten = await ctx.database.listen(CONTROL_CHANNEL, (payload) => {
      const job = this.running.get(Number(payload));
      if (job) void this.checkCancel(job);
    });
    for (let i = 0; i < ctx.config.maxConcurrentJobs; i++) {
      const id = await ctx.queue!.work<{ job_id: number }>(
        TRAINING_QUEUE,
        { batchSize: 1, pollingIntervalSeconds: 1 },
        async (messages) => {
          for (const m of messages) {
            if (this.stopping) return;
            await this.handle(Number(m.data.job_id), m.id);
          }
        },
      );
      this.workIds.push(id);
    }
    this.reaper = setInterval(
      () => void this.reap().catch((err) => ctx.logger.error({ err }, 'reaper failed')),
      REAPER_MS,
    );
    this.reaper.unref();
    void this.reap().catch(() => {});
  }

  /** Graceful stop: take no more messages, stop children, put their jobs back in the queue without using the retry. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reaper) clearInterval(this.reaper);
    for (const id of this.workIds) await this.ctx.queue!.offWork({ id } as never).catch(() => {});
    await this.ctx.queue!.offWork(TRAINING_QUEUE).catch(() => {});
    const jobs = [...this.running.values()];
    for (const job of jobs) this.kill(job, 'shutdown');
    const deadline = Date.now() + KILL_GRACE_MS + 2000;
    while (this.running.size > 0 && Date.now() < deadline) await sleep(100);
    await this.unlisten?.().catch(() => {});
  }

  // ---- claim ----------------------------------------------------------------------------------------------

  private async handle(jobId: number, bossId: string): Promise<void> {
    this.handling.add(jobId);
    try {
      await this.claimAndExecute(jobId, bossId);
    } finally {
      this.handling.delete(jobId);
    }
  }

  private async claimAndExecute(jobId: number, bossId: string): Promise<void> {
    const { ctx } = this;
    const claimed = await ctx.db.transaction(async (tx) => {
      const rows = await execRows<JobRow>(
        tx,
        sql`SELECT * FROM training_jobs WHERE id = ${jobId} FOR UPDATE`,
      );
      const job = rows[0];
      if (job?.status !== 'queued' || job.boss_job_id !== bossId) return null; // stale message
      const br = await execRows<{ paused: boolean; next_attempt_at: string | Date | null }>(
        tx,
        sql`SELECT paused, next_attempt_at FROM circuit_breakers WHERE user_id = ${job.user_id}`,
      );
      const breaker = br[0];
      if (breaker?.paused) {
        await tx.execute(sql`UPDATE training_jobs SET hold_reason = 'breaker_paused', boss_job_id = NULL, not_before = NULL
          WHERE id = ${jobId}`);
        await publish(tx, jobId);
        return null;
      }
      const next = breaker?.next_attempt_at ? new Date(breaker.next_attempt_at) : null;
      if (next && next.getTime() > ctx.clock.now().getTime()) {
        const newBoss = randomUUID();
        await tx.execute(sql`UPDATE training_jobs SET hold_reason = 'breaker_backoff', not_before = ${next.toISOString()}::timestamptz,
          boss_job_id = ${newBoss} WHERE id = ${jobId}`);
        await sendMessage(ctx, tx, jobId, newBoss, job.priority, next);
        await publish(tx, jobId);
        return null;
      }
      const updated = await execRows<JobRow>(
        tx,
        sql`UPDATE training_jobs SET status = 'running', stage = 'preparing', progress = 0, started_at = now(),
              attempts = attempts + 1, worker_id = ${this.workerId}, heartbeat_at = now(), hold_reason = NULL,
              not_before = NULL, message = 'Preparing training data...', epoch = NULL, total_epochs = NULL,
              train_loss = NULL, val_loss = NULL
            WHERE id = ${jobId} RETURNING *`,
      );
      await publish(tx, jobId);
      return updated[0] ?? null;
    });
    if (!claimed) return;
    const queuedFor = (Date.now() - new Date(claimed.created_at).getTime()) / 1000;
    ctx.metrics.trainingQueueWait.observe(Math.max(0, queuedFor));
    await this.execute(claimed);
  }

  // ---- execution --------------------------------------------------------------------------------------------

  private async execute(job: JobRow): Promise<void> {
    const { ctx } = this;
    const started = Date.now();
    const entry: RunningJob = { jobId: Number(job.id), child: null, stopReason: null, timers: [] };
    this.running.set(entry.jobId, entry);
    const tmp = path.join(
      ctx.config.tmpDir,
      `job-${job.id}-${job.attempts}-${randomBytes(3).toString('hex')}`,
    );
    const log = ctx.logger.child({
      job_id: entry.jobId,
      request_id: job.request_id,
      worker_id: this.workerId,
    });
    let outcome = 'failed';
    try {
      mkdirSync(tmp, { recursive: true });
      const recordingIds = (job.recording_ids ?? []).map(Number);
      const textOnly = recordingIds.length === 0;
      const clips: string[] = [];
      const clipLabels: string[] = [];
      if (!textOnly) {
        const recs = await execRows<{ id: number; storage_key: string; take_number: number | null }>(
          ctx.db,
          sql`SELECT id, storage_key, take_number FROM recordings WHERE user_id = ${job.user_id} AND deleted_at IS NULL
               AND id = ANY(${sql.raw(`ARRAY[${recordingIds.join(',') || '0'}]::bigint[]`)}) ORDER BY id`,
        );
        const storage = getStorage(ctx);
        const labels = takeLabels(recs);
        for (const r of recs) {
          try {
            const bytes = await storage.getBytes(r.storage_key);
            const file = path.join(tmp, `${r.id}.wav`);
            writeFileSync(file, bytes);
            clips.push(file);
            clipLabels.push(labels.get(Number(r.id)) as string);
          } catch (err) {
            log.warn({ err, recording_id: r.id }, 'recording object missing');
          }
        }
        if (clips.length < 5) {
          await this.fail(entry.jobId, 'insufficient_data', ERROR_TEXT.insufficient_data(clips.length));
          return;
        }
      }
      // Heartbeat (and cancel flag), and the attempt's timeout.
      entry.timers.push(
        setInterval(
          () => void this.heartbeat(entry).catch((err) => log.warn({ err }, 'heartbeat failed')),
          ctx.config.jobHeartbeatSeconds * 1000,
        ),
      );
      const startedAt = job.started_at ? new Date(job.started_at).getTime() : Date.now();
      const timeoutMs = Math.max(0, startedAt + ctx.config.trainingTimeoutSeconds * 1000 - Date.now());
      entry.timers.push(setTimeout(() => this.kill(entry, 'timeout'), timeoutMs));

      // the curated negatives corpus is for jobs whose owner's effective tier is paid when the job starts (§6.6)
      const corpusDir =
        ctx.config.negativesCorpusDir && (await effectiveTierOf(ctx.db, job.user_id)) !== 'free'
          ? ctx.config.negativesCorpusDir
          : undefined;
      const result = await this.runChild(entry, {
        wakeWord: job.wake_word,
        clips: textOnly ? undefined : clips,
        clipLabels: textOnly ? undefined : clipLabels,
        pronunciation: job.pronunciation
          ? { soundsLike: job.pronunciation.sounds_like, phonemes: job.pronunciation.phonemes }
          : undefined,
        textOnly,
        dataDir: ctx.config.dataDir,
        seed: 1,
        targetFaPerHour: ctx.config.targetFaPerHour,
        maxEpochs: job.epochs,
        bankScale: ctx.config.engineBankScale,
        synthScale: ctx.config.engineSynthScale,
        corpusDir,
      });
      if (result.kind === 'stopped') {
        outcome = await this.onStopped(entry, job);
        return;
      }
      if (result.kind === 'error') {
        log.warn({ code: result.code, detail: result.message }, 'pipeline failed');
        if (result.code === 'quality_gate') {
          await this.fail(entry.jobId, 'quality_gate', ERROR_TEXT.quality_gate, {
            message: result.message,
            dPrime: num(result.details?.d_prime),
            grade: 'F',
          });
        } else if (result.code === 'insufficient_data') {
          const n = num(result.details?.usable) ?? clips.length;
          const notUsed = result.details?.not_used;
          const text =
            ERROR_TEXT.insufficient_data(n) + (typeof notUsed === 'string' ? ` Not used: ${notUsed}` : '');
          await this.fail(entry.jobId, 'insufficient_data', text, {
            message: result.message,
          });
        } else if (result.code === 'cancelled' && entry.stopReason) {
          outcome = await this.onStopped(entry, job);
          return;
        } else {
          await this.fail(entry.jobId, 'internal', ERROR_TEXT.internal);
        }
        return;
      }
      outcome = (await this.complete(job, result.result)) ? 'completed' : 'lost';
    } catch (err) {
      log.error({ err }, 'training job crashed');
      await this.fail(entry.jobId, 'internal', ERROR_TEXT.internal).catch(() => {});
    } finally {
      for (const t of entry.timers) clearInterval(t);
      this.running.delete(entry.jobId);
      rmSync(tmp, { recursive: true, force: true });
      ctx.metrics.trainingJobDuration.observe({ outcome }, (Date.now() - started) / 1000);
    }
  }

  private runChild(
    entry: RunningJob,
    job: ChildJob,
  ): Promise<
    | { kind: 'result'; result: ChildResult }
    | { kind: 'error'; code: string; message: string; details: Record<string, unknown> | null }
    | { kind: 'stopped' }
  > {
    return new Promise((resolve) => {
      const child = fork(CHILD_ENTRY, [], {
        execArgv: ['--import', TSX_LOADER],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: process.env,
      });
      entry.child = child;
      let settled: Parameters<typeof resolve>[0] | null = null;
      let lastWrite = 0;
      let lastStage = '';
      let pending: PipelineProgress | null = null;
      let flushTimer: NodeJS.Timeout | null = null;
      const flush = () => {
        flushTimer = null;
        if (pending) {
          const p = pending;
          pending = null;
          lastWrite = Date.now();
          void this.saveProgress(entry.jobId, p).catch(() => {});
        }
      };
      child.on('message', (msg: ChildMessage) => {
        if (msg.type === 'progress') {
          const p = msg.progress;
          pending = p;
          const important = p.stage !== lastStage || p.epoch !== undefined;
          lastStage = p.stage;
          if (important || Date.now() - lastWrite >= PROGRESS_MIN_MS) {
            if (flushTimer) clearTimeout(flushTimer);
            flush();
          } else if (!flushTimer) {
            flushTimer = setTimeout(flush, PROGRESS_MIN_MS);
          }
        } else if (msg.type === 'result') {
          settled = { kind: 'result', result: msg.result };
        } else if (msg.type === 'error') {
          settled = { kind: 'error', code: msg.code, message: msg.message, details: msg.details };
        }
      });
      child.on('exit', () => {
        if (flushTimer) clearTimeout(flushTimer);
        flush();
        entry.child = null;
        if (entry.stopReason) return resolve({ kind: 'stopped' });
        resolve(
          settled ?? {
            kind: 'error',
            code: 'internal',
            message: 'training process exited without a result',
            details: null,
          },
        );
      });
      child.send({ type: 'start', job });
    });
  }

  private kill(entry: RunningJob, reason: NonNullable<RunningJob['stopReason']>): void {
    if (entry.stopReason) return;
    entry.stopReason = reason;
    const child = entry.child;
    if (!child) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    t.unref();
    child.once('exit', () => clearTimeout(t));
  }

  private async checkCancel(entry: RunningJob): Promise<void> {
    const job = await jobById(this.ctx.db, entry.jobId);
    if (job?.cancel_requested_at) this.kill(entry, 'cancel');
  }

  private async heartbeat(entry: RunningJob): Promise<void> {
    const rows = await execRows<{ cancel_requested_at: string | null }>(
      this.ctx.db,
      sql`UPDATE training_jobs SET heartbeat_at = now()
           WHERE id = ${entry.jobId} AND worker_id = ${this.workerId} AND status = 'running'
           RETURNING cancel_requested_at`,
    );
    if (rows.length === 0) this.kill(entry, 'lost');
    else if (rows[0]!.cancel_requested_at) this.kill(entry, 'cancel');
  }

  /** Persist a progress step (fenced by worker id) and publish it. */
  private async saveProgress(jobId: number, p: PipelineProgress): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const rows = await execRows<{ progress: number }>(
        tx,
        sql`UPDATE training_jobs SET stage = ${p.stage}, progress = GREATEST(progress, ${clamp(p.progress)}),
              message = ${p.message}, epoch = ${p.epoch ?? null}, total_epochs = ${p.total_epochs ?? null},
              train_loss = ${p.train_loss ?? null}, val_loss = ${p.val_loss ?? null}, heartbeat_at = now()
            WHERE id = ${jobId} AND worker_id = ${this.workerId} AND status = 'running'
            RETURNING progress`,
      );
      if (rows.length) await publish(tx, jobId);
    });
  }

  private async onStopped(entry: RunningJob, job: JobRow): Promise<string> {
    const reason = entry.stopReason;
    if (reason === 'cancel') {
      await this.finishCancelled(entry.jobId);
      return 'cancelled';
    }
    if (reason === 'timeout') {
      await this.fail(entry.jobId, 'timeout', ERROR_TEXT.timeout(this.ctx.config.trainingTimeoutSeconds));
      return 'timeout';
    }
    if (reason === 'shutdown') {
      await this.requeue(entry.jobId, job, 'Restarting after a server restart', true);
      return 'requeued';
    }
    return 'lost'; // fenced out: another process owns the row now
  }

  private async finishCancelled(jobId: number): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const r = await execRows(
        tx,
        sql`UPDATE training_jobs SET status = 'cancelled', error = ${ERROR_TEXT.cancelled}, error_code = 'cancelled',
              message = ${ERROR_TEXT.cancelled}, completed_at = now(), worker_id = NULL
            WHERE id = ${jobId} AND status = 'running' AND worker_id = ${this.workerId} RETURNING id`,
      );
      if (r.length) {
        await refundUntrained(tx, jobId);
        await publish(tx, jobId);
      }
    });
  }

  private async requeue(jobId: number, job: JobRow, message: string, keepRetry: boolean): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const bossId = randomUUID();
      const r = await execRows(
        tx,
        sql`UPDATE training_jobs SET status = 'queued', stage = 'queued', progress = 0, message = ${message},
              worker_id = NULL, heartbeat_at = NULL, boss_job_id = ${bossId}, epoch = NULL, total_epochs = NULL,
              attempts = ${keepRetry ? sql`GREATEST(attempts - 1, 0)` : sql`attempts`}
            WHERE id = ${jobId} AND status = 'running' AND worker_id = ${this.workerId} RETURNING id`,
      );
      if (r.length) {
        await sendMessage(this.ctx, tx, jobId, bossId, job.priority);
        await publish(tx, jobId);
      }
    });
  }

  /** Fail a running job this worker owns: refund (except quality gate), breaker +1, publish. */
  private async fail(
    jobId: number,
    code: FailCode,
    error: string,
    extra: { message?: string; dPrime?: number | null; grade?: string } = {},
  ): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      const rows = await execRows<JobRow>(
        tx,
        sql`UPDATE training_jobs SET status = 'failed', error = ${error}, error_code = ${code},
              message = ${extra.message ?? error}, completed_at = now(), worker_id = NULL,
              d_prime = coalesce(${extra.dPrime ?? null}::float8, d_prime),
              quality_grade = coalesce(${extra.grade ?? null}, quality_grade)
            WHERE id = ${jobId} AND status = 'running' AND worker_id = ${this.workerId} RETURNING *`,
      );
      if (!rows[0]) return;
      await failureSideEffects(this.ctx, tx, rows[0], code, error);
      await publish(tx, jobId);
    });
  }

  private async complete(job: JobRow, result: ChildResult): Promise<boolean> {
    const { ctx } = this;
    const storage = getStorage(ctx);
    const userId = Number(job.user_id);
    const idRows = await execRows<{ id: number }>(
      ctx.db,
      sql`SELECT nextval(pg_get_serial_sequence('trained_models', 'id'))::bigint AS id`,
    );
    const modelId = Number(idRows[0]!.id);
    const onnxKey = `models/${userId}/${modelId}.onnx`;
    const jsonKey = `models/${userId}/${modelId}.json`;
    const manifest = { ...result.manifest, model_id: modelId };
    const manifestBytes = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
    await storage.put(onnxKey, result.onnx, { contentType: 'application/octet-stream' });
    // the TFLite file beside it (docs/formats.md); a failed export is remembered so downloads answer 409 with why
    const tfliteKey = tfliteKeyOf(onnxKey);
    let tflite: Record<string, unknown> = {};
    if (result.tflite) {
      await storage.put(tfliteKey, result.tflite, { contentType: 'application/octet-stream' });
      tflite = {
        tflite: {
          sha256: createHash('sha256').update(result.tflite).digest('hex'),
          size_bytes: result.tflite.byteLength,
        },
      };
    } else if (result.tfliteError) tflite = { tflite_error: result.tfliteError };
    await storage.put(jsonKey, manifestBytes, { contentType: 'application/json' });
    const m = result.manifest.metrics;
    const evaluation = result.evaluation ?? {};
    const metrics = {
      far_per_hour: m.fa_per_hour_at_threshold,
      frr: m.miss_rate_at_target,
      positive_scores: result.scores.positive.slice(0, 500),
      negative_scores: result.scores.negative.slice(0, 500),
      ...pick(evaluation, [
        'eval_positive_count',
        'eval_negative_count',
        'eval_negative_hours',
        'negatives_hours',
        'warnings',
      ]),
      evaluation,
      ...tflite,
    };
    const { metrics: _omit, ...configJson } = manifest;
    const ok = await ctx.db.transaction(async (tx) => {
      const locked = await execRows<JobRow>(
        tx,
        sql`SELECT * FROM training_jobs WHERE id = ${job.id} AND status = 'running' AND worker_id = ${this.workerId} FOR UPDATE`,
      );
      if (!locked[0]) return false;
      await tx.execute(sql`INSERT INTO trained_models
          (id, user_id, job_id, wake_word, storage_key, manifest_key, size_bytes, threshold, d_prime, eer, auc,
           miss_rate_at_target, target_fa_per_hour, quality_grade, metrics, config_json)
        OVERRIDING SYSTEM VALUE VALUES
          (${modelId}, ${userId}, ${job.id}, ${job.wake_word}, ${onnxKey}, ${jsonKey}, ${result.onnx.byteLength},
           ${result.manifest.threshold}, ${m.d_prime}, ${m.eer}, ${m.auc}, ${m.miss_rate_at_target},
           ${m.target_fa_per_hour}, ${m.quality_grade}, ${JSON.stringify(metrics)}::jsonb, ${JSON.stringify(configJson)}::jsonb)`);
      await tx.execute(sql`UPDATE training_jobs SET status = 'completed', stage = 'done', progress = 100,
          message = 'Training complete.', completed_at = now(), model_id = ${modelId}, d_prime = ${m.d_prime},
          quality_grade = ${m.quality_grade}, worker_id = NULL, error = NULL, error_code = NULL
        WHERE id = ${job.id}`);
      await tx.execute(sql`INSERT INTO circuit_breakers (user_id) VALUES (${userId})
        ON CONFLICT (user_id) DO UPDATE SET consecutive_failures = 0, paused = false, next_attempt_at = NULL,
          pause_reason = NULL, updated_at = now()`);
      // The takes stay (docs/training.md, "Kept takes"): retention removes them, not the end of a job.
      const user = await execRows<{ email: string; name: string }>(
        tx,
        sql`SELECT email, name FROM users WHERE id = ${userId}`,
      );
      if (user[0]) {
        await enqueueEmail(tx, {
          to: user[0].email,
          userId,
          template: 'training_complete',
          payload: {
            name: user[0].name,
            wake_word: job.wake_word,
            model_id: modelId,
            quality_grade: m.quality_grade,
          },
          dedupeKey: `training_complete:${job.id}`,
        });
      }
      await publish(tx, Number(job.id));
      return true;
    });
    if (!ok) {
      await storage.delete(onnxKey).catch(() => {});
      await storage.delete(tfliteKey).catch(() => {});
      await storage.delete(jsonKey).catch(() => {});
    }
    return ok;
  }

  // ---- reaper ------------------------------------------------------------------------------------------------

  /** Jobs whose worker stopped heartbeating, or that outlived the timeout: never `running` forever. */
  async reap(): Promise<void> {
    const { ctx } = this;
    const stale = ctx.config.jobStaleSeconds;
    const hard = ctx.config.trainingTimeoutSeconds + 300;
    await ctx.db.transaction(async (tx) => {
      const rows = await execRows<JobRow>(
        tx,
        sql`SELECT * FROM training_jobs
             WHERE status = 'running'
               AND (heartbeat_at < now() - make_interval(secs => ${stale}) OR started_at < now() - make_interval(secs => ${hard}))
             ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 100`,
      );
      for (const job of rows) {
        const jobId = Number(job.id);
        if (this.handling.has(jobId)) continue; // ours and alive
        const startedAt = job.started_at ? new Date(job.started_at).getTime() : Date.now();
        const expired = Date.now() - startedAt > hard * 1000;
        if (job.cancel_requested_at) {
          await tx.execute(sql`UPDATE training_jobs SET status = 'cancelled', error = ${ERROR_TEXT.cancelled},
            error_code = 'cancelled', message = ${ERROR_TEXT.cancelled}, completed_at = now(), worker_id = NULL WHERE id = ${jobId}`);
          await refundUntrained(tx, jobId);
        } else if (expired) {
          const error = ERROR_TEXT.timeout(ctx.config.trainingTimeoutSeconds);
          await tx.execute(sql`UPDATE training_jobs SET status = 'failed', error = ${error}, error_code = 'timeout',
            message = ${error}, completed_at = now(), worker_id = NULL WHERE id = ${jobId}`);
          await failureSideEffects(ctx, tx, job, 'timeout', error);
        } else if (job.attempts < 2) {
          const bossId = randomUUID();
          await tx.execute(sql`UPDATE training_jobs SET status = 'queued', stage = 'queued', progress = 0,
            message = 'Restarting after a worker failure', worker_id = NULL, heartbeat_at = NULL, boss_job_id = ${bossId},
            epoch = NULL, total_epochs = NULL WHERE id = ${jobId}`);
          await sendMessage(ctx, tx, jobId, bossId, job.priority);
        } else {
          await tx.execute(sql`UPDATE training_jobs SET status = 'failed', error = ${ERROR_TEXT.worker_lost},
            error_code = 'worker_lost', message = ${ERROR_TEXT.worker_lost}, completed_at = now(), worker_id = NULL
            WHERE id = ${jobId}`);
          await failureSideEffects(ctx, tx, job, 'worker_lost', ERROR_TEXT.worker_lost);
        }
        await publish(tx, jobId);
        ctx.logger.warn(
          { job_id: jobId, attempts: job.attempts },
          'reaped a training job without a live worker',
        );
      }
    });
  }
}

/** Refund (once, not for the quality gate) and the circuit breaker, in the failing transaction. */
async function failureSideEffects(
  ctx: AppContext,
  tx: DbOrTx,
  job: JobRow,
  code: FailCode,
  error: string,
): Promise<void> {
  const userId = Number(job.user_id);
  if (code !== 'quality_gate' && !job.usage_refunded) {
    await refundUsage(tx, userId, new Date(job.usage_period_start));
    await tx.execute(sql`UPDATE training_jobs SET usage_refunded = true WHERE id = ${job.id}`);
  }
  const threshold = ctx.config.breakerFailureThreshold;
  const backoff = ctx.config.breakerBackoffSeconds;
  await tx.execute(sql`INSERT INTO circuit_breakers (user_id, consecutive_failures, last_failure_at, pause_reason, paused, next_attempt_at)
    VALUES (${userId}, 1, now(), ${error}, ${threshold <= 1}, ${threshold <= 1 ? null : sql`now() + make_interval(secs => ${backoff})`})
    ON CONFLICT (user_id) DO UPDATE SET
      consecutive_failures = circuit_breakers.consecutive_failures + 1,
      last_failure_at = now(),
      pause_reason = ${error},
      paused = circuit_breakers.consecutive_failures + 1 >= ${threshold},
      next_attempt_at = CASE WHEN circuit_breakers.consecutive_failures + 1 >= ${threshold} THEN NULL
                             ELSE now() + make_interval(secs => ${backoff}) END,
      updated_at = now()`);
}

const clamp = (x: number) => Math.max(0, Math.min(100, Number.isFinite(x) ? x : 0));
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in obj) out[k] = obj[k];
  return out;
}
