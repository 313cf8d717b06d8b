/**
 * Evaluation metrics, calibration and grading (docs/engine.md §8.3–§8.5). Scores are probabilities in 0–1.
 * FA/h always comes from streaming scores through the detection rules of `@violawake/detector` (the one
 * implementation shared with the runtime), over the real duration of the negative audio.
 */
import { detectFirings } from '@violawake/detector';

/** Default refractory period of the rules: 2.0 s = 25 steps of 80 ms. */
export const REFRACTORY_STEPS_DEFAULT = 25;

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

function popVar(a: ArrayLike<number>, m: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) ** 2;
  return s / a.length;
}

/**
 * d′ (Cohen's d) on clip scores: (mean pos − mean neg) / √((var pos + var neg)/2), population variances; 0 when
 * the denominator is below 1e-10. NaN when a class is empty (see `clipMetrics` for the null-with-reason form).
 */
export function dPrime(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  if (pos.length === 0 || neg.length === 0) return Number.NaN;
  const mp = mean(pos);
  const mn = mean(neg);
  const den = Math.sqrt((popVar(pos, mp) + popVar(neg, mn)) / 2);
  if (den < 1e-10) return 0;
  return (mp - mn) / den;
}

/** ROC AUC = P(positive outscores negative) with ties counting ½ (Mann–Whitney U); null if a class is empty. */
export function rocAuc(pos: ArrayLike<number>, neg: ArrayLike<number>): number | null {
  const np = pos.length;
  const nn = neg.length;
  if (np === 0 || nn === 0) return null;
  const all: { s: number; p: boolean }[] = [];
  for (let i = 0; i < np; i++) all.push({ s: pos[i], p: true });
  for (let i = 0; i < nn; i++) all.push({ s: neg[i], p: false });
  all.sort((a, b) => a.s - b.s);
  // sum of (average) ranks of the positives
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1 … j
    for (let k = i; k < j; k++) if (all[k].p) rankSum += avgRank;
    i = j;
  }
  return (rankSum - (np * (np + 1)) / 2) / (np * nn);
}

/**
 * ROC points as the threshold falls through every distinct score (a score ≥ threshold is an accept), starting at
 * (FAR 0, FRR 1). Returns parallel arrays of false-accept and false-reject rates.
 */
export function rocPoints(pos: ArrayLike<number>, neg: ArrayLike<number>): { far: number[]; frr: number[] } {
  const items: { s: number; p: boolean }[] = [];
  for (let i = 0; i < pos.length; i++) items.push({ s: pos[i], p: true });
  for (let i = 0; i < neg.length; i++) items.push({ s: neg[i], p: false });
  items.sort((a, b) => b.s - a.s);
  const far = [0];
  const frr = [1];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < items.length; ) {
    let j = i;
    while (j < items.length && items[j].s === items[i].s) {
      if (items[j].p) tp++;
      else fp++;
      j++;
    }
    far.push(fp / neg.length);
    frr.push(1 - tp / pos.length);
    i = j;
  }
  return { far, frr };
}

/** Equal error rate, linearly interpolated between adjacent ROC points; null if a class is empty. */
export function eer(pos: ArrayLike<number>, neg: ArrayLike<number>): number | null {
  if (pos.length === 0 || neg.length === 0) return null;
  const { far, frr } = rocPoints(pos, neg);
  for (let i = 1; i < far.length; i++) {
    const d0 = far[i - 1] - frr[i - 1];
    const d1 = far[i] - frr[i];
    if (d0 <= 0 && d1 >= 0) {
      if (d0 === d1) return far[i];
      const a = d0 / (d0 - d1);
      return far[i - 1] + a * (far[i] - far[i - 1]);
    }
  }
  return null; // unreachable: the curve runs from FAR − FRR = −1 to +1
}

/**
 * Partial ROC area for false-accept rates 0…maxFpr, normalised by maxFpr (1 = perfect, a random scorer ≈ maxFpr/2).
 * Ties are interpolated linearly (the ROC segment of a tied group is a straight line). null if a class is empty.
 */
export function partialAuc(pos: ArrayLike<number>, neg: ArrayLike<number>, maxFpr = 0.01): number | null {
  if (pos.length === 0 || neg.length === 0) return null;
  const { far, frr } = rocPoints(pos, neg);
  let area = 0;
  for (let i = 1; i < far.length; i++) {
    const x0 = far[i - 1];
    const x1 = far[i];
    if (x0 >= maxFpr) break;
    const y0 = 1 - frr[i - 1];
    const y1 = 1 - frr[i];
    const xe = Math.min(x1, maxFpr);
    const ye = x1 === x0 ? y1 : y0 + ((y1 - y0) * (xe - x0)) / (x1 - x0);
    area += ((xe - x0) * (y0 + ye)) / 2;
  }
  return area / maxFpr;
}

export interface StreamRule {
  threshold: number;
  /** consecutive steps ≥ threshold needed to fire (default 1) */
  patience?: number;
  /** default 25 steps (2.0 s) */
  refractorySteps?: number;
  /** leading entries that are warming up (the detector's default: 9, for a sequence starting at step k = 1) */
  warmupSteps?: number;
}

/** Number of firings of the detection rules on a stream of per-step scores. */
export function countFirings(streamScores: ArrayLike<number>, rule: StreamRule): number {
  return detectFirings(streamScores, {
    threshold: rule.threshold,
    patience: rule.patience ?? 1,
    refractorySteps: rule.refractorySteps ?? REFRACTORY_STEPS_DEFAULT,
    ...(rule.warmupSteps !== undefined ? { warmupSteps: rule.warmupSteps } : {}),
  }).length;
}

/** False accepts per hour: firings of the rules on the stream / hours of negative audio. */
export function faPerHour(streamScores: ArrayLike<number>, hours: number, rule: StreamRule): number {
  if (!(hours > 0)) throw new RangeError('faPerHour: hours must be > 0');
  return countFirings(streamScores, rule) / hours;
}

export const CALIBRATION = { high: 0.99, low: 0.1, step: 0.01 };
/**
 * Thresholds scanned above 0.99 before the 0.01 grid (docs/engine.md): a head trained without label smoothing
 * pushes its confident scores past 0.99, and a grid that stops there cannot tell 1 FA/h from 10.
 */
export const CALIBRATION_TOP = [0.9999, 0.9995, 0.999, 0.998, 0.995] as const;

/** The scanned thresholds, highest first: `CALIBRATION_TOP`, then 0.99 … 0.10 in steps of 0.01. */
export function calibrationGrid(): number[] {
  const hi = Math.round(CALIBRATION.high * 100);
  const lo = Math.round(CALIBRATION.low * 100);
  const grid: number[] = [...CALIBRATION_TOP];
  for (let i = hi; i >= lo; i--) grid.push(i / 100);
  return grid;
}

export interface Calibration {
  threshold: number;
  /** FA/h measured at the chosen threshold */
  faPerHour: number;
  /** the target is below 1/H, the smallest non-zero rate this stream can measure */
  resolutionLimited: boolean;
}

/**
 * Threshold calibration (§8.4, grid extended above 0.99): scan `calibrationGrid()` from the top and stop at the
 * first threshold whose FA/h exceeds the target; the result is the last one that met it (so it and every higher
 * scanned value meet the target, even where firing counts are not monotonic). The top of the grid (0.9999) when none
 * does. When target < 1/H the scan yields the lowest threshold with zero firings, flagged `resolutionLimited`.
 */
export function calibrateThreshold(
  streamScores: ArrayLike<number>,
  hours: number,
  targetFaPerHour: number,
  patience = 1,
  rule: Omit<StreamRule, 'threshold' | 'patience'> = {},
): Calibration {
  const grid = calibrationGrid();
  let chosen = grid[0] as number;
  let chosenRate = faPerHour(streamScores, hours, { ...rule, threshold: chosen, patience });
  for (let i = 1; i < grid.length; i++) {
    const t = grid[i] as number;
    const rate = faPerHour(streamScores, hours, { ...rule, threshold: t, patience });
    if (rate > targetFaPerHour) break;
    chosen = t;
    chosenRate = rate;
  }
  return { threshold: chosen, faPerHour: chosenRate, resolutionLimited: targetFaPerHour < 1 / hours };
}

/**
 * Share of positive clips on which the rules never fire at `threshold`; with patience 1 that is the share whose
 * clip score (maximum over the clip) is below the threshold. NaN for no clips.
 */
export function missRate(posClipScores: ArrayLike<number>, threshold: number): number {
  if (posClipScores.length === 0) return Number.NaN;
  let miss = 0;
  for (let i = 0; i < posClipScores.length; i++) if (!(posClipScores[i] >= threshold)) miss++;
  return miss / posClipScores.length;
}

/** Miss rate from per-clip step-score sequences with any patience (the rules run on each padded clip). */
export function missRateStreams(clips: ArrayLike<number>[], rule: StreamRule): number {
  if (clips.length === 0) return Number.NaN;
  let miss = 0;
  for (const c of clips) if (countFirings(c, rule) === 0) miss++;
  return miss / clips.length;
}

export type QualityGrade = 'A' | 'B' | 'C' | 'D' | 'F';

/** Grade table (§8.5): the best row whose two conditions both hold; F otherwise. No grade E. */
export const GRADE_TABLE: readonly {
  grade: Exclude<QualityGrade, 'F'>;
  maxMissRate: number;
  minDPrime: number;
}[] = [
  { grade: 'A', maxMissRate: 0.03, minDPrime: 5.0 },
  { grade: 'B', maxMissRate: 0.07, minDPrime: 3.5 },
  { grade: 'C', maxMissRate: 0.15, minDPrime: 2.5 },
  { grade: 'D', maxMissRate: 0.3, minDPrime: 1.5 },
];

export function qualityGrade(missRateAtTarget: number | null, dPrimeValue: number | null): QualityGrade {
  if (missRateAtTarget == null || dPrimeValue == null) return 'F';
  if (!Number.isFinite(missRateAtTarget) || !Number.isFinite(dPrimeValue)) return 'F';
  for (const row of GRADE_TABLE)
    if (missRateAtTarget <= row.maxMissRate && dPrimeValue >= row.minDPrime) return row.grade;
  return 'F';
}

export interface ClipMetrics {
  d_prime: number | null;
  auc: number | null;
  eer: number | null;
  /** why metrics are null, when they are */
  reason: string | null;
}

/** d′, AUC and EER together, null with a reason when a class is empty. */
export function clipMetrics(pos: ArrayLike<number>, neg: ArrayLike<number>): ClipMetrics {
  if (pos.length === 0 || neg.length === 0) {
    const reason =
      pos.length === 0 && neg.length === 0
        ? 'no positive and no negative clips'
        : pos.length === 0
          ? 'no positive clips'
          : 'no negative clips';
    return { d_prime: null, auc: null, eer: null, reason };
  }
  return { d_prime: dPrime(pos, neg), auc: rocAuc(pos, neg), eer: eer(pos, neg), reason: null };
}
