/**
 * The domains' hooks into the process lifecycle. Each domain that needs start-up work (create its storage client,
 * mailer, ...) or background workers (outbox delivery, training jobs, retention) adds one entry here.
 */

import { authDomain } from './auth/domain.ts';
import { billingDomain } from './billing/domain.ts';
import type { AppContext } from './core/context.ts';
import { modelsDomain } from './models/domain.ts';
import { opsDomain } from './ops/domain.ts';
import { trainingDomain } from './training/domain.ts';

export interface DomainModule {
  name: string;
  /** Runs in every process after migrations, before the HTTP app is built. */
  setup?: (ctx: AppContext) => Promise<void> | void;
  /** Runs in processes with workers (roles `worker` and `all`); returns the function that stops them. */
  startWorkers?: (ctx: AppContext) => Promise<() => Promise<void>>;
  /** Runs in every process after the app listens (e.g. LISTEN connections for event streams); returns a stopper. */
  startListeners?: (ctx: AppContext) => Promise<() => Promise<void>>;
}

export const domains: DomainModule[] = [authDomain, billingDomain, trainingDomain, modelsDomain, opsDomain];
