/**
 * Held-out evaluation on scores (docs/engine.md §8): FA/h by streaming the negative audio through the detection rules,
 * the §8.4 calibration scan, clip-score metrics and the grade. Shared by the pipeline, `violawake eval` and the
 * benchmark, so all three measure the same way.
 */

import { STEP_SECONDS } from '../bank/store.ts';
import * as metrics from '../eval/metrics.ts';
import type { TrainedHead } from '../train/types.ts';
import { fireSteps, type Rules } from './runtime.ts';

export const SEGMENT_STEPS = 25; // 2.0 s

/** Number of firings of the rules over a stream of per-step scores. */
export function countFirings(streamScores: Float32Array, rules: Rules): number {
  return fireSteps(streamScores, rules).length;
}

export type Calibration = metrics.Calibration;

/** §8.4 calibration scan (the trainer's implementation, on the detector's rules). */
export function calibrate(
  streamScores: Float32Array,
  hours: number,
  targetFaPerHour: number,
  rules: Omit<Rules, 'threshold'> = {},
): Calibration {
  if (!(hours > 0)) return { threshold: 0.99, faPerHour: 0, resolutionLimited: true };
  return metrics.calibrateThreshold(streamScores, hours, targetFaPerHour, rules.patience ?? 1, {
    refractorySteps: rules.refractorySteps ?? 25,
  });
}

/** Negative "clips" of a stream: maxima of consecutive 2.0 s segments (from step 10 on). */
export function segmentMaxima(streamScores: Float32Array, firstIndex = 9): number[] {
  const out: number[] = [];
  for (let s = firstIndex; s < streamScores.length; s += SEGMENT_STEPS) {
    let m = 0;
    const e = Math.min(streamScores.length, s + SEGMENT_STEPS);
    for (let i = s; i < e; i++) if ((streamScores[i] as number) > m) m = streamScores[i] as number;
    out.push(m);
  }
  return out;
}

export interface ScoreEvaluation {
  d_prime: number | null;
  auc: number | null;
  eer: number | null;
  threshold: number;
  calibrated_threshold: number;
  fa_per_hour_at_calibrated: number;
  resolution_limited: boolean;
  miss_rate_at_threshold: number | null;
  fa_per_hour_at_threshold: number;
  target_fa_per_hour: number;
  negatives_hours: number;
  n_positives: number;
  n_negative_clips: number;
  quality_grade: 'A' | 'B' | 'C' | 'D' | 'F';
}

export interface EvaluateInput {
  /** Clip scores of positives. */
  positives: number[];
  /** Per-step scores of each positive clip; when given, the miss rate applies the rules (patience) to them. */
  positiveSteps?: Float32Array[];
  /** Clip scores of held-out negative clips (confusables etc.), if any. */
  negativeClips?: number[];
  /** Per-step scores of the negative stream (index i = step i + 1). */
  stream: Float32Array;
  /** Real duration of the stream. */
  streamHours: number;
  targetFaPerHour: number;
  /** Threshold for the miss rate / FA/h report; the calibrated one when absent. */
  threshold?: number;
  patience?: number;
  refractorySteps?: number;
}

/** Miss rate: share of positive clips on which the rules never fire (with patience 1: clip score < threshold). */
export function missRateFromScores(pos: number[], threshold: number): number | null {
  if (pos.length === 0) return null;
  return pos.filter((s) => s < threshold).length / pos.length;
}

export function evaluateScores(input: EvaluateInput): ScoreEvaluation {
  const rules = { patience: input.patience ?? 1, refractorySteps: input.refractorySteps ?? 25 };
  const negatives = [...(input.negativeClips ?? []), ...segmentMaxima(input.stream)];
  const pos = input.positives;
  const cal = calibrate(input.stream, input.streamHours, input.targetFaPerHour, rules);
  const threshold = input.threshold ?? cal.threshold;
  const faAt =
    input.streamHours > 0 ? countFirings(input.stream, { ...rules, threshold }) / input.streamHours : 0;
  const cm = metrics.clipMetrics(pos, negatives);
  const dp = cm.d_prime;
  const miss = input.positiveSteps
    ? input.positiveSteps.length === 0
      ? null
      : input.positiveSteps.filter((st) => fireSteps(st, { ...rules, threshold }).length === 0).length /
        input.positiveSteps.length
    : missRateFromScores(pos, threshold);
  return {
    d_prime: dp,
    auc: cm.auc,
    eer: cm.eer,
    threshold,
    calibrated_threshold: cal.threshold,
    fa_per_hour_at_calibrated: cal.faPerHour,
    resolution_limited: cal.resolutionLimited,
    miss_rate_at_threshold: miss,
    fa_per_hour_at_threshold: faAt,
    target_fa_per_hour: input.targetFaPerHour,
    negatives_hours: input.streamHours,
    n_positives: pos.length,
    n_negative_clips: negatives.length,
    quality_grade: metrics.qualityGrade(miss, dp),
  };
}

/** Within this miss-rate difference two candidates are always equal on the target (see `missTie`). */
export const MISS_TIE = 0.005;

/**
 * Miss-rate difference within which two candidates count as equal: MISS_TIE, or two standard errors of a miss rate
 * measured on the held-out positives when that is wider (≈ 5.7 points at 13 % of 140 clips). The held-out data cannot
 * tell such candidates apart, and the higher d′ decides between them.
 */
export function missTie(a: ScoreEvaluation, b: ScoreEvaluation): number {
  const n = Math.min(a.n_positives ?? 0, b.n_positives ?? 0);
  if (n <= 0) return MISS_TIE;
  const p = ((a.miss_rate_at_threshold ?? 1) + (b.miss_rate_at_threshold ?? 1)) / 2;
  return Math.max(MISS_TIE, 2 * Math.sqrt((p * (1 - p)) / n));
}

/** A trained candidate head scored on the job's held-out data. */
export interface CandidateEvaluation {
  /** `mlp`, `tcn` or an ensemble such as `mlp+tcn` */
  arch: string;
  /** the head, or the ensemble's members */
  heads: TrainedHead[];
  onnx: Uint8Array;
  userSteps: Float32Array[];
  synthSteps: Float32Array[];
  negSteps: Float32Array[];
  positives: Float32Array[];
  stream: Float32Array;
  detail: ScoreEvaluation;
}

/**
 * The candidate to keep: one that passes the quality gate over one that does not, then the one with more members (an
 * ensemble that passes is kept: a single head that wins on the held-out data has fired near 1.0 on a sentence of the
 * benchmark's stream four times, docs/engine.md), then the lower miss rate at the calibrated threshold (what the user
 * will feel); within `missTie` the higher d′; on a full tie the earlier (the trainer's validation choice).
 */
export function chooseEvaluated<T extends { detail: ScoreEvaluation; heads?: unknown[] }>(list: T[]): T {
  if (list.length === 0) throw new RangeError('no candidates to choose from');
  let best = list[0] as T;
  for (const c of list.slice(1)) {
    const a = best.detail;
    const b = c.detail;
    const failA = a.quality_grade === 'F';
    const failB = b.quality_grade === 'F';
    if (failA !== failB) {
      if (failA) best = c;
      continue;
    }
    const na = best.heads?.length ?? 1;
    const nb = c.heads?.length ?? 1;
    if (na !== nb) {
      if (nb > na) best = c;
      continue;
    }
    const ma = a.miss_rate_at_threshold ?? 1;
    const mb = b.miss_rate_at_threshold ?? 1;
    const tie = missTie(a, b);
    if (mb < ma - tie || (Math.abs(mb - ma) <= tie && (b.d_prime ?? -1e9) > (a.d_prime ?? -1e9))) best = c;
  }
  return best;
}

export const STEP_S = STEP_SECONDS;
