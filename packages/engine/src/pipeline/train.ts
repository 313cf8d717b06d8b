/**
 * The training pipeline (docs/engine.md §1, §6–§9): ONE library function from a job description to artifacts plus
 * metrics, or a typed EngineError. The server worker and the CLI both call `trainWakeWord`.
 *
 * Stages and progress ranges follow docs/api.md §4.9: preparing 0–5, synthesizing 5–30, extracting 30–45,
 * training 45–90, evaluating 90–98, exporting 98–100.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { normalizeWakeWord } from '@violawake/detector';
import {
  buildManifest,
  type HeadArchitecture,
  type Manifest,
  type ManifestEvaluation,
} from '../artifacts/manifest.ts';
import { findInconsistentClips } from '../audio/consistency.ts';
import { copyGroups } from '../audio/duplicates.ts';
import { noiseFloor } from '../audio/floor.ts';
import { Rand } from '../audio/random.ts';
import { TAKE_REJECTION_MESSAGES, TakeChecker } from '../audio/take.ts';
import type { TrimResult } from '../audio/trim.ts';
import { readWavFile16k } from '../audio/wav.ts';
import { augment } from '../augment/index.ts';
import { ensureBank } from '../bank/build.ts';
import { ensureCorpusBank, type LoadedCorpus } from '../bank/corpus.ts';
import {
  DEFAULT_HELDOUT_ENGINE,
  ensureHeldoutBank,
  installedRealAudio,
  type LoadedHeldout,
  nameMaySay,
  type RealAudioDirs,
} from '../bank/heldout.ts';
import { setupMessage } from '../bank/progress.ts';
import {
  type BankSegment,
  EMB_DIM,
  FIRST_STEP,
  type LoadedBank,
  STEP_SECONDS,
  segmentWindowCount,
  WINDOW,
} from '../bank/store.ts';
import {
  cancelledError,
  diagnoseQuality,
  EngineError,
  insufficientDataError,
  type QualityCause,
  type QualityDiagnostics,
  qualityGateError,
  toEngineError,
} from '../eval/errors.ts';
import { DEFAULT_LANGUAGE, normalizeLanguage, unspeakableCharacters } from '../lang/languages.ts';
import { confusables as findConfusables } from '../negatives/confusables.ts';
import { cutShort, OPENING_CUTS } from '../negatives/cut.ts';
import { normalizePhonemes } from '../negatives/phonemes.ts';
import { userVoiceNegatives } from '../negatives/user-voice.ts';
import { exportHeadOnnx, headArchitecture } from '../onnx/index.ts';
import { deriveRng } from '../rng.ts';
import {
  assertSynthesisCounts,
  discoverProviders,
  disposeProviders,
  listVoices,
  phraseVariants,
  randomProsody,
  SynthesisError,
  splitVoices,
  synthesizeMany,
} from '../synth/index.ts';
import { type Pronunciation, trainedPronunciation, validatePronunciation } from '../synth/pronunciation.ts';
import { trimSilence } from '../synth/split.ts';
import type { SpeechProvider, SynthRequest, Voice } from '../synth/types.ts';
import { exportHeadTflite } from '../tflite/writer.ts';
import { trainHead } from '../train/index.ts';
import {
  POOL_BANK_NEGATIVE,
  POOL_POSITIVE,
  POOL_WORD_NEGATIVE,
  SOURCE_KINDS,
  type SourceKind,
  type TrainedHead,
} from '../train/types.ts';
import { ENGINE_VERSION } from '../version.ts';
import { CANVAS_ROWS, fitLength, MAX_UTTERANCE_SAMPLES, PAD_BEFORE, padForScoring, STEP } from './canvas.ts';
import {
  type CandidateEvaluation,
  chooseEvaluated,
  evaluateScores,
  type ScoreEvaluation,
  segmentMaxima,
} from './evaluate.ts';
import { ExtractPool } from './extract.ts';
import { loadHeadRunner } from './heads.ts';
import {
  clipScore,
  type EngineRuntime,
  fireSteps,
  openRuntime,
  scoreAllSteps,
  withWarmPrefix,
} from './runtime.ts';
import { assignVoices } from './voices.ts';

export type Stage = 'preparing' | 'synthesizing' | 'extracting' | 'training' | 'evaluating' | 'exporting';

export interface Progress {
  stage: Stage;
  progress: number;
  message: string;
  epoch?: number;
  total_epochs?: number;
  train_loss?: number;
  val_loss?: number;
}

export const STAGE_RANGES: Record<Stage, [number, number]> = {
  preparing: [0, 5],
  synthesizing: [5, 30],
  extracting: [30, 45],
  training: [45, 90],
  evaluating: [90, 98],
  exporting: [98, 100],
};

export interface TrainJob {
  wakeWord: string;
  /** WAV paths of the user's recordings. */
  clips?: string[];
  /**
   * What the user calls each clip in `clips` (e.g. "take 3", the number the record page showed); training notes and
   * errors name clips by these. Default: the file names.
   */
  clipLabels?: string[];
  textOnly?: boolean;
  /**
   * Language of the wake word (BCP-47, default `en`; docs/languages.md): the synthetic voices, the negative bank's
   * sentences and the confusables are that language's. English trains exactly as before languages existed.
   */
  language?: string;
  /**
   * How the word is said (docs/engine.md, "Pronunciation"): a "sounds like" respelling or Kirshenbaum phonemes the
   * synthetic positives and the confusables are made from; recorded in the manifest's `training.pronunciation`.
   */
  pronunciation?: Pronunciation;
  /** Data directory: the bank lives in `<dataDir>/engine/bank/`, the synthesis cache in `<dataDir>/engine/synth-cache/`. */
  dataDir: string;
  seed?: number;
  targetFaPerHour?: number;
  arch?: 'auto' | 'mlp' | 'tcn';
  /** Optional curated negatives corpus folder of WAV files (paid tiers, §6.6; bank/corpus.ts). */
  corpusDir?: string;
  /** Voice ids training and evaluation must not use (benchmark reservations). */
  excludeVoices?: string[];
  /**
   * Folders of real recordings for the held-out bank (bank/heldout.ts): half of the files train, the others are
   * calibration and report audio. Default: the asterisk speech and music folders when installed; `false`: none.
   */
  realAudio?: RealAudioDirs | false;
  /**
   * Synthesis engine (provider id) held out of training: its voices speak calibration and report audio and
   * held-out positives only. Default `festival` when installed; null: none (docs/engine.md, "Honest metrics").
   */
  heldoutEngine?: string | null;
  /** The threshold keeps FA/h on the calibration audio ≤ target / margin (default CALIBRATION_MARGIN). */
  calibrationMargin?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Negative bank size (1 = default ≈ 1.5 h + 3 h; CI uses ≈ 0.02). */
  bankScale?: number;
  /** Model name (file stem) written into the manifest (default `model`). */
  name?: string;
  /** Scale of the synthetic data volumes (1 = docs/engine.md §6.1 counts); the CI test uses less. */
  synthScale?: number;
  /**
   * How the training audio's voices are drawn: uniformly over the train voices (default), or by provider with weights
   * growing as the square root of their voice counts (`sqrt`; measured, not the default: docs/engine.md). Held-out
   * audio is always uniform.
   */
  voiceBalance?: 'uniform' | 'sqrt';
  /** Upper bound on training epochs (the trainer's budget may lower it). */
  maxEpochs?: number;
  /**
   * Which recordings the evaluation holds out: by default max(1, round(n/5)) chosen by seed (§8.1); `{ fold, folds }`
   * holds out fold `fold` of `folds` (the seed's order cut into near-equal parts; `folds.ts`); `none` trains on all.
   */
  userHoldout?: { fold: number; folds: number } | 'none';
  /** Synthesis cache of the job's word-specific audio (default `<dataDir>/engine/synth-cache`). */
  synthCacheDir?: string;
  /** Feature-extraction worker threads (default: one per core, at most 4; ≤ 1 runs on the calling thread). */
  extractWorkers?: number;
  /** Clock for `created_at` (tests). */
  now?: () => Date;
  /**
   * When the model fails its quality gate for a reason another training draw can change (`inseparable`,
   * `confusable`), train the heads once more on the same data with `secondDrawSeed(seed)` (default true;
   * docs/engine.md).
   */
  secondDraw?: boolean;
}

export interface TrainMetrics {
  d_prime: number;
  eer: number;
  auc: number;
  miss_rate_at_target: number;
  target_fa_per_hour: number;
  fa_per_hour_at_threshold: number;
  quality_grade: 'A' | 'B' | 'C' | 'D' | 'F';
  threshold: number;
}

export interface TrainResult {
  onnx: Uint8Array;
  /** The same head as TFLite (docs/formats.md), or null when that export failed (`tfliteError` says why). */
  tflite: Uint8Array | null;
  tfliteError?: string;
  manifest: Manifest;
  metrics: TrainMetrics;
  evaluation: ManifestEvaluation & {
    detail: ScoreEvaluation;
    timings: Record<string, number>;
    /** Every trained candidate's held-out evaluation; the kept one is marked. */
    candidates: {
      arch: string;
      miss_rate: number | null;
      d_prime: number | null;
      threshold: number;
      kept: boolean;
    }[];
  };
  scores: { positive: number[]; negative: number[] };
}

const SR = 16000;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Item {
  audio: Float32Array;
  kind: SourceKind;
  pool: number;
  label: 0 | 1;
  group: number;
  id: number;
  /** the user's own recording (or a negative made from it): wider speed and pitch changes */
  userVoice?: boolean;
}

/** Progress reporter that keeps progress monotonic within the attempt. */
function reporter(cb: TrainJob['onProgress']) {
  let last = 0;
  return (stage: Stage, frac: number, message: string, extra: Partial<Progress> = {}) => {
    const [a, b] = STAGE_RANGES[stage];
    const p = Math.max(last, Math.min(b, a + (b - a) * Math.max(0, Math.min(1, frac))));
    last = p;
    cb?.({ stage, progress: Math.round(p * 100) / 100, message, ...extra });
  };
}

const median = (a: number[]) => {
  if (a.length === 0) return null;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/**
 * The jobs' loss: focal (γ = 2), which the first design offers beside its default weighted BCE; over five training seeds it
 * lowered the benchmark's mean miss rate for three words of five and left the other two within a clip or two
 * (docs/engine.md, "Focal loss for the jobs").
 */
export const JOB_LOSS = 'focal' as const;

/**
 * The threshold is set so that the calibration audio — half of every held-out negative source: unseen voices, the
 * held-out engine, real speech and music — shows at most target / CALIBRATION_MARGIN false accepts per hour; the
 * margin stands for the gap between that audio and a real room (docs/engine.md, "Honest metrics").
 */
export const CALIBRATION_MARGIN = 2;

/** A clip is inconsistent when its median DTW distance exceeds this × the overall median (first design: 2; docs/engine.md part two). */
export const CONSISTENCY_FACTOR = 1.75;

/**
 * Indices of the trimmed clips that differ clearly from the others (§6.2 step 4: DTW between their embedding
 * sequences, from the clip start after the scoring pad). Reported in the warnings and the quality-gate diagnostics;
 * the clips still train (docs/engine.md).
 */
export async function inconsistentClips(
  rt: EngineRuntime,
  clips: Float32Array[],
  seed: number,
): Promise<number[]> {
  const first = Math.floor(PAD_BEFORE / STEP);
  const sequences = [];
  for (const [i, clip] of clips.entries()) {
    const emb = await rt.embed(padForScoring(clip, deriveRng(seed, 'consistency-pad', i)));
    // the steps that contain the clip: e_26 … the first step ending after it
    const last = Math.min(emb.length / EMB_DIM, Math.ceil((PAD_BEFORE + clip.length) / STEP) + 1);
    sequences.push({ data: emb.slice(first * EMB_DIM, last * EMB_DIM), steps: last - first, dim: EMB_DIM });
  }
  return findInconsistentClips(sequences, CONSISTENCY_FACTOR).flagged;
}

/** Fold `fold` (0-based) of `folds` near-equal contiguous parts of `order` (sizes differ by at most one). */
export function foldOf<T>(order: readonly T[], fold: number, folds: number): T[] {
  if (!Number.isInteger(folds) || folds < 2 || !Number.isInteger(fold) || fold < 0 || fold >= folds)
    throw new RangeError(`fold ${fold} of ${folds}`);
  return order.slice(
    Math.round((fold * order.length) / folds),
    Math.round(((fold + 1) * order.length) / folds),
  );
}

/** Quality-gate causes that another draw of the training data and weights can change; the others are the data's. */
const SECOND_DRAW_CAUSES: readonly QualityCause[] = ['inseparable', 'confusable'];

/** The job's training seed (default 1), as an unsigned 32-bit integer. */
function jobSeed(job: TrainJob): number {
  return (job.seed ?? 1) >>> 0;
}

/** Seed of the second training draw after a failed quality gate. */
export function secondDrawSeed(seed: number): number {
  return (seed + 0x9e3779b9) >>> 0;
}

/** A round whose kept model failed the quality gate: the diagnosis and the share of held-out positives missed. */
export interface GateFailure {
  diagnostics: QualityDiagnostics;
  missed: number | null;
}

/**
 * The second draw after a failed quality gate (docs/engine.md): runs `round` with the job's seed and, when its result
 * fails the gate for a cause in SECOND_DRAW_CAUSES, once more with `secondDrawSeed` (unless the job is cancelled or
 * `secondDraw` is false). A round trains the heads again on the same data — the seed changes the trainer's draws:
 * initial weights, batches, mining order. The last round is the job's, with its gate failure (null when it passes)
 * and, after a second round, the note its model carries among its warnings.
 */
export async function withSecondDraw<R>(
  job: Pick<TrainJob, 'secondDraw' | 'signal'>,
  seed: number,
  round: (seed: number, second: boolean) => Promise<R>,
  gate: (result: R) => GateFailure | null,
): Promise<{ result: R; failure: GateFailure | null; note: string | null }> {
  const result = await round(seed, false);
  const failure = gate(result);
  if (
    !failure ||
    job.secondDraw === false ||
    job.signal?.aborted ||
    !SECOND_DRAW_CAUSES.includes(diagnoseQuality(failure.diagnostics))
  )
    return { result, failure, note: null };
  const next = secondDrawSeed(seed);
  const second = await round(next, true);
  return {
    result: second,
    failure: gate(second),
    note: `The first training draw (seed ${seed}) did not pass the quality check${typeof failure.missed === 'number' ? ` (${(failure.missed * 100).toFixed(1)} % of held-out positives missed)` : ''}; this model's heads are from a second draw (trainer seed ${next}) on the same data.`,
  };
}

/** The "sounds like" text of a pronunciation, when given (what the voices then read instead of the wake word). */
function pronunciationText(p: Pronunciation | undefined): string | undefined {
  return p?.soundsLike?.normalize('NFC').trim() || undefined;
}

/** Trains, evaluates and exports a wake-word head. Rejects with an EngineError. */
export async function trainWakeWord(job: TrainJob): Promise<TrainResult> {
  // the extraction workers start now and load their front ends while the job prepares
  const pool = new ExtractPool(job.extractWorkers);
  const stopPool = () => void pool.close();
  job.signal?.addEventListener('abort', stopPool);
  try {
    return await runPipeline(job, pool);
  } catch (err) {
    if (job.signal?.aborted) throw cancelledError();
    if (err instanceof SynthesisError)
      throw new EngineError('synthesis_unavailable', err.message, err.counts);
    if ((err as Error)?.name === 'FrontendMismatchError') {
      throw new EngineError('frontend_mismatch', (err as Error).message);
    }
    throw toEngineError(err);
  } finally {
    job.signal?.removeEventListener('abort', stopPool);
    await pool.close();
  }
}

async function runPipeline(job: TrainJob, pool: ExtractPool): Promise<TrainResult> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  let tStage = t0;
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round((timings[name] ?? 0) * 1000 + now - tStage) / 1000;
    tStage = now;
  };
  const seed = jobSeed(job);
  const target = job.targetFaPerHour ?? 0.5;
  const report = reporter(job.onProgress);
  const check = () => {
    if (job.signal?.aborted) throw cancelledError();
  };
  const synthScale = job.synthScale ?? 1;
  const textOnly = job.textOnly === true || (job.clips ?? []).length === 0;

  // ---------------------------------------------------------------- preparing
  report('preparing', 0, 'Preparing training data...');
  check();
  const wakeWord = normalizeWakeWord(job.wakeWord);
  const language = normalizeLanguage(job.language);
  // the other languages' code paths take the code; English keeps its own (undefined)
  const lang = language === DEFAULT_LANGUAGE ? undefined : language;
  const unspeakable = unspeakableCharacters(pronunciationText(job.pronunciation) ?? wakeWord, language);
  if (unspeakable.length > 0)
    throw new EngineError(
      'synthesis_unavailable',
      `The wake word contains characters that the ${language} voices cannot speak: ${unspeakable.join(' ')}`,
      { language, characters: unspeakable },
    );
  const rt = await openRuntime();
  // the same checks the upload ran (audio/take.ts): a take the upload accepted is used here
  const checker = await TakeChecker.open(rt.ort);
  const clipPaths = job.clips ?? [];
  const labelOf = (path: string) => {
    const i = clipPaths.indexOf(path);
    return job.clipLabels?.[i] ?? path.split('/').pop() ?? path;
  };
  const trims: { path: string; res: TrimResult }[] = [];
  for (const path of clipPaths) {
    check();
    let x: Float32Array;
    try {
      x = await readWavFile16k(path);
    } catch (err) {
      trims.push({
        path,
        res: {
          ok: false,
          reason: 'empty',
          diagnostics: {
            durationSec: 0,
            noiseFloorDbfs: -120,
            speechDbfs: -120,
            snrDb: 0,
            speechSec: 0,
            clippedFraction: 0,
            clipping: false,
            lowSnr: false,
            runs: 0,
          },
        },
      });
      void err;
      continue;
    }
    trims.push({ path, res: (await checker.check(x)).trim });
  }
  await checker.dispose();
  const readable = trims.filter((t) => t.res.ok) as {
    path: string;
    res: Extract<TrimResult, { ok: true }>;
  }[];
  // a recording given twice is one take (docs/engine.md, "Copies of one recording"): used once, so that a copy of a
  // training recording is never held out to grade the model
  const copyOf = copyGroups(readable.map((u) => u.res.samples));
  const usable = readable.filter((_, i) => copyOf[i] === i);
  const repeated = readable.filter((_, i) => copyOf[i] !== i);
  const silentClips = trims.filter(
    (t) => !t.res.ok && ['empty', 'no_speech', 'vad_rejected'].includes(t.res.reason),
  ).length;
  if (!textOnly && usable.length < 5)
    throw insufficientDataError(
      usable.length,
      repeated.length,
      trims
        .filter((t) => !t.res.ok)
        .map((t) => {
          const reason = (t.res as { reason: keyof typeof TAKE_REJECTION_MESSAGES }).reason;
          return `${labelOf(t.path)}: ${TAKE_REJECTION_MESSAGES[reason]}`;
        }),
    );
  report('preparing', 0.2, `Loaded ${usable.length} recordings.`);
  const inconsistent = await inconsistentClips(
    rt,
    usable.map((u) => u.res.samples),
    seed,
  );
  // hold out max(1, round(n/5)) user clips by seed, or one fold of that order, or none
  const order = usable.map((_, i) => i);
  new Rand(deriveRng(seed, 'holdout', 0)).shuffle(order);
  const holdout = job.userHoldout;
  const heldOut = new Set(
    textOnly || holdout === 'none'
      ? []
      : holdout
        ? foldOf(order, holdout.fold, holdout.folds)
        : order.slice(0, Math.max(1, Math.round(usable.length / 5))),
  );
  const userTrain = usable.filter((_, i) => !heldOut.has(i)).map((u) => u.res.samples);
  const userHeld = usable.filter((_, i) => heldOut.has(i)).map((u) => u.res.samples);

  const pron = validatePronunciation(job.pronunciation, language);
  const trainedPron = await trainedPronunciation(wakeWord, pron, lang);
  const conf = await findConfusables(pron.soundsLike ?? wakeWord, {
    cacheDir: join(job.dataDir, 'engine', 'lexicon'),
    ...(lang ? { language: lang } : {}),
    ...(pron.phonemes ? { wakePhonemes: pron.phonemes } : {}),
  });
  const wakePhon = normalizePhonemes(conf.wakePhonemes);
  report('preparing', 0.4, 'Checking the negative bank...');
  const bankT0 = performance.now();
  let bankBuilt = false;
  const corpusWarnings: string[] = [];
  // the held-out engine: never trained on, its voices speak calibration and report audio (docs/engine.md)
  const engineId = job.heldoutEngine === undefined ? DEFAULT_HELDOUT_ENGINE : job.heldoutEngine;
  const prepProviders = await discoverProviders();
  let engineVoiceIds: string[] = [];
  let heldout: LoadedHeldout | null = null;
  let bank: LoadedBank;
  try {
    const jobExclude = new Set(job.excludeVoices ?? []);
    const engineProvider = engineId ? prepProviders.find((p) => p.id === engineId) : undefined;
    const engineVoices = engineProvider
      ? (await engineProvider.voices()).filter((v) => !jobExclude.has(v.id))
      : [];
    engineVoiceIds = engineVoices.map((v) => v.id);
    bank = await ensureBank({
      pool,
      dataDir: job.dataDir,
      scale: job.bankScale ?? 1,
      excludeVoices: job.excludeVoices,
      heldoutEngine: engineId,
      providers: prepProviders,
      signal: job.signal,
      ...(lang ? { language: lang } : {}),
      onProgress: (m, f) => {
        bankBuilt = true;
        report('preparing', 0.4 + 0.4 * f, m);
      },
      // the one-time build (this job's or another process's, e.g. the server's background build): blocks and time left
      onBuild: (p) => {
        bankBuilt = true;
        report('preparing', 0.4 + 0.4 * p.fraction, setupMessage(p));
      },
    });
    const realAudio =
      job.realAudio === false ? { speech: [], music: [] } : (job.realAudio ?? (await installedRealAudio()));
    if (engineVoices.length > 0 || realAudio.speech.length + realAudio.music.length > 0) {
      try {
        heldout = await ensureHeldoutBank({
          dataDir: job.dataDir,
          scale: job.bankScale ?? 1,
          realAudio,
          engine:
            engineProvider && engineVoices.length > 0
              ? { provider: engineProvider, voices: engineVoices }
              : null,
          providers: prepProviders,
          pool,
          signal: job.signal,
          onProgress: (m, f) => {
            bankBuilt = true;
            report('preparing', 0.8 + 0.15 * f, m);
          },
        });
      } catch (err) {
        check();
        void err;
        corpusWarnings.push(
          'The held-out recordings could not be read; this model was calibrated on synthetic audio only.',
        );
      }
    }
  } finally {
    disposeProviders(prepProviders);
  }
  let corpus: LoadedCorpus | null = null;
  if (job.corpusDir) {
    try {
      corpus = await ensureCorpusBank({
        dataDir: job.dataDir,
        corpusDir: job.corpusDir,
        signal: job.signal,
        pool,
        onProgress: (m, f) => {
          bankBuilt = true;
          report('preparing', 0.95 + 0.05 * f, m);
        },
      });
      if (corpus.files.skipped > 0)
        corpusWarnings.push(
          `${corpus.files.skipped} ${corpus.files.skipped === 1 ? 'file' : 'files'} of the negatives corpus could not be read.`,
        );
    } catch {
      check();
      // the folder is the operator's; its path and the error stay out of the user's model
      corpusWarnings.push('The curated negatives corpus could not be read; this model trained without it.');
    }
  }
  const bankSeconds = bankBuilt ? (performance.now() - bankT0) / 1000 : 0;
  lap('preparing');
  const jobStart = performance.now() - (bankBuilt ? bankSeconds * 1000 : 0);

  // ---------------------------------------------------------------- synthesizing
  report('synthesizing', 0, 'Generating synthetic speech...');
  let providers: SpeechProvider[] = [];
  try {
    providers = await discoverProviders();
    const exclude = new Set(job.excludeVoices ?? []);
    const engineSet = new Set(engineVoiceIds);
    const voices = (await listVoices(providers, lang)).filter((v) => !exclude.has(v.id));
    const split = splitVoices(
      voices.filter((v) => !engineSet.has(v.id)),
      bank.index.installation_seed,
    );
    const trainVoices = split.train;
    // the held-out engine's voices only ever speak held-out audio
    const evalVoices = [...split.eval, ...voices.filter((v) => engineSet.has(v.id))];
    const phonemeVoices = (vs: Voice[]) => {
      const ok = new Set(providers.filter((p) => p.acceptsPhonemes).map((p) => p.id));
      return vs.filter((v) => ok.has(v.provider));
    };
    // positives say the word as the user asked: the respelling's text, or the phonemes (phoneme-capable voices only)
    const variants = phraseVariants(pron.soundsLike ?? (job.wakeWord.trim() || wakeWord));
    const posVoices = (vs: Voice[]) => (pron.phonemes ? phonemeVoices(vs) : vs);
    const posText = (i: number) =>
      pron.phonemes ? { phonemes: pron.phonemes } : { text: variants[i % variants.length] };
    const nPos = Math.max(20, Math.round((textOnly ? 600 : 300) * synthScale));
    const nEvalPos = Math.max(10, Math.round(120 * synthScale));
    const reqs: SynthRequest[] = [];
    const kinds: { kind: SourceKind | 'eval-pos' | 'eval-neg'; group: number }[] = [];
    const addReqs = (
      texts: { text?: string; phonemes?: string; group: number }[],
      vs: Voice[],
      kind: (typeof kinds)[number]['kind'],
      purpose: string,
    ) => {
      const held = kind === 'eval-pos' || kind === 'eval-neg';
      const chosen = assignVoices(vs, providers, texts.length, deriveRng(seed, purpose, 0), {
        balance: held ? 'uniform' : (job.voiceBalance ?? 'uniform'),
      });
      texts.forEach((t, i) => {
        const pr = randomProsody(deriveRng(seed, `${purpose}-prosody`, i));
        reqs.push({
          ...(t.phonemes ? { phonemes: t.phonemes } : { text: t.text }),
          voice: (chosen[i] as Voice).id,
          rate: pr.rate,
          pitch: pr.pitch,
        });
        kinds.push({ kind, group: t.group });
      });
    };
    let group = 1_000_000;
    // positives: phrase variants in train voices, one group per utterance
    addReqs(
      Array.from({ length: nPos }, (_, i) => ({ ...posText(i), group: group++ })),
      posVoices(trainVoices),
      'synthetic',
      'syn-pos',
    );
    // word-specific negatives: every candidate in ≈ 6 train voices, one group per candidate
    const perCand = Math.max(2, Math.round(6 * Math.min(1, synthScale * 1.5)));
    const negTexts: { text?: string; phonemes?: string; group: number; kind: SourceKind }[] = [];
    const nNonce = Math.max(8, Math.round(40 * synthScale));
    const nReal = Math.max(5, Math.round(20 * synthScale));
    for (const p of conf.nonce.slice(0, nNonce))
      negTexts.push({ phonemes: p, group: group++, kind: 'confusable' });
    for (const t of conf.realWords.slice(0, nReal))
      negTexts.push({ text: t, group: group++, kind: 'confusable' });
    conf.partials.forEach((p, i) => {
      const text = conf.partialTexts[i];
      negTexts.push({ ...(text ? { text } : { phonemes: p }), group: group++, kind: 'partial' });
    });
    const cutGroups = new Set<number>();
    for (const t of conf.prefixPhrases) {
      if (conf.cutPrefixPhrases.includes(t)) cutGroups.add(group);
      negTexts.push({ text: t, group: group++, kind: 'partial' });
    }
    const trainPhonVoices = phonemeVoices(trainVoices);
    for (const kind of ['confusable', 'partial'] as const) {
      const items = negTexts.filter((n) => n.kind === kind);
      const withText = items.filter((n) => n.text).flatMap((n) => Array.from({ length: perCand }, () => n));
      const withPh = items.filter((n) => !n.text).flatMap((n) => Array.from({ length: perCand }, () => n));
      addReqs(withText, trainVoices, kind, `syn-${kind}-text`);
      if (trainPhonVoices.length > 0) addReqs(withPh, trainPhonVoices, kind, `syn-${kind}-ph`);
    }
    // held-out evaluation: positives and word-specific negatives in eval voices
    addReqs(
      Array.from({ length: nEvalPos }, (_, i) => ({ ...posText(i), group: -1 })),
      posVoices(evalVoices),
      'eval-pos',
      'eval-pos',
    );
    const evalNegCands = negTexts.filter((n) => n.text).slice(0, Math.max(10, Math.round(100 * synthScale)));
    addReqs(
      Array.from({ length: Math.max(10, Math.round(100 * synthScale)) }, (_, i) => ({
        text: (evalNegCands[i % evalNegCands.length] as { text: string }).text,
        group: -1,
      })),
      evalVoices,
      'eval-neg',
      'eval-neg',
    );
    const audio = await synthesizeMany(providers, reqs, {
      cacheDir: job.synthCacheDir ?? join(job.dataDir, 'engine', 'synth-cache'),
      signal: job.signal,
      onProgress: (d, t) => report('synthesizing', d / t, `Generating synthetic speech (${d}/${t})...`),
    });
    check();
    const posIdx = kinds.map((k, i) => (k.kind === 'synthetic' ? i : -1)).filter((i) => i >= 0);
    assertSynthesisCounts(
      posIdx.map((i) => reqs[i] as SynthRequest),
      posIdx.map((i) => audio[i] ?? null),
      { minUtterances: Math.min(100, Math.round(nPos / 3)), minVoices: 3 },
    );
    const trimmed = audio.map((a) => (a ? trimSilence(a) : null));
    lap('synthesizing');

    // ---------------------------------------------------------------- extracting
    report('extracting', 0, 'Extracting features...');
    const items: Item[] = [];
    let id = 0;
    const copies =
      userTrain.length > 0 ? Math.max(2, Math.ceil((160 * Math.min(1, synthScale)) / userTrain.length)) : 0;
    userTrain.forEach((clip, ci) => {
      for (let c = 0; c < copies; c++)
        items.push({
          audio: clip,
          kind: 'user',
          pool: POOL_POSITIVE,
          label: 1,
          group: ci,
          id: id++,
          userVoice: true,
        });
      // the same voice, microphone and room, not the wake word (in the clip's split group): as many canvases in all
      // as the clip has positive copies
      const negatives = userVoiceNegatives(clip);
      const negCopies = Math.max(1, Math.round(copies / negatives.length));
      for (const neg of negatives)
        for (let c = 0; c < negCopies; c++)
          items.push({
            audio: neg,
            kind: 'partial',
            pool: POOL_WORD_NEGATIVE,
            label: 0,
            group: ci,
            id: id++,
            userVoice: true,
          });
    });
    let nSynthPos = 0;
    let longSynth = 0;
    const synthDur: number[] = [];
    trimmed.forEach((a, i) => {
      const k = kinds[i] as (typeof kinds)[number];
      if (!a || k.kind === 'eval-pos' || k.kind === 'eval-neg') return;
      if (k.kind === 'synthetic') synthDur.push(a.length / SR);
      if (a.length > MAX_UTTERANCE_SAMPLES) {
        if (k.kind === 'synthetic') longSynth++;
        return; // synthetic utterances that do not fit are dropped (§6.8)
      }
      const isPos = k.kind === 'synthetic';
      if (isPos) nSynthPos++;
      if (cutGroups.has(k.group))
        for (const [c, keep] of OPENING_CUTS.entries())
          items.push({
            // one random stream per cut
            audio: cutShort(a, deriveRng(seed, 'opening-cut', c * 1_000_000 + i), keep),
            kind: 'partial',
            pool: POOL_WORD_NEGATIVE,
            label: 0,
            group: k.group,
            id: id++,
          });
      items.push({
        audio: a,
        kind: k.kind as SourceKind,
        pool: isPos ? POOL_POSITIVE : POOL_WORD_NEGATIVE,
        label: isPos ? 1 : 0,
        group: k.group,
        id: id++,
      });
    });
    // canvases → embeddings e_10 … e_28 (19 rows each), spread over the extraction workers
    const canvasRows = new Float32Array(items.length * CANVAS_ROWS * EMB_DIM);
    const itemWindows: number[][] = new Array(items.length);
    let extracted = 0;
    const canvasesDone = Promise.all(
      items.map(async (it, n) => {
        const f = await pool.canvas({
          audio: it.audio,
          id: it.id,
          label: it.label,
          seed,
          ...(it.userVoice ? { userVoice: true } : {}),
        });
        canvasRows.set(f.rows, n * CANVAS_ROWS * EMB_DIM);
        itemWindows[n] = f.windows;
        extracted++;
        if (extracted % 20 === 0 || extracted === items.length) {
          report(
            'extracting',
            extracted / items.length,
            `Extracting features (${extracted}/${items.length} clips)...`,
          );
        }
      }),
    );
    // every held-out clip is embedded once by the extraction workers, queued behind the canvases: the workers go on
    // with them while the trainer runs (whose two candidates rarely finish together), so no core waits
    const userClips: Float32Array[] = [];
    for (const [ci, clip] of userHeld.entries()) {
      userClips.push(clip);
      for (let a = 0; a < 9; a++)
        userClips.push(fitLength(augment(clip, deriveRng(seed, 'eval-aug', ci * 16 + a)), 3 * SR));
    }
    const synthClips: Float32Array[] = [];
    const negClips: Float32Array[] = userHeld.flatMap((clip) => userVoiceNegatives(clip));
    let k = 0;
    for (let i = 0; i < trimmed.length; i++) {
      const kk = kinds[i] as (typeof kinds)[number];
      const a = trimmed[i];
      if (!a || (kk.kind !== 'eval-pos' && kk.kind !== 'eval-neg')) continue;
      const x = k++ % 2 === 1 ? augment(a, deriveRng(seed, 'eval-syn-aug', i)) : a;
      (kk.kind === 'eval-pos' ? synthClips : negClips).push(x);
    }
    const all = [...userClips, ...synthClips, ...negClips];
    // Every clip gets the same 2 s of noise floor before it, so e_1 … e_25 (which end where the clip starts) are
    // the same for all of them: computed once, and each clip's embeddings start at e_26 (half the work).
    const preSteps = PAD_BEFORE / STEP;
    const prePad = noiseFloor(PAD_BEFORE, deriveRng(seed, 'eval-pre-pad', 0));
    const heldRowsPending = pool.embed(prePad).then((preRows) =>
      Promise.all(
        all.map(async (x, padId) => {
          const padded = padForScoring(x, deriveRng(seed, 'eval-pad', padId));
          padded.set(prePad);
          const emb = await pool.embed(padded, preSteps + 1);
          const rows = new Float32Array(preRows.length + emb.length);
          rows.set(preRows);
          rows.set(emb, preRows.length);
          return withWarmPrefix(rows, rt.warm);
        }),
      ),
    );
    // awaited in the evaluation; until then a failure must not surface as an unhandled rejection
    heldRowsPending.catch(() => {});
    await canvasesDone;
    check();
    const winStarts: number[] = [];
    const winLabels: number[] = [];
    const winPools: number[] = [];
    const winGroups: number[] = [];
    const winKinds: number[] = [];
    items.forEach((it, n) => {
      for (const j of itemWindows[n] as number[]) {
        winStarts.push(n * CANVAS_ROWS + j);
        winLabels.push(it.label);
        winPools.push(it.pool);
        winGroups.push(it.group);
        winKinds.push(SOURCE_KINDS.indexOf(it.kind));
      }
    });
    const canvasRowCount = items.length * CANVAS_ROWS;
    let bankWindows = 0;
    let bankSecondsUsed = 0;
    const bankKindIndex = (k: string) => SOURCE_KINDS.indexOf(k === 'mixture' ? 'speech' : (k as SourceKind));
    // every window (step ≥ 10) of a bank-like part's segments joins the bank pool; its rows start at rowStart
    const addSegments = (
      segments: BankSegment[],
      rowStart: number,
      groupBase: number,
      kindOf: (seg: BankSegment) => number,
    ) => {
      for (const seg of segments) {
        const n = segmentWindowCount(seg.rows);
        for (let w = 0; w < n; w++) {
          winStarts.push(rowStart + seg.offset + 9 + w);
          winLabels.push(0);
          winPools.push(POOL_BANK_NEGATIVE);
          winGroups.push(groupBase + seg.group);
          winKinds.push(kindOf(seg));
        }
        bankWindows += n;
        bankSecondsUsed += (seg.rows - 15) * STEP_SECONDS;
      }
    };
    // bank: every 30 s block minus those whose speech contains the wake word
    addSegments(
      bank.index.train.segments.filter(
        (seg) => !seg.phonemes.some((p) => normalizePhonemes(p).includes(wakePhon)),
      ),
      canvasRowCount,
      2_000_000,
      (seg) => bankKindIndex(seg.kind),
    );
    // curated corpus: its train segments join the bank pool, one split group per file
    const corpusRowStart = canvasRowCount + bank.index.train.rows;
    const corpusKind = SOURCE_KINDS.indexOf('corpus');
    addSegments(corpus?.index.train.segments ?? [], corpusRowStart, 3_000_000, () => corpusKind);
    const corpusRows = corpus?.index.train.rows ?? 0;
    // real recordings of the held-out bank's train share (never a file whose name says the wake word)
    const heldRowStart = corpusRowStart + corpusRows;
    addSegments(
      (heldout?.index.train.segments ?? []).filter(
        (seg) => !(seg.texts ?? []).some((t) => nameMaySay(t, wakeWord)),
      ),
      heldRowStart,
      4_000_000,
      (seg) => bankKindIndex(seg.kind),
    );
    const heldRows = heldout?.index.train.rows ?? 0;
    const embeddings = new Float32Array(new SharedArrayBuffer((heldRowStart + heldRows) * EMB_DIM * 4));
    embeddings.set(canvasRows, 0);
    embeddings.set(bank.train, canvasRowCount * EMB_DIM);
    if (corpus) embeddings.set(corpus.train, corpusRowStart * EMB_DIM);
    if (heldout && heldRows > 0) embeddings.set(heldout.train, heldRowStart * EMB_DIM);
    const windowSet = {
      embeddings,
      starts: Int32Array.from(winStarts),
      labels: Uint8Array.from(winLabels),
      pools: Uint8Array.from(winPools),
      groups: Int32Array.from(winGroups),
      kinds: Uint8Array.from(winKinds),
    };
    lap('extracting');

    // ---------------------------------------------------------------- training
    const withCorpus = corpus !== null && corpus.index.eval.rows > 0;
    const withHeldout = heldout !== null && heldout.index.eval.rows > 0;
    const margin = job.calibrationMargin ?? CALIBRATION_MARGIN;
    const stepHours = (steps: number) => (steps * STEP_SECONDS) / 3600;
    // the bank's stream is cut in two halves by steps: the first calibrates, the second reports
    const bankSteps = Math.max(0, bank.index.eval.rows - (WINDOW - 1));
    const info = heldout?.info;
    const hs = (role: 'calibration' | 'report', k: 'speech' | 'music' | 'engine') =>
      withHeldout && info ? Math.round((info.seconds[role][k] / 3600) * 1e4) / 1e4 : 0;
    const calSources = {
      synthetic: Math.round(stepHours(Math.floor(bankSteps / 2)) * 1e4) / 1e4,
      heldout_engine: hs('calibration', 'engine'),
      real_speech: hs('calibration', 'speech'),
      real_music: hs('calibration', 'music'),
      corpus: 0,
    };
    const reportSources = {
      synthetic: Math.round(stepHours(bankSteps - Math.floor(bankSteps / 2)) * 1e4) / 1e4,
      heldout_engine: hs('report', 'engine'),
      real_speech: hs('report', 'speech'),
      real_music: hs('report', 'music'),
      corpus: withCorpus ? Math.round(((corpus?.index.eval.seconds ?? 0) / 3600) * 1e4) / 1e4 : 0,
    };
    const withReal = reportSources.real_speech + reportSources.real_music > 0;
    const concat = (parts: Float32Array[]) => {
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    };
    let streamHours = 0;
    let calibrationHours = 0;
    /**
     * Trains the candidates with `trainerSeed` and scores each of them, and their ensemble, on the held-out data
     * (which is the same for every round); `prefix` starts the round's progress messages.
     */
    const trainRound = async (trainerSeed: number, prefix: string) => {
      report('training', 0, `${prefix}Training...`);
      const followed = job.arch && job.arch !== 'auto' ? job.arch : 'mlp';
      const head: TrainedHead = await trainHead(windowSet, {
        arch: job.arch ?? 'auto',
        seed: trainerSeed,
        loss: JOB_LOSS,
        signal: job.signal,
        maxEpochs: job.maxEpochs,
        onProgress: (p) => {
          if (p.candidate !== followed) return;
          report(
            'training',
            p.epoch / p.total_epochs,
            `${prefix}Epoch ${p.epoch}/${p.total_epochs} - loss: ${p.train_loss.toFixed(4)}`,
            {
              epoch: p.epoch,
              total_epochs: p.total_epochs,
              train_loss: Math.round(p.train_loss * 1e6) / 1e6,
              val_loss: Math.round(p.val_loss * 1e6) / 1e6,
            },
          );
        },
      });
      check();
      lap('training');

      // ---------------------------------------------------------------- evaluating
      report('evaluating', 0, `${prefix}Evaluating on held-out audio...`);
      const heldRows = await heldRowsPending;
      check();
      report('evaluating', 0.6, `${prefix}Scoring the negative stream...`);
      // every trained candidate is scored on the same held-out data; a passing ensemble, else the better single head
      // on it, is kept (docs/engine.md)
      const evaluated: CandidateEvaluation[] = [];
      const singles = [head, ...(head.alternatives ?? [])];
      // both candidates, and their ensemble (the mean of their scores) when there are two
      const candidates: TrainedHead[][] = [
        ...singles.map((h) => [h]),
        ...(singles.length > 1 ? [[...singles].sort((a, b) => a.arch.localeCompare(b.arch))] : []),
      ];
      for (const members of candidates) {
        const candOnnx = exportHeadOnnx(members, { wakeWord, engineVersion: ENGINE_VERSION });
        const runner = await loadHeadRunner(rt.ort, candOnnx);
        try {
          const steps: Float32Array[] = [];
          for (const rows of heldRows) steps.push(await scoreAllSteps(runner, rows));
          let stream = await scoreAllSteps(runner, bank.eval);
          // drop stream sentences that contain the wake word (their firings are not false accepts)
          for (const sp of bank.index.eval.spans) {
            if (!normalizePhonemes(sp.phonemes).includes(wakePhon)) continue;
            for (let s = Math.max(0, sp.startStep - 1); s < Math.min(stream.length, sp.endStep + 25); s++)
              stream[s] = 0;
          }
          // every held-out negative source is cut in two: one part sets the threshold, the other measures the FA/h
          // the model states (docs/engine.md, "Honest metrics")
          const mid = Math.floor(stream.length / 2);
          const calParts = [stream.subarray(0, mid)];
          const repParts = [stream.subarray(mid)];
          if (heldout && withHeldout) {
            const held = await scoreAllSteps(runner, heldout.eval);
            held.fill(0, 0, FIRST_STEP - 1);
            for (const sp of heldout.index.eval.spans) {
              const says =
                (sp.phonemes !== '' && normalizePhonemes(sp.phonemes).includes(wakePhon)) ||
                (sp.text !== undefined && nameMaySay(sp.text, wakeWord));
              if (!says) continue;
              for (let s = Math.max(0, sp.startStep - 1); s < Math.min(held.length, sp.endStep + 25); s++)
                held[s] = 0;
            }
            const split = Math.min(held.length, Math.max(0, heldout.info.split_step - 1));
            calParts.push(held.subarray(0, split));
            repParts.push(held.subarray(split));
          }
          if (corpus && withCorpus) {
            // the corpus's evaluation files continue the report stream (their first steps are warm-up)
            const extra = await scoreAllSteps(runner, corpus.eval);
            extra.fill(0, 0, FIRST_STEP - 1);
            repParts.push(extra);
          }
          const calibrationStream = concat(calParts);
          stream = concat(repParts);
          calibrationHours = stepHours(calibrationStream.length);
          streamHours = stepHours(stream.length);
          const userSteps = steps.slice(0, userClips.length);
          const synthSteps = steps.slice(userClips.length, userClips.length + synthClips.length);
          const negSteps = steps.slice(userClips.length + synthClips.length);
          const positives = [...userSteps, ...synthSteps];
          const detail = evaluateScores({
            positives: positives.map(clipScore),
            positiveSteps: positives,
            negativeClips: negSteps.map(clipScore),
            stream,
            streamHours,
            targetFaPerHour: target,
            calibrationStream,
            calibrationHours,
            calibrationMargin: margin,
          });
          evaluated.push({
            arch: headArchitecture(members),
            heads: members,
            onnx: candOnnx,
            userSteps,
            synthSteps,
            negSteps,
            positives,
            stream,
            detail,
          });
        } finally {
          await runner.release();
        }
        check();
      }
      lap('evaluating');
      return { head, evaluated, chosen: chooseEvaluated(evaluated) };
    };
    /** Share of clips on which the rules never fire at `threshold` (null without clips). */
    const missOf = (steps: Float32Array[], threshold: number) =>
      steps.length === 0
        ? null
        : steps.filter((s) => fireSteps(s, { threshold }).length === 0).length / steps.length;
    /** Share of clips on which the rules fire at `threshold` (null without clips). */
    const firedOn = (steps: Float32Array[], threshold: number) =>
      steps.length === 0
        ? null
        : steps.filter((s) => fireSteps(s, { threshold }).length > 0).length / steps.length;
    /** What a kept candidate that fails the quality gate is diagnosed with; null when it passes. */
    const gate = ({ chosen: c }: { chosen: CandidateEvaluation }): GateFailure | null =>
      c.detail.quality_grade !== 'F'
        ? null
        : {
            missed: c.detail.miss_rate_at_threshold,
            diagnostics: {
              wakeWord,
              clipsTotal: clipPaths.length,
              silentClips,
              medianSpeechSeconds: median(usable.map((u) => u.res.diagnostics.speechSec)),
              syllables: (conf.wakePhonemes.match(/[aeiouAEIOU@3]+/g) ?? []).length,
              phonemes: wakePhon.replace(/[^A-Za-z@3]/g, '').length,
              inconsistentClips: inconsistent.length,
              heldOutUserMissRate: missOf(c.userSteps, c.detail.threshold),
              evalSyntheticMissRate: missOf(c.synthSteps, c.detail.threshold),
              clippedOrNoisyClips: usable.filter(
                (u) => u.res.diagnostics.clipping || u.res.diagnostics.lowSnr,
              ).length,
              confusableFaRate: firedOn(c.negSteps, c.detail.threshold),
              closestConfusable: conf.realWords[0] ?? null,
            },
          };
    const {
      result: { head, evaluated, chosen },
      failure,
      note,
    } = await withSecondDraw(
      job,
      seed,
      async (trainerSeed, second) => {
        if (second)
          report(
            'evaluating',
            0,
            'The model did not pass the quality check; training again with another draw...',
          );
        return trainRound(trainerSeed, second ? 'Second draw: ' : '');
      },
      gate,
    );
    const { onnx, userSteps, synthSteps, negSteps, positives, stream, detail } = chosen;
    // the manifest's training figures: the single head's, or for an ensemble the validation winner's epochs
    const lead = chosen.heads.length === 1 ? (chosen.heads[0] as TrainedHead) : head;
    const kept = {
      arch: chosen.arch as HeadArchitecture,
      epochs: lead.epochs,
      bestEpoch: lead.bestEpoch,
      params: chosen.heads.reduce((n, h) => n + h.params, 0),
    };
    const thr = detail.threshold;
    const confFa = firedOn(negSteps, thr);
    const warnings: string[] = [];
    const medSynth = median(synthDur);
    if (medSynth !== null && medSynth > 1.6)
      warnings.push(`The typical synthetic duration of '${wakeWord}' is ${medSynth.toFixed(2)} s (> 1.6 s).`);
    if (longSynth > 0) warnings.push(`${longSynth} synthetic utterances longer than 1.75 s were dropped.`);
    if (detail.resolution_limited) warnings.push(detail.false_accepts.statement);
    warnings.push(...corpusWarnings);
    if (note) warnings.push(note);
    if (repeated.length > 0)
      warnings.push(
        `${repeated.length} ${repeated.length === 1 ? 'recording is a copy' : 'recordings are copies'} of another and ${repeated.length === 1 ? 'was' : 'were'} used once (${repeated.map((c) => labelOf(c.path)).join(', ')}).`,
      );
    if (inconsistent.length > 0)
      warnings.push(
        `${inconsistent.length} recordings differ clearly from the others (${inconsistent.map((i) => labelOf((usable[i] as { path: string }).path)).join(', ')}).`,
      );
    const rejected = trims.filter((t) => !t.res.ok);
    if (rejected.length > 0)
      warnings.push(
        `${rejected.length} ${rejected.length === 1 ? 'recording was' : 'recordings were'} not used: ${rejected
          .map((t) => {
            const reason = (t.res as { reason: keyof typeof TAKE_REJECTION_MESSAGES }).reason;
            return `${labelOf(t.path)} (${reason}: ${TAKE_REJECTION_MESSAGES[reason]})`;
          })
          .join('; ')}`,
      );
    report('evaluating', 0.9, 'Grading...');
    if (failure) {
      throw qualityGateError(failure.diagnostics, {
        d_prime: detail.d_prime,
        quality_grade: 'F',
        miss_rate: detail.miss_rate_at_threshold,
      });
    }

    // ---------------------------------------------------------------- exporting
    report('exporting', 0, 'Exporting model...');
    // the TFLite file is a second format of the kept head; a failure there never fails the training
    let tflite: Uint8Array | null = null;
    let tfliteError: string | undefined;
    try {
      tflite = exportHeadTflite(chosen.heads, { wakeWord, engineVersion: ENGINE_VERSION });
    } catch (err) {
      tfliteError = (err as Error).message;
    }
    const metrics: TrainMetrics = {
      d_prime: detail.d_prime as number,
      eer: detail.eer as number,
      auc: detail.auc as number,
      miss_rate_at_target: detail.miss_rate_at_threshold as number,
      target_fa_per_hour: target,
      fa_per_hour_at_threshold: detail.fa_per_hour_at_threshold,
      quality_grade: detail.quality_grade,
      threshold: thr,
    };
    const evaluation: TrainResult['evaluation'] = {
      n_positive_clips: positives.length,
      n_negative_clips: detail.n_negative_clips,
      negatives_hours: streamHours,
      negatives_kind:
        `synthetic${withReal ? '+real' : ''}${withCorpus ? '+corpus' : ''}` as ManifestEvaluation['negatives_kind'],
      user_clips_held_out: userHeld.length,
      miss_rate_by_source: { user: missOf(userSteps, thr), synthetic: missOf(synthSteps, thr) },
      confusable_fa_rate: confFa,
      resolution_limited: detail.resolution_limited,
      warnings,
      // another language: the providers that have its voices (flite and festival speak English only)
      providers: (lang
        ? providers.filter((p) => [...trainVoices, ...evalVoices].some((v) => v.provider === p.id))
        : providers
      ).map((p) => p.id),
      voices: { train: trainVoices.length, eval: evalVoices.length },
      text_only: textOnly,
      false_accepts: { ...detail.false_accepts, sources: reportSources },
      calibration: {
        ...detail.calibration,
        heldout_engine: withHeldout ? (heldout?.info.engine ?? null) : null,
        sources: calSources,
      },
      grade_basis: detail.grade_basis,
      detail,
      timings: { ...timings, bank_build_s: Math.round(bankSeconds * 10) / 10 },
      candidates: evaluated.map((e) => ({
        arch: e.arch,
        miss_rate: e.detail.miss_rate_at_threshold,
        d_prime: e.detail.d_prime,
        threshold: e.detail.threshold,
        kept: e === chosen,
      })),
    };
    const durationS = Math.round((performance.now() - jobStart) / 100) / 10;
    const { detail: _d, timings: _t, candidates: _c, ...manifestEvaluation } = evaluation;
    const manifest = buildManifest({
      name: job.name ?? 'model',
      wakeWord,
      language,
      createdAt: (job.now ?? (() => new Date()))(),
      engineVersion: ENGINE_VERSION,
      modelSha256: sha256(onnx),
      tfliteSha256: tflite ? sha256(tflite) : undefined,
      melSha256: rt.melSha256,
      embeddingSha256: rt.embeddingSha256,
      threshold: thr,
      metrics: {
        d_prime: metrics.d_prime,
        eer: metrics.eer,
        auc: metrics.auc,
        miss_rate_at_target: metrics.miss_rate_at_target,
        target_fa_per_hour: target,
        fa_per_hour_at_threshold: metrics.fa_per_hour_at_threshold,
        quality_grade: metrics.quality_grade,
      },
      training: {
        n_user_clips: userTrain.length,
        n_synth_positives: nSynthPos,
        n_negatives:
          bankWindows + winLabels.filter((l, i) => l === 0 && winPools[i] === POOL_WORD_NEGATIVE).length,
        negatives_hours: Math.round((bankSecondsUsed / 3600) * 1000) / 1000,
        epochs: kept.epochs,
        best_epoch: kept.bestEpoch,
        duration_s: durationS,
        seed,
        architecture: kept.arch,
        params: kept.params,
        pronunciation: trainedPron,
      },
      evaluation: manifestEvaluation,
    });
    lap('exporting');
    report('exporting', 1, 'Training complete.');
    return {
      onnx,
      tflite,
      ...(tfliteError ? { tfliteError } : {}),
      manifest,
      metrics,
      evaluation: {
        ...evaluation,
        timings: { ...timings, bank_build_s: Math.round(bankSeconds * 10) / 10, total_s: durationS },
      },
      scores: {
        positive: detail ? positives.map(clipScore) : [],
        negative: [...negSteps.map(clipScore), ...segmentMaxima(stream)],
      },
    };
  } finally {
    disposeProviders(providers);
  }
}

export { WINDOW };
