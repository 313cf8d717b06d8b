/**
 * The models domain's contract (zod): responses and parameters; the service's return types are inferred from them.
 */
import { z } from 'zod';

export const DOWNLOAD_FORMATS = ['onnx', 'tflite', 'json', 'zip'] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

const n = z.number().nullable();
export const ModelSummary = z.object({
  id: z.number(),
  wake_word: z.string(),
  language: z.string().describe('BCP-47 language the model was trained in (docs/languages.md)'),
  d_prime: n,
  created_at: z.string(),
  size_bytes: z.number(),
  team_id: n,
  shared: z.boolean(),
  owner_id: z.number(),
  quality_grade: z.string().nullable(),
  threshold: n,
  eer: n,
});
export type ModelSummary = z.infer<typeof ModelSummary>;

/**
 * The manifest as served (`violawake.model.v1`, docs/engine.md §4, plus `model_id`): the fields clients read are
 * typed, every other field passes through. Rows imported from the original console may have none of them.
 */
export const ManifestOut = z.looseObject({
  schema: z.string().nullish(),
  name: z.string().nullish(),
  wake_word: z.string().nullish(),
  language: z.string().nullish(),
  model_id: z.number(),
  threshold: z.number().nullish(),
  model_sha256: z.string().nullish(),
  tflite_sha256: z.string().nullish(),
  detection: z
    .looseObject({
      patience: z.number().nullish(),
      refractory_s: z.number().nullish(),
      vad_threshold: z.number().nullish(),
    })
    .nullish(),
  frontend: z.record(z.string(), z.unknown()).nullish(),
  metrics: z.record(z.string(), z.unknown()).nullish(),
  training: z.record(z.string(), z.unknown()).nullish(),
  evaluation: z.record(z.string(), z.unknown()).nullish(),
});
export type ManifestOut = z.infer<typeof ManifestOut>;

export const ModelConfig = z.object({
  d_prime: n,
  far_per_hour: n,
  frr: n,
  threshold: n,
  eer: n,
  auc: n,
  miss_rate_at_target: n,
  target_fa_per_hour: n,
  quality_grade: z.string().nullable(),
  /** The model's one name: download file stem, manifest `name`, openWakeWord key (docs/formats.md). */
  name: z.string(),
  /** Why the model has no TFLite file, when that is known. */
  tflite_error: z.string().nullable(),
  training_config: ManifestOut,
});
export type ModelConfig = z.infer<typeof ModelConfig>;

export const ModelPerformance = z.object({
  model_name: z.string(),
  cohen_d: n,
  d_prime: n,
  threshold: n,
  file_size: z.number(),
  created_at: z.string(),
  positive_scores: z.array(z.number()),
  negative_scores: z.array(z.number()),
  evaluation_available: z.boolean(),
  evaluation_data: z
    .object({
      eer: n,
      auc: n,
      far_per_hour: n,
      frr: n,
      miss_rate_at_target: n,
      target_fa_per_hour: n,
      quality_grade: z.string().nullable(),
      eval_positive_count: n,
      eval_negative_count: n,
      eval_negative_hours: n,
      /**
       * The FA/h the model states (docs/engine.md, "Honest metrics"): false accepts counted in the report audio, its
       * hours, the resolution (1 / hours) and the exact Poisson 95 % interval; null for models trained before it.
       */
      false_accepts: z
        .object({
          hours: z.number(),
          count: z.number(),
          fa_per_hour: z.number(),
          measured_fa_per_hour: z.number(),
          below_resolution: z.boolean(),
          ci95: z.tuple([z.number(), z.number()]),
          resolution_per_hour: z.number(),
          target_fa_per_hour: z.number(),
          target_resolved: z.boolean(),
          target_met_at_95: z.boolean(),
          target_exceeded_at_95: z.boolean(),
          statement: z.string(),
        })
        .nullable(),
      /** How the threshold was set: on held-out calibration audio, with a margin; null for older models. */
      calibration: z
        .object({
          source: z.string(),
          hours: z.number(),
          margin: z.number(),
          target_fa_per_hour: z.number(),
          false_accepts: z.number(),
          heldout_engine: z.string().nullable(),
        })
        .nullable(),
      /** What the grade was computed from; null for older models. */
      grade_basis: z
        .object({
          miss_rate: n,
          d_prime: n,
          table_grade: z.string(),
          lowered_for_false_accepts: z.boolean(),
          grade: z.string(),
        })
        .nullable(),
    })
    .nullable(),
});
export type ModelPerformance = z.infer<typeof ModelPerformance>;

export const ModelParams = z.object({ model_id: z.coerce.number().int().min(1) });
export const DownloadQuery = z.object({
  format: z
    .enum(DOWNLOAD_FORMATS, { error: `format must be one of ${DOWNLOAD_FORMATS.join(', ')}` })
    .default('onnx'),
  token: z.string().optional(),
});
export const FrontendParams = z.object({ file: z.string() });
