/**
 * The reaper (every worker process, every REAPER_MS): a running job whose worker stopped heartbeating for
 * `VIOLAWAKE_JOB_STALE_SECONDS`, or that outlived the timeout, never stays `running` — it is cancelled, failed or
 * queued again (`reapJob` in transitions.ts). Rows another reaper holds are skipped; so are the jobs this process is
 * claiming or running (`isOurs`), also between a claim's commit and its first heartbeat.
 */
import type { AppContext } from '../core/context.ts';
import { staleRunningJobs } from './queries.ts';
import { reapJob } from './transitions.ts';

const REAPER_MS = 15_000;

export class Reaper {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: AppContext,
    private readonly isOurs: (jobId: number) => boolean,
  ) {}

  start(): void {
    this.timer = setInterval(
      () => void this.reap().catch((err) => this.ctx.logger.error({ err }, 'reaper failed')),
      REAPER_MS,
    );
    this.timer.unref();
    void this.reap().catch(() => {});
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass over the stale running jobs, in one transaction. */
  async reap(): Promise<void> {
    const { ctx } = this;
    const hard = ctx.config.trainingTimeoutSeconds + 300;
    await ctx.db.transaction(async (tx) => {
      for (const job of await staleRunningJobs(tx, ctx.config.jobStaleSeconds, hard)) {
        if (this.isOurs(job.id)) continue; // ours and alive
        await reapJob(ctx, tx, job, hard);
        ctx.logger.warn(
          { job_id: job.id, attempts: job.attempts },
          'reaped a training job without a live worker',
        );
      }
    });
  }
}
