import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, authUser, requireUser, userForDownload } from '../auth/guard.ts';
import type { AppContext } from '../core/context.ts';
import { errorResponses as errors, HttpError } from '../core/http/errors.ts';
import { DOWNLOAD_AUTH } from '../core/http/openapi.ts';
import { getStorage, StorageNotFoundError } from '../core/storage/index.ts';
import { teamIdsOf } from '../teams/service.ts';
import {
  DownloadQuery,
  FrontendParams,
  ModelConfig,
  ModelParams,
  ModelPerformance,
  ModelSummary,
} from './schemas.ts';
import {
  deleteModel,
  FRONTEND_FILES,
  frontendAsset,
  listVisibleModels,
  modelConfig,
  modelDownload,
  modelPerformance,
  modelSummary,
  type Viewer,
  visibleModel,
} from './service.ts';

const TAGS = ['models'];
const SECURITY = [{ bearer: [] }];

/** ModelSummary is also the teams routes' answer for shared models. */
export { ModelSummary } from './schemas.ts';

/** The caller as a model viewer: their id and their teams (models shared to a team are visible to its members). */
async function viewer(ctx: AppContext, userId: number): Promise<Viewer> {
  return { userId, teamIds: await teamIdsOf(ctx.db, userId) };
}

export function routes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const user = requireUser(ctx);

    r.get(
      '/models',
      {
        schema: {
          tags: TAGS,
          summary: 'List your models and those shared with your teams',
          security: SECURITY,
          response: { 200: ModelSummary.array(), ...errors(401) },
        },
        preHandler: user,
      },
      async (request) => {
        const me = authUser(request).id;
        return (await listVisibleModels(ctx.db, await viewer(ctx, me))).map((m) => modelSummary(m, me));
      },
    );

    r.get(
      '/models/:model_id/download',
      {
        schema: {
          tags: TAGS,
          summary:
            'Download the head (onnx or tflite), the manifest (json) or the bundle (zip); bearer header or ?token=',
          security: DOWNLOAD_AUTH,
          params: ModelParams,
          querystring: DownloadQuery,
          response: {
            200: z.any().describe('The file'),
            307: z.any().describe('Redirect to a presigned URL'),
            ...errors(401, 404, 409, 422),
          },
        },
      },
      async (request, reply) => {
        const id = request.params.model_id;
        const { userId } = await userForDownload(ctx, request, 'model_download', id);
        const m = await visibleModel(ctx.db, await viewer(ctx, userId), id);
        const dl = await modelDownload(ctx, m, request.query.format);
        reply.header('Cache-Control', 'no-store');
        if (dl.kind === 'redirect') return reply.redirect(dl.url, 307);
        reply.header('Content-Type', dl.contentType);
        reply.header('Content-Disposition', `attachment; filename="${dl.filename}"`);
        return reply.send(
          dl.body instanceof Uint8Array
            ? Buffer.from(dl.body.buffer, dl.body.byteOffset, dl.body.byteLength)
            : dl.body,
        );
      },
    );

    r.get(
      '/models/:model_id/config',
      {
        schema: {
          tags: TAGS,
          summary: 'Training configuration of a model you can see',
          security: SECURITY,
          params: ModelParams,
          response: { 200: ModelConfig, ...errors(401, 404) },
        },
        preHandler: user,
      },
      async (request) =>
        modelConfig(
          await visibleModel(ctx.db, await viewer(ctx, authUser(request).id), request.params.model_id),
        ),
    );

    r.get(
      '/models/:model_id/performance',
      {
        schema: {
          tags: TAGS,
          summary: 'Evaluation metrics and score distributions of a model you can see',
          security: SECURITY,
          params: ModelParams,
          response: { 200: ModelPerformance, ...errors(401, 404) },
        },
        preHandler: user,
      },
      async (request) =>
        modelPerformance(
          await visibleModel(ctx.db, await viewer(ctx, authUser(request).id), request.params.model_id),
        ),
    );

    r.delete(
      '/models/:model_id',
      {
        schema: {
          tags: TAGS,
          summary: 'Delete one of your models (403 for a team model you do not own)',
          security: SECURITY,
          params: ModelParams,
          response: { 204: z.null().describe('Deleted'), ...errors(401, 403, 404) },
        },
        preHandler: user,
      },
      async (request, reply) => {
        await deleteModel(ctx, await viewer(ctx, authUser(request).id), request.params.model_id);
        return reply.status(204).send(null);
      },
    );

    r.get(
      '/assets/frontend/:file',
      {
        schema: {
          tags: TAGS,
          summary: 'Front-end feature models for the browser runtime',
          params: FrontendParams,
        },
      },
      async (request, reply) => {
        const file = request.params.file;
        if (!(file in FRONTEND_FILES)) throw new HttpError(404, 'Not Found');
        const asset = await frontendAsset(ctx, file as keyof typeof FRONTEND_FILES);
        const etag = `"${asset.sha256}"`;
        reply.header('Cache-Control', 'public, max-age=31536000, immutable');
        reply.header('ETag', etag);
        if (request.headers['if-none-match'] === etag) return reply.status(304).send();
        reply.header('Content-Type', 'application/octet-stream');
        return reply.send(Buffer.from(asset.bytes));
      },
    );

    r.get(
      '/files/*',
      {
        schema: {
          tags: TAGS,
          summary: 'Compatibility: a stored object of the caller (local storage only)',
          security: SECURITY,
        },
      },
      async (request, reply) => {
        const me = (await authenticate(ctx, request)).id; // header only: no query tokens here
        const storage = getStorage(ctx);
        if (storage.backend !== 'local')
          throw new HttpError(404, 'Local file route is unavailable for object storage');
        const key = decodeURIComponent((request.params as { '*': string })['*'] ?? '');
        const m = /^(recordings|models)\/(\d+)\/[A-Za-z0-9._-]+$/.exec(key);
        if (!m || key.includes('..')) throw new HttpError(400, 'Invalid file key');
        if (Number(m[2]) !== me) throw new HttpError(403, 'You do not have access to this file');
        try {
          const body = await storage.get(key);
          const ext = key.slice(key.lastIndexOf('.') + 1);
          const types: Record<string, string> = {
            wav: 'audio/wav',
            onnx: 'application/octet-stream',
            tflite: 'application/octet-stream',
            json: 'application/json',
          };
          reply.header('Content-Type', types[ext] ?? 'application/octet-stream');
          reply.header('Cache-Control', 'no-store');
          if (m[1] === 'models')
            reply.header(
              'Content-Disposition',
              `attachment; filename="${key.slice(key.lastIndexOf('/') + 1)}"`,
            );
          return reply.send(body);
        } catch (err) {
          if (err instanceof StorageNotFoundError) throw new HttpError(404, 'Not Found');
          throw err;
        }
      },
    );
  };
}
