/**
 * The training domain (`/api/training…`, `/api/jobs…`): its pg-boss queue, the job-event hub (LISTEN, in processes
 * serving HTTP; stopped before in-flight requests drain, since open event streams would hold them), the
 * account-deletion step (cancel the user's jobs), the training worker and the negative bank's background build
 * (processes with workers).
 */
import { addAccountCleanup } from '../core/context.ts';
import { API_PREFIX, type Domain, startOn } from '../core/domain.ts';
import { ensureQueue } from '../core/queue/boss.ts';
import { BankBuild } from './bank-build.ts';
import { JobEvents } from './events.ts';
import { routes } from './routes.ts';
import { cancelJobsForDeletion, TRAINING_QUEUE } from './service.ts';
import { TrainingWorker } from './worker.ts';

declare module '../core/context.ts' {
  interface AppContext {
    trainingWorker?: TrainingWorker;
  }
}

export const trainingDomain: Domain = {
  name: 'training',
  async plugin(app, { ctx, workers, http }) {
    await ensureQueue(ctx.database, ctx.queue!, TRAINING_QUEUE, {
      name: TRAINING_QUEUE,
      policy: 'standard',
      retryLimit: 0,
    } as never);
    const events = new JobEvents(ctx);
    ctx.jobEvents = events;
    addAccountCleanup(ctx, { name: 'training', before: cancelJobsForDeletion });
    await app.register(routes(ctx), { prefix: API_PREFIX });
    if (http) {
      startOn(
        app,
        ctx,
        'the job event listener',
        async () => {
          await events.start();
          return () => events.stop();
        },
        { stopOn: 'preClose' },
      );
    }
    if (workers) {
      startOn(app, ctx, 'the training worker', async () => {
        const worker = new TrainingWorker(ctx);
        ctx.trainingWorker = worker;
        await worker.start();
        return () => worker.stop();
      });
      // the negative bank, built once in the background so the first job finds it ready (bank-build.ts)
      startOn(app, ctx, 'the negative bank build', async () => {
        const build = new BankBuild(ctx);
        ctx.bankBuild = build;
        build.start();
        return () => build.stop();
      });
    }
  },
};
