/**
 * Held-out evaluation on scores (docs/engine.md §8): FA/h by streaming the negative audio through the detection rules,
 * the §8.4 calibration scan, clip-score metrics and the grade. Shared by the pipeline, `violawake eval` and the
 * benchmark, so all three measure the same way.
 */

import { STEP_SECONDS } from '../bank/store.ts';
import * as metrics from '../eval/metrics.ts';
import { type FalseAcceptReport, falseAcceptReport } from '../eval/poisson.ts';
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

/** How the threshold was set (manifest `evaluation.calibration`). */
export interface CalibrationReport {
  /** `held-out`: on calibration audio disjoint from the report stream; `report-stream`: on the stream FA/h is stated on. */
  source: 'held-out' | 'report-stream';
  /** Hours of calibration audio. */
  hours: number;
  /** The threshold keeps FA/h on the calibration audio ≤ target / margin. */
  margin: number;
  target_fa_per_hour: number;
  /** False accepts on the calibration audio at the calibrated threshold. */
  false_accepts: number;
  fa_per_hour: number;
  /** target / margin is below 1 / hours: the threshold is the lowest with no false accept on the calibration audio. */
  resolution_limited: boolean;
}

/** What the grade was computed from (manifest `evaluation.grade_basis`; the model page shows it). */
export interface GradeBasis {
  /** held-out positives missed at the model's threshold */
  miss_rate: number | null;
  d_prime: number | null;
  /** the grade of §8.5's table from those two */
  table_grade: 'A' | 'B' | 'C' | 'D' | 'F';
  /** one letter lower because the report stream shows more false accepts than the target (95 %) */
  lowered_for_false_accepts: boolean;
  grade: 'A' | 'B' | 'C' | 'D' | 'F';
}

export interface ScoreEvaluation {
  d_prime: number | null;
  auc: number | null;
  eer: number | null;
  threshold: number;
  calibrated_threshold: number;
  /** FA/h on the calibration audio at the calibrated threshold. */
  fa_per_hour_at_calibrated: number;
  /** The report stream cannot resolve the target (1 / hours > target). */
  resolution_limited: boolean;
  miss_rate_at_threshold: number | null;
  /** FA/h stated at the threshold: measured on the report stream, never below its resolution (`false_accepts`). */
  fa_per_hour_at_threshold: number;
  target_fa_per_hour: number;
  /** Hours of the report stream. */
  negatives_hours: number;
  n_positives: number;
  n_negative_clips: number;
  quality_grade: 'A' | 'B' | 'C' | 'D' | 'F';
  false_accepts: FalseAcceptReport;
  calibration: CalibrationReport;
  grade_basis: GradeBasis;
}

export interface EvaluateInput {
  /** Clip scores of positives. */
  positives: number[];
  /** Per-step scores of each positive clip; when given, the miss rate applies the rules (patience) to them. */
  positiveSteps?: Float32Array[];
  /** Clip scores of held-out negative clips (confusables etc.), if any. */
  negativeClips?: number[];
  /** Per-step scores of the negative stream FA/h is stated on (index i = step i + 1). */
  stream: Float32Array;
  /** Real duration of the stream. */
  streamHours: number;
  targetFaPerHour: number;
  /**
   * Per-step scores of held-out calibration audio, disjoint from `stream`, that the threshold is set on; without it
   * the threshold is calibrated on `stream` itself (and the FA/h stated there was chosen to meet the target).
   */
  calibrationStream?: Float32Array;
  calibrationHours?: number;
  /** The threshold keeps FA/h on the calibration audio ≤ target / margin (default 1). */
  calibrationMargin?: number;
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

/**
 * The grade (§8.5's table on the held-out miss rate and d′), one letter lower — never below D, which the quality
 * gate alone turns into F — when the report stream shows with 95 % confidence more false accepts than the target.
 */
export function gradeFromHeldOut(
  missRate: number | null,
  dPrime: number | null,
  fa: Pick<FalseAcceptReport, 'target_exceeded_at_95'>,
): GradeBasis {
  const table = metrics.qualityGrade(missRate, dPrime);
  const lower = fa.target_exceeded_at_95 && table !== 'F' && table !== 'D';
  const grade = lower ? ({ A: 'B', B: 'C', C: 'D' } as const)[table as 'A' | 'B' | 'C'] : table;
  return {
    miss_rate: missRate,
    d_prime: dPrime,
    table_grade: table,
    lowered_for_false_accepts: lower,
    grade,
  };
}

export function evaluateScores(input: EvaluateInput): ScoreEvaluation {
  const rules = { patience: input.patience ?? 1, refractorySteps: input.refractorySteps ?? 25 };
  const negatives = [...(input.negativeClips ?? []), ...segmentMaxima(input.stream)];
  const pos = input.positives;
  const heldOutCal = input.calibrationStream !== undefined && (input.calibrationHours ?? 0) > 0;
  const margin = heldOutCal ? (input.calibrationMargin ?? 1) : 1;
  const calStream = heldOutCal ? (input.calibrationStream as Float32Array) : input.stream;
  const calHours = heldOutCal ? (input.calibrationHours as number) : input.streamHours;
  const calTarget = input.targetFaPerHour / margin;
  const cal = calibrate(calStream, calHours, calTarget, rules);
  const threshold = input.threshold ?? cal.threshold;
  const count = input.streamHours > 0 ? countFirings(input.stream, { ...rules, threshold }) : 0;
  const fa = falseAcceptReport(count, input.streamHours, input.targetFaPerHour);
  const calCount = calHours > 0 ? countFirings(calStream, { ...rules, threshold }) : 0;
  const cm = metrics.clipMetrics(pos, negatives);
  const dp = cm.d_prime;
  const miss = input.positiveSteps
    ? input.positiveSteps.length === 0
      ? null
      : input.positiveSteps.filter((st) => fireSteps(st, { ...rules, threshold }).length === 0).length /
        input.positiveSteps.length
    : missRateFromScores(pos, threshold);
  const basis = gradeFromHeldOut(miss, dp, fa);
  return {
    d_prime: dp,
    auc: cm.auc,
    eer: cm.eer,
    threshold,
    calibrated_threshold: cal.threshold,
    fa_per_hour_at_calibrated: cal.faPerHour,
    resolution_limited: !fa.target_resolved,
    miss_rate_at_threshold: miss,
    fa_per_hour_at_threshold: fa.fa_per_hour,
    target_fa_per_hour: input.targetFaPerHour,
    negatives_hours: input.streamHours,
    n_positives: pos.length,
    n_negative_clips: negatives.length,
    quality_grade: basis.grade,
    false_accepts: fa,
    calibration: {
      source: heldOutCal ? 'held-out' : 'report-stream',
      hours: Math.round(calHours * 1e4) / 1e4,
      margin,
      target_fa_per_hour: calTarget,
      false_accepts: calCount,
      fa_per_hour: calHours > 0 ? Math.round((calCount / calHours) * 1e4) / 1e4 : 0,
      resolution_limited: !(calHours > 0) || calTarget < 1 / calHours,
    },
    grade_basis: basis,
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
