/** The auth domain's lifecycle hooks: email health, the outbox deliverer (workers) and the rate-limit store. */

import { emailHealth, emailService, startOutboxWorker } from '../core/email/outbox.ts';
import { closeRateLimitStore } from '../core/http/rate-limit.ts';
import type { DomainModule } from '../domains.ts';
import { warmPasswordHashing } from './passwords.ts';

export const authDomain: DomainModule = {
  name: 'auth',
  async setup(ctx) {
    emailService(ctx);
    ctx.healthChecks.email = () => emailHealth(ctx);
    await warmPasswordHashing();
  },
  async startWorkers(ctx) {
    return startOutboxWorker(ctx);
  },
  async startListeners(ctx) {
    return () => closeRateLimitStore(ctx);
  },
};
