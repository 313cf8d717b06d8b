/**
 * The recordings domain's contract (zod): request parts, responses and the types the service returns.
 */
import { z } from 'zod';

/** The multipart body, documented only (@fastify/multipart parses it; see the `openapiBody` transform in app.ts). */
export const UPLOAD_BODY = {
  type: 'object',
  required: ['file', 'wake_word'],
  properties: {
    wake_word: {
      type: 'string',
      maxLength: 100,
      description: 'The wake word this take says, e.g. "hey nova"',
    },
    take: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      description:
        'Optional: the take number the user saw (the record page sends 1–10); training notes use it',
    },
    language: {
      type: 'string',
      maxLength: 35,
      description:
        'Optional: the language the take is said in (BCP-47, default en; GET /api/languages lists the codes)',
    },
    file: {
      type: 'string',
      format: 'binary',
      description: 'One take: WAV, WebM Opus or Ogg Opus, 0.5–5.0 s, at most 10 MiB',
    },
  },
};

export const Warning = z.object({ code: z.string(), message: z.string(), value: z.number() });
export const UploadResponse = z.object({
  recording_id: z.number().int(),
  filename: z.string(),
  wake_word: z.string(),
  language: z.string().describe('BCP-47 language of the take (docs/languages.md)'),
  duration_s: z.number(),
  take_number: z.number().int().nullable().describe('The `take` field as stored (null when not sent)'),
  warnings: z.array(Warning),
});
export type UploadResponse = z.infer<typeof UploadResponse>;

export const RecordingOut = z.object({
  id: z.number().int(),
  wake_word: z.string(),
  language: z.string(),
  filename: z.string(),
  duration_s: z.number(),
  take_number: z.number().int().nullable(),
  created_at: z.string(),
});
export type RecordingOut = z.infer<typeof RecordingOut>;

export const ListQuery = z.object({ wake_word: z.string().optional() });
export const Detail = z.object({ detail: z.string() });
/** 422: a list of field errors (form parts), or one sentence (a take the trainer could not use). */
export const Detail422 = z.object({
  detail: z.union([z.string(), z.array(z.record(z.string(), z.unknown()))]),
});
export const IdParams = z.object({
  recording_id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
