/**
 * The ops domain: health (`/api/health…`), on-demand cleanup (`/api/admin/cleanup`), Prometheus metrics on the main
 * port (`/metrics`, the one URL outside `/api`) and the retention schedule (processes with workers).
 */
import { API_PREFIX, type Domain, startOn } from '../core/domain.ts';
import { startRetention } from './retention.ts';
import { metricsRoutes, routes } from './routes.ts';

export const opsDomain: Domain = {
  name: 'ops',
  async plugin(app, { ctx, workers }) {
    await app.register(routes(ctx), { prefix: API_PREFIX });
    await app.register(metricsRoutes(ctx));
    if (workers) startOn(app, ctx, 'the retention schedule', () => startRetention(ctx));
  },
};
