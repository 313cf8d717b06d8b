/**
 * Training routes (docs/api.md §2.5), registered with prefix `/api`: HTTP only (schemas in `schemas.ts`, rules in
 * `service.ts`).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authUser, requireVerified, userForDownload, VERIFY_REQUIRED } from '../auth/guard.ts';
import { userContact } from '../auth/service.ts';
import type { AppContext } from '../core/context.ts';
import { errorResponses as errors, HttpError } from '../core/http/errors.ts';
import { BEARER_AUTH, DOWNLOAD_AUTH } from '../core/http/openapi.ts';
import { rateLimit } from '../core/http/rate-limit.ts';
import { streamJob } from './events.ts';
import { pronunciationPreview } from './pronunciation.ts';
import {
  BankSetupStatus,
  BreakerState,
  JobAccepted,
  JobIdParams,
  JobResponse,
  ListQuery,
  Message,
  PronunciationPreviewRequest,
  TrainingRequest,
  TrainingStatus,
} from './schemas.ts';
import {
  bankStatus,
  breakerState,
  cancelJob,
  jobResponse,
  listJobs,
  ownJob,
  resumeQueue,
  submitJob,
  trainingStatus,
} from './service.ts';

const TAGS = ['training'];
const SECURITY = BEARER_AUTH;

export function routes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const verified = requireVerified(ctx);
    const submitLimit = rateLimit(ctx, {
      bucket: 'training-submit',
      limit: 5,
      windowSeconds: 3600,
      key: 'user',
    });

    const submitSchema = {
      tags: TAGS,
      security: SECURITY,
      body: TrainingRequest,
      response: { 202: JobAccepted, ...errors(400, 401, 403, 404, 429, 503) },
    };
    const submit = async (request: any, reply: any) => {
      const user = authUser(request);
      const jobId = await submitJob(ctx, user.id, request.body, request.id);
      return reply.status(202).send({ job_id: jobId, status: 'queued' as const });
    };
    // One handler, one rate bucket: POST /api/jobs is the endpoint, POST /api/training/start its alias.
    r.post(
      '/jobs',
      {
        schema: {
          ...submitSchema,
          summary: 'Start a training job',
          description:
            'Queues a job for `recording_ids` (at least 5 of your takes for `wake_word`; kept takes may train again) ' +
            'or `text_only: true`. Follow it with GET /api/jobs/{job_id} or the SSE stream.',
        },
        preHandler: [verified, submitLimit],
      },
      submit,
    );
    r.post(
      '/training/start',
      {
        schema: {
          ...submitSchema,
          summary: 'Start a training job (alias of POST /api/jobs)',
          description:
            'Alias of `POST /api/jobs`: the same handler, body, answers and rate bucket; kept for existing clients.',
        },
        preHandler: [verified, submitLimit],
      },
      submit,
    );

    r.post(
      '/training/pronunciation/preview',
      {
        schema: {
          tags: TAGS,
          security: SECURITY,
          summary: 'Hear how the wake word will be synthesised (espeak-ng, at most 3 s of WAV)',
          description:
            'Synthesises the wake word as spelled, as a "sounds like" spelling, or from espeak-ng phonemes (not ' +
            'both), offline. The answer is a 16-bit mono WAV; `X-Phonemes` carries the phonemes the job would train ' +
            'on and `X-Pronunciation-Source` which input they came from. Bad phonemes or spelling: 422.',
          body: PronunciationPreviewRequest,
          produces: ['audio/wav'],
        },
        preHandler: [
          verified,
          rateLimit(ctx, { bucket: 'pronunciation-preview', limit: 60, windowSeconds: 3600, key: 'user' }),
        ],
      },
      async (request, reply) => {
        const preview = await pronunciationPreview(request.body);
        reply
          .header('Content-Type', 'audio/wav')
          .header('Cache-Control', 'no-store')
          .header('X-Phonemes', preview.phonemes)
          .header('X-Pronunciation-Source', preview.source);
        return reply.send(Buffer.from(preview.wav));
      },
    );

    r.get(
      '/training/bank',
      {
        schema: {
          tags: TAGS,
          summary: "The negative bank's one-time build (the console's setup banner)",
          security: SECURITY,
          response: { 200: BankSetupStatus, ...errors(401, 403) },
        },
        preHandler: verified,
      },
      async () => {
        const s = bankStatus(ctx);
        return { state: s.state, done: s.done, total: s.total, eta_s: s.eta_s };
      },
    );

    r.get(
      '/training/status/:job_id',
      {
        schema: {
          tags: TAGS,
          summary: 'Status of one of your jobs (progress, stage, queue position, result)',
          security: SECURITY,
          params: JobIdParams,
          response: { 200: TrainingStatus, ...errors(401, 403, 404) },
        },
        preHandler: verified,
      },
      async (request) => {
        const job = await ownJob(ctx, authUser(request).id, request.params.job_id);
        return trainingStatus(ctx.db, job);
      },
    );

    r.get(
      '/training/stream/:job_id',
      {
        schema: {
          tags: TAGS,
          summary:
            'Progress as Server-Sent Events (bearer header, or ?token= from POST /api/auth/download-token)',
          security: DOWNLOAD_AUTH,
          params: JobIdParams,
          querystring: z.object({ token: z.string().optional() }),
          response: {
            200: z.string().describe('text/event-stream of `training` events'),
            ...errors(401, 403, 404),
          },
        },
      },
      async (request, reply) => {
        const jobId = request.params.job_id;
        const { userId } = await userForDownload(ctx, request, 'training_stream', jobId);
        const user = await userContact(ctx.db, userId);
        if (!user) throw new HttpError(401, 'Invalid or expired token');
        if (!user.emailVerified) throw new HttpError(403, VERIFY_REQUIRED);
        await ownJob(ctx, userId, jobId);
        await streamJob(ctx, request, reply, jobId);
      },
    );

    r.get(
      '/jobs',
      {
        schema: {
          tags: TAGS,
          summary: 'List your training jobs, newest first',
          security: SECURITY,
          querystring: ListQuery,
          response: { 200: JobResponse.array(), ...errors(401, 403) },
        },
        preHandler: verified,
      },
      async (request) => {
        const jobs = await listJobs(ctx, authUser(request).id, request.query.limit);
        return Promise.all(jobs.map((j) => jobResponse(ctx.db, j)));
      },
    );

    r.get(
      '/jobs/circuit-breaker/state',
      {
        schema: {
          tags: TAGS,
          summary: 'Your training circuit breaker (paused after repeated failures?)',
          security: SECURITY,
          response: { 200: BreakerState, ...errors(401, 403) },
        },
        preHandler: verified,
      },
      async (request) => breakerState(ctx, authUser(request).id),
    );

    r.post(
      '/jobs/resume',
      {
        schema: {
          tags: TAGS,
          summary: 'Resume your paused training queue',
          security: SECURITY,
          response: { 200: Message, ...errors(401, 403) },
        },
        preHandler: verified,
      },
      async (request) => {
        await resumeQueue(ctx, authUser(request).id);
        return { message: 'Training queue resumed' };
      },
    );

    r.get(
      '/jobs/:job_id',
      {
        schema: {
          tags: TAGS,
          summary: 'One of your training jobs',
          security: SECURITY,
          params: JobIdParams,
          response: { 200: JobResponse, ...errors(401, 403, 404) },
        },
        preHandler: verified,
      },
      async (request) => jobResponse(ctx.db, await ownJob(ctx, authUser(request).id, request.params.job_id)),
    );

    r.delete(
      '/jobs/:job_id',
      {
        schema: {
          tags: TAGS,
          summary: 'Cancel one of your queued or running jobs',
          security: SECURITY,
          params: JobIdParams,
          response: { 200: Message, ...errors(401, 403, 404, 409) },
        },
        preHandler: verified,
      },
      async (request) => {
        await cancelJob(ctx, authUser(request).id, request.params.job_id);
        return { message: 'Training job cancellation requested' };
      },
    );
  };
}
