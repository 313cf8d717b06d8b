import type { AppContext } from '../core/context.ts';
import type { DomainModule } from '../domains.ts';
import { JobEvents } from './events.ts';
import { cancelJobsForDeletion, TRAINING_QUEUE } from './service.ts';
import { TrainingWorker } from './worker.ts';

declare module '../core/context.ts' {
  interface AppContext {
    trainingWorker?: TrainingWorker;
  }
}

async function ensureQueue(ctx: AppContext): Promise<void> {
  const queue = ctx.queue!;
  if (await queue.getQueue(TRAINING_QUEUE)) return;
  try {
    await queue.createQueue(TRAINING_QUEUE, {
      name: TRAINING_QUEUE,
      policy: 'standard',
      retryLimit: 0,
    } as never);
  } catch (err) {
    if (!(await queue.getQueue(TRAINING_QUEUE))) throw err; // another process created it first
  }
}

export const trainingDomain: DomainModule = {
  name: 'training',
  async setup(ctx) {
    await ensureQueue(ctx);
    ctx.jobEvents = new JobEvents(ctx);
    ctx.accountCleanup.push({ name: 'training', before: cancelJobsForDeletion });
  },
  async startListeners(ctx) {
    await ctx.jobEvents!.start();
    return () => ctx.jobEvents!.stop();
  },
  async startWorkers(ctx) {
    const worker = new TrainingWorker(ctx);
    ctx.trainingWorker = worker;
    await worker.start();
    return () => worker.stop();
  },
};
