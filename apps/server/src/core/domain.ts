/**
 * How a domain plugs into the server (docs/CONVENTIONS.md "Domains"). Each domain exports one `Domain` from its
 * `plugin.ts`: a Fastify plugin that, when `app.ts` registers it,
 * 1. sets up what the domain owns in the process (clients, health checks, account-deletion steps), idempotently;
 * 2. registers its route plugin under its prefix (route factories have no side effects);
 * 3. ties its background work to the app's lifecycle with `startOn`: workers (processes with workers) and
 *    listeners (processes serving HTTP) start in `onReady` and stop in `onClose` (or `preClose`).
 * `domains.ts` lists the domains; nothing here imports a domain, so there is no import loop.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AppContext } from './context.ts';

export interface DomainOptions {
  ctx: AppContext;
  /** This process runs background workers (roles `worker` and `all`). */
  workers: boolean;
  /** This process serves HTTP (roles `api` and `all`): event-stream listeners run. */
  http: boolean;
}

export interface Domain {
  name: string;
  plugin: FastifyPluginAsync<DomainOptions>;
}

/** Every domain route lives below this prefix (ops' `/metrics` is the one URL outside it). */
export const API_PREFIX = '/api';

export type Stopper = () => Promise<void>;

/**
 * Start `start()` when the app is ready and run the stopper it returns when the app closes. `stopOn: 'preClose'`
 * stops before in-flight requests drain (for what would hold them open, e.g. event streams); the default `onClose`
 * stops after they drained. Errors while stopping are logged, never thrown, so one stopper cannot skip the others.
 */
export function startOn(
  app: FastifyInstance,
  ctx: AppContext,
  what: string,
  start: () => Promise<Stopper>,
  opts: { stopOn?: 'preClose' | 'onClose' } = {},
): void {
  let stop: Stopper | null = null;
  app.addHook('onReady', async () => {
    stop = await start();
  });
  const run = async () => {
    const s = stop;
    stop = null;
    if (!s) return;
    await s().catch((err: unknown) => ctx.logger.error({ err, what }, `error while stopping ${what}`));
  };
  if (opts.stopOn === 'preClose') app.addHook('preClose', run);
  else app.addHook('onClose', run);
}
