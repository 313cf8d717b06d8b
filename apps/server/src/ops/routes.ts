import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../core/context.ts';
import { requireAdmin } from '../core/http/admin.ts';
import { HttpError } from '../core/http/errors.ts';
import { collectGauges, healthDetails, healthSummary } from './health.ts';
import { CleanupRunningError, runRetention } from './retention.ts';
import { CleanupResult, HealthSummary } from './schemas.ts';

/** Health and admin routes under `/api` (ops/plugin.ts registers them). */
export function routes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/health',
      { schema: { tags: ['ops'], summary: 'Overall health (always 200)', response: { 200: HealthSummary } } },
      async () => healthSummary(ctx, { full: true }),
    );

    r.get(
      '/health/live',
      {
        schema: {
          tags: ['ops'],
          summary: 'Liveness (no dependency checks)',
          response: { 200: HealthSummary },
        },
      },
      async () => {
        const s = healthSummary(ctx, { full: false });
        return { ...(await s), status: 'ok' as const };
      },
    );

    r.get(
      '/health/ready',
      {
        schema: {
          tags: ['ops'],
          summary: 'Readiness: migrations done, database answers within 2 s, queue reachable',
          response: { 200: HealthSummary, 503: HealthSummary },
        },
      },
      async (_req, reply) => {
        const summary = await healthSummary(ctx, { full: false });
        return reply.status(summary.ready ? 200 : 503).send(summary);
      },
    );

    r.get(
      '/health/details',
      { schema: { tags: ['ops'], summary: 'Component health (admin)', security: [{ admin: [] }] } },
      async (request) => {
        requireAdmin(ctx, request);
        return healthDetails(ctx);
      },
    );

    r.post(
      '/admin/cleanup',
      {
        schema: {
          tags: ['ops'],
          summary: 'Run retention and housekeeping now (admin)',
          security: [{ admin: [] }],
          response: {
            200: CleanupResult,
          },
        },
      },
      async (request) => {
        requireAdmin(ctx, request);
        try {
          return await runRetention(ctx);
        } catch (err) {
          if (err instanceof CleanupRunningError) throw new HttpError(409, 'Cleanup already running');
          throw err;
        }
      },
    );
  };
}

/** `/metrics` on the main port (admin; 404 when a separate metrics port is configured), outside `/api`. */
export function metricsRoutes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (ctx.config.metricsPort) return reply.status(404).send({ detail: 'Not Found' });
      requireAdmin(ctx, request, true);
      reply.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
      await collectGauges(ctx);
      return ctx.metrics.registry.metrics();
    });
  };
}
