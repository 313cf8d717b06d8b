/**
 * The training domain's contract (zod): requests, responses and parameters; the service's types are inferred here.
 */
import { z } from 'zod';
import { JOB_ERROR_CODES, JOB_STAGES } from '../core/db/schema.ts';

/** How the word is said: a "sounds like" spelling or espeak-ng phonemes, not both. */
export const PronunciationInput = z
  .object({
    sounds_like: z.string().max(1000).optional(),
    phonemes: z.string().max(1000).optional(),
  })
  .strict();
export type PronunciationInput = z.infer<typeof PronunciationInput>;

export const TrainingRequest = z
  .object({
    wake_word: z.string().min(1).max(100),
    recording_ids: z.array(z.number().int().min(1)).max(100).default([]),
    epochs: z.number().int().min(5).max(500).default(80),
    /** Train from synthetic speech only (no recordings); the engine's --text-only path. */
    text_only: z.boolean().default(false),
    /**
     * How the word is said in the synthetic speech (docs/training.md, "Pronunciation"): a "sounds like" spelling or
     * espeak-ng phonemes, not both; omitted: as spelled.
     */
    pronunciation: PronunciationInput.optional(),
    /**
     * The wake word's language (BCP-47, docs/languages.md; GET /api/languages lists the codes). Omitted: the
     * recordings' language, or English for a text-only job.
     */
    language: z.string().max(35).optional(),
  })
  .describe('TrainingRequest');
export type TrainingRequest = z.infer<typeof TrainingRequest>;

export const PronunciationPreviewRequest = z
  .object({
    wake_word: z.string().min(1).max(100),
    sounds_like: z.string().max(1000).optional(),
    phonemes: z.string().max(1000).optional(),
    language: z
      .string()
      .max(35)
      .optional()
      .describe('BCP-47 language of the wake word (default en; GET /api/languages)'),
  })
  .strict()
  .describe('PronunciationPreviewRequest');

export const JobAccepted = z.object({ job_id: z.number(), status: z.literal('queued') });

const nullableNumber = z.number().nullable();
const nullableString = z.string().nullable();
const Stage = z.enum(JOB_STAGES);
const ErrorCode = z.enum(JOB_ERROR_CODES).nullable();

export const TrainingStatus = z.object({
  job_id: z.number(),
  status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
  progress: z.number(),
  d_prime: nullableNumber,
  model_id: nullableNumber,
  error: nullableString,
  stage: Stage,
  message: nullableString,
  epoch: nullableNumber,
  total_epochs: nullableNumber,
  queue_position: nullableNumber,
  quality_grade: nullableString,
  error_code: ErrorCode,
  train_loss: nullableNumber,
  val_loss: nullableNumber,
});
export type TrainingStatus = z.infer<typeof TrainingStatus>;

export const JobResponse = z.object({
  job_id: z.number(),
  user_id: z.number(),
  wake_word: z.string(),
  status: z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']),
  created_at: z.string(),
  started_at: nullableString,
  completed_at: nullableString,
  error: nullableString,
  progress_pct: z.number(),
  d_prime: nullableNumber,
  model_id: nullableNumber,
  stage: Stage,
  error_code: ErrorCode,
  quality_grade: nullableString,
  queue_position: nullableNumber,
  epochs: z.number(),
  attempts: z.number(),
  cancel_requested: z.boolean(),
  text_only: z.boolean(),
  language: z.string().describe('BCP-47 language the job trains in'),
});
export type JobResponse = z.infer<typeof JobResponse>;

export const BreakerState = z.object({
  consecutive_failures: z.number(),
  paused: z.boolean(),
  next_attempt_at: nullableString,
  last_failure_at: nullableString,
  pause_reason: nullableString,
});
export type BreakerState = z.infer<typeof BreakerState>;

export const Message = z.object({ message: z.string() });
export const JobIdParams = z.object({ job_id: z.coerce.number().int().min(1) });
export const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });

/** The negative bank's one-time build (GET /api/training/bank): what the console's setup banner shows. */
export const BankSetupStatus = z.object({
  state: z
    .enum(['idle', 'disabled', 'building', 'ready', 'failed'])
    .describe('building: the one-time build runs; ready: jobs start at full speed'),
  done: z.number().int().nullable().describe('blocks built (building)'),
  total: z.number().int().nullable().describe('blocks in all (building)'),
  eta_s: z.number().nullable().describe('seconds left at the pace so far (null while unknown)'),
});
export type BankSetupStatus = z.infer<typeof BankSetupStatus>;
