/**
 * Recordings routes (docs/api.md §2.4) under `/api` (recordings/plugin.ts registers them): HTTP only (schemas in
 * `schemas.ts`, rules in `service.ts`).
 */
import multipart from '@fastify/multipart';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { authUser, requireVerified } from '../auth/guard.ts';
import type { AppContext } from '../core/context.ts';
import { HttpError } from '../core/http/errors.ts';
import { BEARER_AUTH } from '../core/http/openapi.ts';
import { rateLimit } from '../core/http/rate-limit.ts';
import { recordingInActiveJob } from '../training/service.ts';
import { AudioError } from './audio/errors.ts';
import { processRecording } from './audio/pipeline.ts';
import {
  Detail,
  Detail422,
  IdParams,
  ListQuery,
  RecordingOut,
  UPLOAD_BODY,
  UploadResponse,
} from './schemas.ts';
import {
  deleteRecording,
  listRecordings,
  normalizeWakeWordOr400,
  openRecordingAudio,
  recordingLanguage,
  saveRecording,
} from './service.ts';
import { checkTake, unusableTakeDetail } from './take-check.ts';
import { fileTooLarge, MAX_REQUEST_BYTES, receiveUpload } from './upload.ts';

const TAGS = ['recordings'];
const BEARER = BEARER_AUTH;

export function routes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    // Only this plugin's routes see these parsers: multipart for the upload; anything else is left unread so the
    // upload can answer the 422 of docs/api.md §4.5 instead of a content-type error.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    await app.register(multipart, { throwFileSizeLimit: true });

    const r = app.withTypeProvider<ZodTypeProvider>();
    const verified = requireVerified(ctx);

    r.post(
      '/recordings/upload',
      {
        config: { openapiBody: UPLOAD_BODY },
        preValidation: [
          verified,
          rateLimit(ctx, { bucket: 'upload', limit: 50, windowSeconds: 3600, key: 'user' }),
          async (request) => {
            const length = Number(request.headers['content-length'] ?? 0);
            if (Number.isFinite(length) && length > MAX_REQUEST_BYTES) {
              ctx.metrics.uploads.inc({ result: 'too_large' });
              throw fileTooLarge();
            }
          },
        ],
        schema: {
          tags: TAGS,
          summary: 'Upload a recording (multipart: file, wake_word, optional take and language)',
          description:
            'curl: `-F wake_word="hey nova" -F take=1 -F file=@take1.wav`. WAV (PCM 8/16/24/32-bit, float 32/64, ' +
            'extensible), WebM Opus or Ogg Opus, 0.5–5.0 s, at most 10 MiB. Stored as 16 kHz mono 16-bit WAV. The ' +
            'optional `take` field (1–100) is the number the user knows the take by; training notes name the take ' +
            'by it (else by its recording id). The optional `language` field (BCP-47, default `en`; GET ' +
            '/api/languages) is the language the word is said in: an unknown code, or a wake word with letters that ' +
            'language cannot speak, is a 422. A take the trainer could not use (no speech found, spoken part under ' +
            '0.2 s or over 2.5 s, not speech-like) is refused with 422 and its reason; the `X-Take-Rejection` ' +
            'header carries the reason code.',
          consumes: ['multipart/form-data'],
          security: BEARER,
          response: { 200: UploadResponse, 400: Detail, 409: Detail, 413: Detail, 422: Detail422 },
        },
      },
      async (request) => {
        const user = authUser(request);
        let result = 'rejected';
        try {
          const upload = await receiveUpload(request, ctx.config.tmpDir);
          const wakeWord = normalizeWakeWordOr400(upload.wakeWord);
          const language = recordingLanguage(upload.language, wakeWord);
          let processed: Awaited<ReturnType<typeof processRecording>>;
          try {
            processed = await processRecording(upload.file!);
          } catch (err) {
            if (err instanceof AudioError) throw new HttpError(400, err.message);
            throw err;
          }
          // the trainer's own checks (docs/training.md, "Takes the trainer cannot use"): refused here, not dropped later
          const take = await checkTake(processed.samples);
          if (!take.usable) {
            result = 'unusable';
            throw new HttpError(422, unusableTakeDetail(take), {
              'X-Take-Rejection': take.reason ?? 'unusable',
            });
          }
          const out = await saveRecording(ctx, user.id, wakeWord, processed, upload.take, language);
          result = 'ok';
          return out;
        } catch (err) {
          if (err instanceof HttpError && err.statusCode === 413) result = 'too_large';
          else if (!(err instanceof HttpError)) result = 'error';
          throw err;
        } finally {
          ctx.metrics.uploads.inc({ result });
        }
      },
    );

    r.get(
      '/recordings',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'List your recordings, newest first',
          querystring: ListQuery,
          security: BEARER,
          response: { 200: RecordingOut.array(), 400: Detail },
        },
      },
      async (request) => {
        const user = authUser(request);
        const q = request.query.wake_word;
        return listRecordings(ctx, user.id, q === undefined ? null : normalizeWakeWordOr400(q));
      },
    );

    r.get(
      '/recordings/:recording_id/audio',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'The stored 16 kHz mono WAV of one of your recordings',
          params: IdParams,
          security: BEARER,
          produces: ['audio/wav'],
        },
      },
      async (request, reply) => {
        const user = authUser(request);
        const { stream, size, filename } = await openRecordingAudio(
          ctx,
          user.id,
          request.params.recording_id,
        );
        reply
          .header('Content-Type', 'audio/wav')
          .header('Content-Disposition', `inline; filename="${filename}"`)
          .header('Cache-Control', 'no-store')
          .header('Content-Length', String(size));
        return reply.send(stream);
      },
    );

    r.delete(
      '/recordings/:recording_id',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Delete one of your recordings (object and row)',
          params: IdParams,
          security: BEARER,
        },
      },
      async (request, reply) => {
        const user = authUser(request);
        await deleteRecording(ctx, user.id, request.params.recording_id, recordingInActiveJob);
        return reply.status(204).send();
      },
    );
  };
}
