/**
 * The auth domain (`/api/auth`): the email service and its health check, password hashing warmed at start-up, the
 * outbox deliverer (processes with workers) and the rate-limit store (closed with the app).
 */
import { API_PREFIX, type Domain, startOn } from '../core/domain.ts';
import { emailHealth, emailService, startOutboxWorker } from '../core/email/outbox.ts';
import { closeRateLimitStore } from '../core/http/rate-limit.ts';
import { warmPasswordHashing } from './passwords.ts';
import { routes } from './routes.ts';

export const authDomain: Domain = {
  name: 'auth',
  async plugin(app, { ctx, workers }) {
    emailService(ctx);
    ctx.healthChecks.email = () => emailHealth(ctx);
    await warmPasswordHashing();
    await app.register(routes(ctx), { prefix: API_PREFIX });
    if (workers) startOn(app, ctx, 'the email outbox worker', () => startOutboxWorker(ctx));
    app.addHook('onClose', () => closeRateLimitStore(ctx));
  },
};
