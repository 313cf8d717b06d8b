/**
 * False accepts per hour with their resolution and an exact Poisson confidence interval (docs/engine.md, "Honest
 * metrics"). A stream of H hours can only measure rates in steps of 1/H: zero false accepts in 3 h says "fewer than
 * one in 3 h", not "0 per hour". Every FA/h a model states goes through `falseAcceptReport`, which never claims a rate
 * below that resolution and says whether the target can be resolved at all.
 */
import gammaQuantile from '@stdlib/stats-base-dists-gamma-quantile';

/**
 * Exact (Garwood) two-sided interval for the mean of a Poisson count `k` at `confidence`: lower = Γ⁻¹(α/2; k),
 * upper = Γ⁻¹(1 − α/2; k + 1) (gamma quantiles, rate 1), lower 0 when k = 0.
 */
export function poissonInterval(k: number, confidence = 0.95): [number, number] {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`poissonInterval: count ${k} is not a count`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`poissonInterval: confidence ${confidence}`);
  const a = 1 - confidence;
  const lower = k === 0 ? 0 : gammaQuantile(a / 2, k, 1);
  const upper = gammaQuantile(1 - a / 2, k + 1, 1);
  return [lower, upper];
}

/** What a model states about its false accepts on an evaluation stream (manifest `evaluation.false_accepts`). */
export interface FalseAcceptReport {
  /** Hours of negative audio the count comes from. */
  hours: number;
  /** False accepts counted (firings of the detection rules at the model's threshold). */
  count: number;
  /**
   * The FA/h stated: count / hours, but never below the resolution — with no false accept it is the resolution
   * itself, and `below_resolution` says that the true rate may be anywhere under it.
   */
  fa_per_hour: number;
  /** count / hours as measured (0 when nothing fired). */
  measured_fa_per_hour: number;
  /** true when nothing fired: `fa_per_hour` is then the resolution, an upper figure, not a measurement */
  below_resolution: boolean;
  /** Exact Poisson 95 % interval of the rate, per hour. */
  ci95: [number, number];
  /** 1 / hours: the smallest non-zero rate this stream can measure. */
  resolution_per_hour: number;
  target_fa_per_hour: number;
  /** Whether the stream can resolve the target at all (resolution ≤ target). */
  target_resolved: boolean;
  /**
   * Whether the measurement shows the target is met with 95 % confidence (upper end of the interval ≤ target).
   * Needs at least 3.69 / target hours even with no false accept (7.4 h for 0.5 FA/h).
   */
  target_met_at_95: boolean;
  /** Whether the measurement shows the target is exceeded with 95 % confidence (lower end > target). */
  target_exceeded_at_95: boolean;
  /** One sentence for people: what the numbers do and do not show. */
  statement: string;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;
const fmt = (x: number) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The report of `count` false accepts in `hours` of negative audio against `target` FA/h. */
export function falseAcceptReport(count: number, hours: number, target: number): FalseAcceptReport {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`falseAcceptReport: count ${count}`);
  if (!(target > 0)) throw new RangeError(`falseAcceptReport: target ${target}`);
  if (!(hours > 0)) {
    return {
      hours: 0,
      count,
      fa_per_hour: 0,
      measured_fa_per_hour: 0,
      below_resolution: true,
      ci95: [0, 0],
      resolution_per_hour: 0,
      target_fa_per_hour: target,
      target_resolved: false,
      target_met_at_95: false,
      target_exceeded_at_95: false,
      statement: 'No negative audio was evaluated: the false-accept rate is unknown.',
    };
  }
  const resolution = 1 / hours;
  const measured = count / hours;
  const [lo, hi] = poissonInterval(count);
  const ci: [number, number] = [round(lo / hours), round(hi / hours)];
  const resolved = resolution <= target;
  const met = ci[1] <= target;
  const exceeded = ci[0] > target;
  const h = hours >= 1 ? `${fmt(hours)} h` : `${(hours * 60).toFixed(0)} min`;
  let statement: string;
  if (!resolved)
    statement = `${h} of evaluation audio cannot resolve ${target} false accepts per hour (its resolution is ${fmt(resolution)} per hour): ${count === 0 ? `no false accept was seen, and the rate may be anywhere up to ${fmt(ci[1])} per hour (95 %)` : `${count} false ${count === 1 ? 'accept was' : 'accepts were'} seen, ${fmt(measured)} per hour (95 % interval ${fmt(ci[0])}–${fmt(ci[1])})`}.`;
  else if (count === 0)
    statement = `No false accept in ${h} of evaluation audio: the rate is below the resolution of ${fmt(resolution)} per hour as far as this audio can tell (95 % interval 0–${fmt(ci[1])} per hour).`;
  else
    statement = `${count} false ${count === 1 ? 'accept' : 'accepts'} in ${h} of evaluation audio: ${fmt(measured)} per hour (95 % interval ${fmt(ci[0])}–${fmt(ci[1])}).`;
  return {
    hours: round(hours),
    count,
    fa_per_hour: round(Math.max(measured, resolution)),
    measured_fa_per_hour: round(measured),
    below_resolution: count === 0,
    ci95: ci,
    resolution_per_hour: round(resolution),
    target_fa_per_hour: target,
    target_resolved: resolved,
    target_met_at_95: met,
    target_exceeded_at_95: exceeded,
    statement,
  };
}
