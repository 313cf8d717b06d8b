/**
 * Typed engine errors (docs/engine.md §8.6). The engine never exits the process: every failure rejects with an
 * `EngineError` whose `code` the job runner maps to a job state (docs/api.md §4.7).
 */

export type EngineErrorCode =
  | 'insufficient_data'
  | 'quality_gate'
  | 'synthesis_unavailable'
  | 'cancelled'
  | 'frontend_mismatch'
  | 'internal';

export const ENGINE_ERROR_CODES: readonly EngineErrorCode[] = [
  'insufficient_data',
  'quality_gate',
  'synthesis_unavailable',
  'cancelled',
  'frontend_mismatch',
  'internal',
];

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** structured context for logs and the job record (never library error text meant for a client) */
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}

/** Wraps anything thrown into an EngineError (`internal` unless it already is one, or an abort). */
export function toEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  if (e instanceof Error && e.name === 'AbortError') return cancelledError();
  const message = e instanceof Error ? e.message : String(e);
  return new EngineError(
    'internal',
    'Training failed because of an internal error.',
    { message },
    { cause: e },
  );
}

export function cancelledError(): EngineError {
  return new EngineError('cancelled', 'Training was cancelled.');
}

export function insufficientDataError(usable: number, copies = 0, notUsed: string[] = []): EngineError {
  const found =
    copies > 0
      ? `${usable} different takes; ${copies} more ${copies === 1 ? 'was a copy' : 'were copies'} of these`
      : `${usable}`;
  // each take that could not be used, by the name the user knows it by, with the reason
  const why = notUsed.length > 0 ? ` Not used: ${notUsed.join(' ')}` : '';
  return new EngineError(
    'insufficient_data',
    `Not enough usable recordings (${found}). At least 5 are required.${why}`,
    {
      usable,
      ...(copies > 0 ? { copies } : {}),
      ...(notUsed.length > 0 ? { not_used: notUsed.join(' ') } : {}),
    },
  );
}

/** Diagnostics collected along the pipeline, used to explain a failed quality gate. Every field is optional. */
export interface QualityDiagnostics {
  wakeWord: string;
  /** recordings given, and how many were rejected as silent or too quiet */
  clipsTotal?: number;
  silentClips?: number;
  /** median trimmed speech duration of the usable clips, seconds */
  medianSpeechSeconds?: number | null;
  syllables?: number | null;
  phonemes?: number | null;
  /** clips flagged as inconsistent (§6.2 step 4) */
  inconsistentClips?: number;
  /** miss rates of held-out user clips and of eval-voice synthetic positives at the calibrated threshold */
  heldOutUserMissRate?: number | null;
  evalSyntheticMissRate?: number | null;
  /** usable clips with clipping or low SNR */
  clippedOrNoisyClips?: number;
  /** share of held-out word-specific negatives on which the rules fire, and the closest confusable */
  confusableFaRate?: number | null;
  closestConfusable?: string | null;
}

export type QualityCause = 'silent' | 'too_short' | 'inconsistent' | 'noisy' | 'confusable' | 'inseparable';

/** Thresholds of the diagnostics; engine configuration, versioned with the engine. */
export const DIAGNOSTIC_LIMITS = {
  /** "many" silent clips: at least this many, or this share of the recordings */
  silentClipsMin: 3,
  silentClipsShare: 0.3,
  minSpeechSeconds: 0.35,
  minSyllables: 2,
  minPhonemes: 5,
  /** held-out user clips miss this much more often than eval-voice synthetic positives */
  userVsSyntheticGap: 0.3,
  /** "most" clips clipped or noisy */
  noisyShare: 0.5,
  /** "high" confusable false-accept rate */
  confusableFaRate: 0.2,
};

/** The most likely cause of a failed quality gate, checked in the order of §8.6. */
export function diagnoseQuality(d: QualityDiagnostics): QualityCause {
  const L = DIAGNOSTIC_LIMITS;
  const total = d.clipsTotal ?? 0;
  const silent = d.silentClips ?? 0;
  if (silent > 0 && (silent >= L.silentClipsMin || (total > 0 && silent / total >= L.silentClipsShare)))
    return 'silent';
  if (
    (d.medianSpeechSeconds != null && d.medianSpeechSeconds < L.minSpeechSeconds) ||
    (d.syllables != null && d.syllables < L.minSyllables) ||
    (d.phonemes != null && d.phonemes < L.minPhonemes)
  )
    return 'too_short';
  if (
    (d.inconsistentClips ?? 0) > 0 ||
    (d.heldOutUserMissRate != null &&
      d.evalSyntheticMissRate != null &&
      d.heldOutUserMissRate - d.evalSyntheticMissRate >= L.userVsSyntheticGap)
  )
    return 'inconsistent';
  const usable = Math.max(0, total - silent);
  if (usable > 0 && (d.clippedOrNoisyClips ?? 0) / usable > L.noisyShare) return 'noisy';
  if (d.confusableFaRate != null && d.confusableFaRate >= L.confusableFaRate) return 'confusable';
  return 'inseparable';
}

/** The actionable message for a failed quality gate (§8.6). */
export function qualityGateMessage(d: QualityDiagnostics): string {
  const word = d.wakeWord;
  switch (diagnoseQuality(d)) {
    case 'silent':
      return `${d.silentClips} of your recordings are almost silent. Check the microphone and record again closer to it.`;
    case 'too_short':
      return "The wake word is too short to detect reliably. Use two or more syllables, e.g. 'hey <word>'.".replace(
        '<word>',
        word,
      );
    case 'inconsistent':
      return `Your recordings differ from each other or from the text '${word}'. Say the same phrase the same way each time.`;
    case 'noisy':
      return 'Your recordings are distorted or noisy. Record in a quieter place with lower input gain.';
    case 'confusable':
      return `'${word}' sounds too much like common words${d.closestConfusable ? ` (e.g. '${d.closestConfusable}')` : ''}. Choose a more distinctive phrase.`;
    default:
      return `The model could not separate '${word}' from other speech. Add recordings or choose a longer phrase.`;
  }
}

/** The `quality_gate` error with its actionable message; `details` carries the cause and the grade inputs. */
export function qualityGateError(d: QualityDiagnostics, extra: Record<string, unknown> = {}): EngineError {
  return new EngineError('quality_gate', qualityGateMessage(d), { cause: diagnoseQuality(d), ...extra });
}
