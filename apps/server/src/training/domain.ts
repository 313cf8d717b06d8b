import { ensureQueue } from '../core/queue/boss.ts';
import type { DomainModule } from '../domains.ts';
import { JobEvents } from './events.ts';
import { cancelJobsForDeletion, TRAINING_QUEUE } from './service.ts';
import { TrainingWorker } from './worker.ts';

declare module '../core/context.ts' {
  interface AppContext {
    trainingWorker?: TrainingWorker;
  }
}

export const trainingDomain: DomainModule = {
  name: 'training',
  async setup(ctx) {
    await ensureQueue(ctx.database, ctx.queue!, TRAINING_QUEUE, {
      name: TRAINING_QUEUE,
      policy: 'standard',
      retryLimit: 0,
    } as never);
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
