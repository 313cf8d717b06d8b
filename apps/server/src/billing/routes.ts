import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../core/context.ts';

/** billing routes (being built; see the issue for this domain). */
export function routes(_ctx: AppContext): FastifyPluginAsync {
  return async () => {};
}
