import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { registerUserRoutes } from './user-routes.ts';
import { registerWebhook } from './webhook-routes.ts';

/** Billing routes under /api/billing (docs/api.md §2.7). */
export function routes(ctx: AppContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    await registerWebhook(app, ctx);
    await registerUserRoutes(app, ctx);
  };
}
