/**
 * The training worker's claim/run loop (docs/api.md §4.8, docs/training.md "Job states"): takes pg-boss messages
 * (highest priority, then oldest; `VIOLAWAKE_MAX_CONCURRENT_JOBS` at a time), claims the job row, copies its takes,
 * runs the pipeline in a child process (`runner.ts`) with a heartbeat and the attempt's timeout, and turns the
 * child's outcome into the job's next state (`transitions.ts`). Cancellation arrives by NOTIFY (`job_control`) from
 * any process; the reaper (`reaper.ts`) takes over jobs whose worker died.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { effectiveTierOf } from '../billing/quota.ts';
import type { AppContext } from '../core/context.ts';
import type { JobRow } from './queries.ts';
import { Reaper } from './reaper.ts';
import { ChildRun, KILL_GRACE_MS, type RunOutcome } from './runner.ts';
import { copyTakes } from './takes.ts';
import {
  CONTROL_CHANNEL,
  cancelRequested,
  claim,
  complete,
  ERROR_TEXT,
  fail,
  finishCancelled,
  heartbeat,
  requeue,
  saveProgress,
  TRAINING_QUEUE,
} from './transitions.ts';

export { ERROR_TEXT } from './transitions.ts';

/** A job this worker runs: its child process (once prepared) and its timers. */
interface RunningJob {
  jobId: number;
  run: ChildRun;
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
  private readonly reaper: Reaper;
  private stopping = false;
  private unlisten: (() => Promise<void>) | null = null;
  private workIds: string[] = [];

  constructor(private readonly ctx: AppContext) {
    this.reaper = new Reaper(ctx, (jobId) => this.handling.has(jobId));
  }

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
    this.reaper.start();
  }

  /** Graceful stop: take no more messages, stop children, put their jobs back in the queue without using the retry. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.reaper.stop();
    for (const id of this.workIds) await this.ctx.queue!.offWork({ id } as never).catch(() => {});
    await this.ctx.queue!.offWork(TRAINING_QUEUE).catch(() => {});
    for (const job of [...this.running.values()]) job.run.stop('shutdown');
    const deadline = Date.now() + KILL_GRACE_MS + 2000;
    while (this.running.size > 0 && Date.now() < deadline) await sleep(100);
    await this.unlisten?.().catch(() => {});
  }

  /** One reaper pass now (tests; the reaper also runs on its own timer). */
  reap(): Promise<void> {
    return this.reaper.reap();
  }

  private async handle(jobId: number, bossId: string): Promise<void> {
    this.handling.add(jobId);
    try {
      const claimed = await claim(this.ctx, jobId, bossId, this.workerId);
      if (!claimed) return;
      const queuedFor = (Date.now() - claimed.createdAt.getTime()) / 1000;
      this.ctx.metrics.trainingQueueWait.observe(Math.max(0, queuedFor));
      await this.execute(claimed);
    } finally {
      this.handling.delete(jobId);
    }
  }

  /** Run one claimed attempt to its end; whatever happens, the job leaves `running` on this worker. */
  private async execute(job: JobRow): Promise<void> {
    const { ctx, workerId } = this;
    const started = Date.now();
    const entry: RunningJob = { jobId: job.id, run: new ChildRun(), timers: [] };
    this.running.set(entry.jobId, entry);
    const tmp = path.join(
      ctx.config.tmpDir,
      `job-${job.id}-${job.attempts}-${randomBytes(3).toString('hex')}`,
    );
    const log = ctx.logger.child({ job_id: entry.jobId, request_id: job.requestId, worker_id: workerId });
    let outcome = 'failed';
    try {
      mkdirSync(tmp, { recursive: true });
      const textOnly = job.recordingIds.length === 0;
      const takes = textOnly ? { clips: [], labels: [] } : await copyTakes(ctx, job, tmp, log);
      if (!textOnly && takes.clips.length < 5) {
        await fail(
          ctx,
          job.id,
          workerId,
          'insufficient_data',
          ERROR_TEXT.insufficient_data(takes.clips.length),
        );
        return;
      }
      // Heartbeat (and cancel flag), and the attempt's timeout.
      entry.timers.push(
        setInterval(
          () => void this.beat(entry).catch((err) => log.warn({ err }, 'heartbeat failed')),
          ctx.config.jobHeartbeatSeconds * 1000,
        ),
      );
      const startedAt = job.startedAt ? job.startedAt.getTime() : Date.now();
      const timeoutMs = Math.max(0, startedAt + ctx.config.trainingTimeoutSeconds * 1000 - Date.now());
      entry.timers.push(setTimeout(() => entry.run.stop('timeout'), timeoutMs));

      // the curated negatives corpus is for jobs whose owner's effective tier is paid when the job starts (§6.6)
      const corpusDir =
        ctx.config.negativesCorpusDir && (await effectiveTierOf(ctx.db, job.userId)) !== 'free'
          ? ctx.config.negativesCorpusDir
          : undefined;
      const result = await entry.run.run(
        {
          wakeWord: job.wakeWord,
          language: job.language,
          clips: textOnly ? undefined : takes.clips,
          clipLabels: textOnly ? undefined : takes.labels,
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
        },
        (p) => saveProgress(ctx, entry.jobId, workerId, p),
      );
      outcome = await this.finish(entry, job, result, takes.clips.length, log);
    } catch (err) {
      log.error({ err }, 'training job crashed');
      await fail(ctx, entry.jobId, workerId, 'internal', ERROR_TEXT.internal).catch(() => {});
    } finally {
      for (const t of entry.timers) clearInterval(t);
      this.running.delete(entry.jobId);
      rmSync(tmp, { recursive: true, force: true });
      ctx.metrics.trainingJobDuration.observe({ outcome }, (Date.now() - started) / 1000);
    }
  }

  /** The child's outcome → the job's next state; returns the outcome label of the duration metric. */
  private async finish(
    entry: RunningJob,
    job: JobRow,
    result: RunOutcome,
    clips: number,
    log: AppContext['logger'],
  ): Promise<string> {
    const { ctx, workerId } = this;
    if (result.kind === 'result')
      return (await complete(ctx, job, workerId, result.result)) ? 'completed' : 'lost';
    if (result.kind === 'stopped' || (result.code === 'cancelled' && entry.run.stopReason)) {
      return this.onStopped(entry, job);
    }
    log.warn({ code: result.code, detail: result.message }, 'pipeline failed');
    if (result.code === 'quality_gate') {
      await fail(ctx, entry.jobId, workerId, 'quality_gate', ERROR_TEXT.quality_gate, {
        message: result.message,
        dPrime: num(result.details?.d_prime),
        grade: 'F',
      });
    } else if (result.code === 'insufficient_data') {
      const n = num(result.details?.usable) ?? clips;
      const notUsed = result.details?.not_used;
      const text =
        ERROR_TEXT.insufficient_data(n) + (typeof notUsed === 'string' ? ` Not used: ${notUsed}` : '');
      await fail(ctx, entry.jobId, workerId, 'insufficient_data', text, { message: result.message });
    } else {
      await fail(ctx, entry.jobId, workerId, 'internal', ERROR_TEXT.internal);
    }
    return 'failed';
  }

  /** The child was stopped: the stop's reason decides the job's next state. */
  private async onStopped(entry: RunningJob, job: JobRow): Promise<string> {
    const { ctx, workerId } = this;
    const reason = entry.run.stopReason;
    if (reason === 'cancel') {
      await finishCancelled(ctx, entry.jobId, workerId);
      return 'cancelled';
    }
    if (reason === 'timeout') {
      await fail(
        ctx,
        entry.jobId,
        workerId,
        'timeout',
        ERROR_TEXT.timeout(ctx.config.trainingTimeoutSeconds),
      );
      return 'timeout';
    }
    if (reason === 'shutdown') {
      await requeue(ctx, job, workerId, 'Restarting after a server restart', true);
      return 'requeued';
    }
    return 'lost'; // fenced out: another process owns the row now
  }

  private async checkCancel(entry: RunningJob): Promise<void> {
    if (await cancelRequested(this.ctx, entry.jobId)) entry.run.stop('cancel');
  }

  private async beat(entry: RunningJob): Promise<void> {
    const state = await heartbeat(this.ctx, entry.jobId, this.workerId);
    if (state === 'lost') entry.run.stop('lost');
    else if (state === 'cancel') entry.run.stop('cancel');
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
