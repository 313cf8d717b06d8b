import { describe, expect, it } from 'vitest';
import {
  diagnoseQuality,
  ENGINE_ERROR_CODES,
  EngineError,
  insufficientDataError,
  qualityGateError,
  toEngineError,
} from '../src/eval/errors.ts';
import {
  calibrateThreshold,
  clipMetrics,
  countFirings,
  dPrime,
  eer,
  faPerHour,
  missRate,
  partialAuc,
  qualityGrade,
  rocAuc,
} from '../src/eval/metrics.ts';
import { chooseEvaluated, MISS_TIE, missTie, type ScoreEvaluation } from '../src/pipeline/evaluate.ts';

describe('d′, AUC, EER on hand-computed cases', () => {
  it("d′ is Cohen's d with population variances", () => {
    // pos mean 0.8, pop var 0.01; neg mean 0.2, pop var 0.01 → (0.6)/√0.01 = 6
    expect(dPrime([0.7, 0.9], [0.1, 0.3])).toBeCloseTo(6, 10);
    // pos var 0.04 (0.6, 1.0), neg var 0 → 0.6/√0.02
    expect(dPrime([0.6, 1.0], [0.2, 0.2])).toBeCloseTo(0.6 / Math.sqrt(0.02), 10);
    expect(dPrime([0.5, 0.5], [0.5, 0.5])).toBe(0);
    expect(dPrime([0.6, 0.6], [0.4, 0.4])).toBe(0); // zero spread: denominator below 1e-10
    expect(Number.isNaN(dPrime([], [0.1]))).toBe(true);
  });

  it('AUC counts ties as ½', () => {
    expect(rocAuc([0.9, 0.8], [0.1, 0.2])).toBe(1);
    expect(rocAuc([0.1], [0.9])).toBe(0);
    // pairs: (0.5 vs 0.5) ½, (0.5 vs 0.2) 1, (0.9 vs 0.5) 1, (0.9 vs 0.2) 1 → 3.5/4
    expect(rocAuc([0.5, 0.9], [0.5, 0.2])).toBeCloseTo(0.875, 12);
    // pos [0.3, 0.6, 0.6], neg [0.6, 0.1]: 0.3 → 0 + 1; 0.6 → ½ + 1 (twice) → 4/6
    expect(rocAuc([0.3, 0.6, 0.6], [0.6, 0.1])).toBeCloseTo(4 / 6, 12);
  });

  it('all scores equal → AUC 0.5 and EER 0.5', () => {
    expect(rocAuc([0.4, 0.4, 0.4], [0.4, 0.4])).toBe(0.5);
    expect(eer([0.4, 0.4, 0.4], [0.4, 0.4])).toBe(0.5);
  });

  it('EER is interpolated between ROC points', () => {
    expect(eer([0.9, 0.8], [0.1, 0.2])).toBe(0);
    // ROC (FAR, FRR): (0,1) → t=0.9 (0, 0.5) → t=0.6 (0.5, 0.5) → t=0.4 (0.5, 0) → t=0.1 (1, 0)
    // FAR − FRR: −1, −0.5, 0 → EER where it reaches 0: 0.5
    expect(eer([0.9, 0.4], [0.6, 0.1])).toBeCloseTo(0.5, 12);
    // pos [0.8, 0.6, 0.3], neg [0.7, 0.2, 0.1]: (0,1) → 0.8 (0, 2/3) → 0.7 (1/3, 2/3) → 0.6 (1/3, 1/3): sign change
    // between (1/3, 2/3) [−1/3] and (1/3, 1/3) [0] → 1/3
    expect(eer([0.8, 0.6, 0.3], [0.7, 0.2, 0.1])).toBeCloseTo(1 / 3, 12);
    // interpolation inside a tied step: pos [0.5], neg [0.5, 0.1] → (0,1) → t=0.5 (0.5, 0): d −1 → 0.5, a = 2/3 → 1/3
    expect(eer([0.5], [0.5, 0.1])).toBeCloseTo(1 / 3, 12);
  });

  it('one class empty → null with a reason', () => {
    expect(rocAuc([], [0.1])).toBeNull();
    expect(eer([0.2], [])).toBeNull();
    expect(clipMetrics([], [0.1, 0.2])).toEqual({
      d_prime: null,
      auc: null,
      eer: null,
      reason: 'no positive clips',
    });
    expect(clipMetrics([0.9], []).reason).toBe('no negative clips');
    const ok = clipMetrics([0.7, 0.9], [0.1, 0.3]);
    expect(ok).toEqual({ d_prime: dPrime([0.7, 0.9], [0.1, 0.3]), auc: 1, eer: 0, reason: null });
  });

  it('partial AUC over FPR 0–1 %, normalised', () => {
    const neg = Array.from({ length: 1000 }, (_, i) => i / 1000); // 0 … 0.999
    expect(partialAuc([2], neg)).toBeCloseTo(1, 12); // the positive beats every negative
    expect(partialAuc([-1], neg)).toBeCloseTo(0, 12);
    // the positive beats all but the top 5 negatives: TPR 0 until FPR 0.5 %, then 1 → area (0.01 − 0.005)/0.01
    expect(partialAuc([0.9945], neg)).toBeCloseTo(0.5, 12);
    expect(partialAuc([], neg)).toBeNull();
  });
});

describe('FA/h through the detection rules', () => {
  const steps = (n: number, v = 0) => new Array<number>(n).fill(v);

  it('counts firings with refractory and patience over the real duration', () => {
    const s = steps(200);
    s[50] = 0.9; // fires
    s[60] = 0.9; // within 25 steps of the last firing: suppressed
    s[100] = 0.9; // fires
    s[101] = 0.9; // same run
    s[150] = 0.9; // single-step spike: fires with patience 1 only
    expect(countFirings(s, { threshold: 0.5, warmupSteps: 0 })).toBe(3);
    expect(faPerHour(s, 0.5, { threshold: 0.5, warmupSteps: 0 })).toBe(6);
    expect(countFirings(s, { threshold: 0.5, patience: 2, warmupSteps: 0 })).toBe(1);
    expect(countFirings(s, { threshold: 0.95, warmupSteps: 0 })).toBe(0);
    // warm-up: with the detector's default (sequence from step 1), early steps cannot fire
    const w = steps(40);
    w[3] = 0.9;
    expect(countFirings(w, { threshold: 0.5 })).toBe(0);
    expect(countFirings(w, { threshold: 0.5, warmupSteps: 0 })).toBe(1);
    expect(() => faPerHour(s, 0, { threshold: 0.5 })).toThrow();
  });

  it('miss rate at a threshold', () => {
    expect(missRate([0.2, 0.6, 0.5, 0.9], 0.5)).toBe(0.25);
    expect(missRate([0.2], 0.1)).toBe(0);
    expect(Number.isNaN(missRate([], 0.5))).toBe(true);
  });
});

describe('threshold calibration (§8.4)', () => {
  /** A stream with isolated single-step peaks at the given heights, 30 steps apart (no refractory interaction). */
  const stream = (peaks: number[]) => {
    const s = new Array<number>(30 * peaks.length + 30).fill(0.01);
    peaks.forEach((p, i) => {
      s[30 + 30 * i] = p;
    });
    return s;
  };

  it('picks the lowest scanned threshold within the target', () => {
    // 1 hour; peaks 0.95, 0.9, 0.8, 0.7: target 2 FA/h allows thresholds > 0.8 → 0.81
    const c = calibrateThreshold(stream([0.95, 0.9, 0.8, 0.7]), 1, 2, 1, { warmupSteps: 0 });
    expect(c).toEqual({ threshold: 0.81, faPerHour: 2, resolutionLimited: false });
  });

  it('scans above 0.99 (0.995 … 0.9999), returns 0.9999 when even that exceeds the target, never below 0.10', () => {
    expect(calibrateThreshold(stream([0.995, 0.999]), 1, 0.5, 1, { warmupSteps: 0 })).toEqual({
      threshold: 0.9995,
      faPerHour: 0,
      resolutionLimited: true,
    });
    expect(calibrateThreshold(stream([0.995, 0.999]), 1, 1, 1, { warmupSteps: 0 })).toEqual({
      threshold: 0.998,
      faPerHour: 1,
      resolutionLimited: false,
    });
    expect(calibrateThreshold(stream([0.99995, 0.99999]), 1, 1, 1, { warmupSteps: 0 })).toEqual({
      threshold: 0.9999,
      faPerHour: 2,
      resolutionLimited: false,
    });
    expect(calibrateThreshold(stream([0.05]), 1, 0.5, 1, { warmupSteps: 0 }).threshold).toBe(0.1);
  });

  it('stops at the first threshold that exceeds the target in the non-monotonic case', () => {
    // Two 0.7 peaks 30 steps apart over a 0.5 plateau: for 0.5 < t ≤ 0.7 they are two runs (2 firings);
    // for t ≤ 0.5 the plateau joins them into one run (1 firing). Counts are not monotonic in t.
    const s = new Array<number>(300).fill(0.01);
    for (let k = 100; k <= 130; k++) s[k] = 0.5;
    s[100] = 0.7;
    s[130] = 0.7;
    const at = (t: number) => countFirings(s, { threshold: t, warmupSteps: 0 });
    expect([at(0.71), at(0.7), at(0.51), at(0.5), at(0.1)]).toEqual([0, 2, 2, 1, 1]);
    // target 1 FA/h over 1 h: 0.99 … 0.71 meet it, 0.70 exceeds it → the scan stops there, although 0.50 would
    // meet the target again
    expect(calibrateThreshold(s, 1, 1, 1, { warmupSteps: 0 })).toEqual({
      threshold: 0.71,
      faPerHour: 0,
      resolutionLimited: false,
    });
    // with a target of 2 the whole range passes and the floor 0.10 is returned
    expect(calibrateThreshold(s, 1, 2, 1, { warmupSteps: 0 })).toEqual({
      threshold: 0.1,
      faPerHour: 1,
      resolutionLimited: false,
    });
  });

  it('flags the resolution limit when the target is below 1/H', () => {
    // 0.5 h of audio: the smallest non-zero rate is 2 FA/h; target 0.5 → lowest threshold with zero firings
    const c = calibrateThreshold(stream([0.9, 0.42]), 0.5, 0.5, 1, { warmupSteps: 0 });
    expect(c).toEqual({ threshold: 0.91, faPerHour: 0, resolutionLimited: true });
    expect(calibrateThreshold(stream([0.9]), 4, 0.5, 1, { warmupSteps: 0 }).resolutionLimited).toBe(false);
  });
});

describe('grade table (§8.5)', () => {
  it.each([
    [0.0, 6, 'A'],
    [0.03, 5.0, 'A'],
    [0.03, 4.99, 'B'],
    [0.031, 9, 'B'],
    [0.07, 3.5, 'B'],
    [0.02, 3.0, 'C'],
    [0.15, 2.5, 'C'],
    [0.16, 9, 'D'],
    [0.3, 1.5, 'D'],
    [0.31, 9, 'F'],
    [0.0, 1.49, 'F'],
  ] as const)('miss %s, d′ %s → %s', (m, d, g) => {
    expect(qualityGrade(m, d)).toBe(g);
  });

  it('evaluation impossible → F', () => {
    expect(qualityGrade(null, 6)).toBe('F');
    expect(qualityGrade(0, null)).toBe('F');
    expect(qualityGrade(Number.NaN, 6)).toBe('F');
  });
});

describe('typed errors and actionable messages (§8.6)', () => {
  it('has the codes of docs/engine.md §8.6', () => {
    expect([...ENGINE_ERROR_CODES].sort()).toEqual(
      [
        'cancelled',
        'frontend_mismatch',
        'insufficient_data',
        'internal',
        'quality_gate',
        'synthesis_unavailable',
      ].sort(),
    );
    const e = insufficientDataError(3);
    expect(e).toBeInstanceOf(EngineError);
    expect(e.code).toBe('insufficient_data');
    expect(e.message).toBe('Not enough usable recordings (3). At least 5 are required.');
    expect(toEngineError(new Error('boom')).code).toBe('internal');
    expect(toEngineError(e)).toBe(e);
  });

  const base = { wakeWord: 'hey viola', clipsTotal: 10 };
  it.each([
    [{ silentClips: 4 }, 'silent', '4 of your recordings are almost silent.'],
    [{ medianSpeechSeconds: 0.3 }, 'too_short', 'The wake word is too short'],
    [{ syllables: 1 }, 'too_short', 'Use two or more syllables'],
    [{ inconsistentClips: 2 }, 'inconsistent', "differ from each other or from the text 'hey viola'"],
    [{ heldOutUserMissRate: 0.6, evalSyntheticMissRate: 0.05 }, 'inconsistent', 'Say the same phrase'],
    [{ clippedOrNoisyClips: 7 }, 'noisy', 'distorted or noisy'],
    [{ confusableFaRate: 0.4, closestConfusable: 'hey lola' }, 'confusable', "(e.g. 'hey lola')"],
    [{}, 'inseparable', "could not separate 'hey viola' from other speech"],
  ] as const)('%o → %s', (diag, cause, text) => {
    const d = { ...base, ...diag };
    expect(diagnoseQuality(d)).toBe(cause);
    const e = qualityGateError(d);
    expect(e.code).toBe('quality_gate');
    expect(e.message).toContain(text);
    expect(e.details.cause).toBe(cause);
  });

  it('checks the diagnostics in the order of the table', () => {
    // silent wins over everything after it; too short wins over noisy
    expect(
      diagnoseQuality({ ...base, silentClips: 5, medianSpeechSeconds: 0.2, confusableFaRate: 0.9 }),
    ).toBe('silent');
    expect(diagnoseQuality({ ...base, medianSpeechSeconds: 0.2, clippedOrNoisyClips: 9 })).toBe('too_short');
    expect(diagnoseQuality({ ...base, silentClips: 1 })).toBe('inseparable');
  });
});

describe('choosing among trained candidates on held-out data', () => {
  const cand = (arch: string, miss: number | null, dPrime: number, grade = 'C') => ({
    arch,
    detail: { miss_rate_at_threshold: miss, d_prime: dPrime, quality_grade: grade } as ScoreEvaluation,
  });

  it('keeps a passing candidate over a failing one, then a passing ensemble, then the lower miss rate, then d′', () => {
    expect(chooseEvaluated([cand('tcn', 0.02, 5, 'F'), cand('mlp', 0.3, 3)]).arch).toBe('mlp');
    const pair = (miss: number, grade = 'C') => ({ ...cand('mlp+tcn', miss, 5.3, grade), heads: [1, 2] });
    const single = (arch: string, miss: number, dPrime: number) => ({
      ...cand(arch, miss, dPrime),
      heads: [1],
    });
    // an ensemble that passes is kept, even where a single head misses fewer held-out positives
    expect(chooseEvaluated([single('tcn', 0.19, 6), single('mlp', 0.05, 7), pair(0.1)]).arch).toBe('mlp+tcn');
    // a failing ensemble is not
    expect(chooseEvaluated([single('tcn', 0.19, 6), single('mlp', 0.05, 7), pair(0.01, 'F')]).arch).toBe(
      'mlp',
    );
    // between single heads: within half a point of miss rate the higher d′, else the lower miss rate
    expect(chooseEvaluated([cand('tcn', 0.1, 6), cand('mlp', 0.104, 7)]).arch).toBe('mlp');
    expect(chooseEvaluated([cand('tcn', 0.1, 6), cand('mlp', 0.2, 7)]).arch).toBe('tcn');
    // on a full tie the first (the trainer's validation choice) stays
    expect(chooseEvaluated([cand('tcn', 0.1, 6), cand('mlp', 0.1, 6)]).arch).toBe('tcn');
    expect(() => chooseEvaluated([])).toThrow(RangeError);
  });

  it('counts differences the held-out positives cannot resolve as ties (two standard errors)', () => {
    const on = (c: ReturnType<typeof cand>, n: number) => ({ ...c, detail: { ...c.detail, n_positives: n } });
    // hey jarvis, benchmark run of 14:30: one head missed 16 of 140 held-out clips, the other 20
    const mlp = on(cand('mlp', 16 / 140, 5.1), 140);
    const tcn = on(cand('tcn', 20 / 140, 6.3), 140);
    expect(missTie(mlp.detail, tcn.detail)).toBeCloseTo(2 * Math.sqrt((0.1286 * 0.8714) / 140), 3);
    expect(chooseEvaluated([mlp, tcn]).arch).toBe('tcn');
    // a difference well beyond the sampling error still decides
    expect(chooseEvaluated([on(cand('mlp', 2 / 140, 5.1), 140), tcn]).arch).toBe('mlp');
    // with many positives the margin shrinks to MISS_TIE
    expect(missTie(on(cand('a', 0.1, 1), 1e7).detail, on(cand('b', 0.1, 1), 1e7).detail)).toBe(MISS_TIE);
  });
});
