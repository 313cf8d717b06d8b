/**
 * Cross-process progress delivery (docs/api.md §4.10): every API process keeps one LISTEN connection on
 * `training_events`; a notification `<job_id>:<seq>` wakes that job's local streams, which re-read the row and send
 * it when its event_seq is newer. Streams also re-read at each heartbeat, so a lost notification only delays.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { EVENTS_CHANNEL, jobById, TERMINAL, trainingStatus } from './service.ts';

type Wake = () => void;

export class JobEvents {
  private readonly subscribers = new Map<number, Set<Wake>>();
  private unlisten: (() => Promise<void>) | null = null;
  private stopped = false;

  constructor(private readonly ctx: AppContext) {}

  async start(): Promise<void> {
    this.unlisten = await this.ctx.database.listen(EVENTS_CHANNEL, (payload) => {
      const jobId = Number(payload.split(':')[0]);
      for (const wake of this.subscribers.get(jobId) ?? []) wake();
    });
  }

  subscribe(jobId: number, wake: Wake): () => void {
    let set = this.subscribers.get(jobId);
    if (!set) {
      set = new Set();
      this.subscribers.set(jobId, set);
    }
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.subscribers.delete(jobId);
    };
  }

  /** Wake every open stream (shutdown ends them; they notice `stopped`). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const set of this.subscribers.values()) for (const wake of set) wake();
    await this.unlisten?.().catch(() => {});
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}

declare module '../core/context.ts' {
  interface AppContext {
    jobEvents?: JobEvents;
  }
}

export const HEARTBEAT_MS = 15_000;

/** Serve one SSE connection for a job the caller may see; resolves when the stream ends. */
export async function streamJob(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  jobId: number,
): Promise<void> {
  const first = await jobById(ctx.db, jobId);
  if (!first) return;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
    Connection: 'keep-alive',
  });
  raw.write('retry: 3000\n\n');
  let lastSeq = -1;
  let closed = false;
  let busy = false;
  let again = false;

  const send = async (): Promise<boolean> => {
    const job = await jobById(ctx.db, jobId);
    if (!job) return true;
    if (job.eventSeq > lastSeq) {
      lastSeq = job.eventSeq;
      const data = JSON.stringify(await trainingStatus(ctx.db, job));
      raw.write(`id: ${job.eventSeq}\nevent: training\ndata: ${data}\n\n`);
    }
    return TERMINAL.has(job.status);
  };

  await new Promise<void>((resolve) => {
    const finish = () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      unsubscribe();
      raw.end();
      resolve();
    };
    const refresh = async () => {
      if (closed) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          if (await send()) return finish();
        } while (again && !closed);
        if (ctx.jobEvents?.isStopped || ctx.state.shuttingDown) finish();
      } catch (err) {
        request.log.warn({ err }, 'training stream refresh failed');
      } finally {
        busy = false;
      }
    };
    const unsubscribe = ctx.jobEvents ? ctx.jobEvents.subscribe(jobId, () => void refresh()) : () => {};
    const timer = setInterval(() => {
      if (!closed) raw.write(': ping\n\n');
      void refresh();
    }, HEARTBEAT_MS);
    raw.on('close', finish);
    void refresh();
  });
}
