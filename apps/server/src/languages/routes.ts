import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../core/context.ts';
import { LanguageList } from './schemas.ts';
import { listLanguages } from './service.ts';

/** `GET /api/languages` (public: the text-only form shows it before sign-in too). */
export function routes(_ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get(
      '/languages',
      {
        schema: {
          tags: ['languages'],
          summary: 'Languages a wake word can be trained in',
          description:
            'Every language the engine supports, with the voices this installation has for it and whether it can ' +
            'train it (`reason` says why not). `language` on uploads and training jobs takes one of these codes.',
          response: { 200: LanguageList },
        },
      },
      async () => ({ default: 'en', languages: await listLanguages() }),
    );
  };
}
