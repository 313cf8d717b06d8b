/**
 * Detection rules (docs/engine.md §5) — the ONE implementation, used by the runtime detector and by evaluation
 * (FA/h), so that measured false-accept rates are exactly what users get.
 *
 * 1. Patience N (default 1): a head fires at step k when its score is ≥ threshold at k and the N − 1 steps before,
 *    and k is the N-th consecutive such step (the run reaches length N). A continuing run does not fire again.
 * 2. Refractory R steps (default 25 = 2.0 s): no firing within R steps after the previous firing. A run that
 *    reaches length N during the refractory period does not fire later; the score must fall below the threshold
 *    and rise again.
 * 3. Warm-up: no firing on a warming-up step. A run that reaches length N on a warming-up (or otherwise blocked,
 *    e.g. VAD-gated) step is consumed in the same way: it does not fire later, and it starts no refractory period.
 */
import { REFRACTORY_STEPS, WARMUP_STEPS } from './constants.ts';

export interface RuleOptions {
  threshold: number;
  /** Consecutive steps at or above the threshold needed to fire (default 1). */
  patience?: number;
  /** Steps after a firing during which the head cannot fire (default 25 = 2.0 s). */
  refractorySteps?: number;
  /**
   * For `detectFirings` only: the first `warmupSteps` entries of the sequence are warming up (default 9: the
   * sequence starts at step k = 1 of a stream and steps k < 10 warm up). Pass 0 for a sequence that starts later.
   */
  warmupSteps?: number;
}

function normalise(opts: RuleOptions): Required<RuleOptions> {
  const threshold = opts.threshold;
  if (typeof threshold !== 'number' || Number.isNaN(threshold))
    throw new RangeError('threshold must be a number');
  const patience = opts.patience ?? 1;
  const refractorySteps = opts.refractorySteps ?? REFRACTORY_STEPS;
  const warmupSteps = opts.warmupSteps ?? WARMUP_STEPS;
  if (!Number.isInteger(patience) || patience < 1) throw new RangeError('patience must be an integer ≥ 1');
  if (!Number.isInteger(refractorySteps) || refractorySteps < 0) {
    throw new RangeError('refractorySteps must be an integer ≥ 0');
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
    throw new RangeError('warmupSteps must be an integer ≥ 0');
  return { threshold, patience, refractorySteps, warmupSteps };
}

/** Per-head rule state for streaming use: call `step()` once per 80 ms step, in order. */
export class RuleState {
  readonly threshold: number;
  readonly patience: number;
  readonly refractorySteps: number;
  private run = 0;
  /** Steps since the last firing (Infinity before the first). */
  private since = Number.POSITIVE_INFINITY;

  constructor(opts: RuleOptions) {
    const o = normalise(opts);
    this.threshold = o.threshold;
    this.patience = o.patience;
    this.refractorySteps = o.refractorySteps;
  }

  /**
   * Advances one step. `warmingUp` (or any other reason to block, such as a closed VAD gate) prevents firing at
   * this step. Returns true when the head fires at this step. A NaN score counts as below the threshold.
   */
  step(score: number, warmingUp: boolean): boolean {
    this.since += 1;
    if (!(score >= this.threshold)) {
      this.run = 0;
      return false;
    }
    this.run += 1;
    if (this.run !== this.patience) return false;
    if (warmingUp || this.since <= this.refractorySteps) return false;
    this.since = 0;
    return true;
  }

  /** Length of the current run of steps at or above the threshold. */
  get runLength(): number {
    return this.run;
  }

  reset(): void {
    this.run = 0;
    this.since = Number.POSITIVE_INFINITY;
  }
}

/** Indices (0-based in `scores`) of the steps that fire under the rules. */
export function detectFirings(scores: ArrayLike<number>, opts: RuleOptions): number[] {
  const o = normalise(opts);
  const state = new RuleState(o);
  const fired: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (state.step(scores[i], i < o.warmupSteps)) fired.push(i);
  }
  return fired;
}
