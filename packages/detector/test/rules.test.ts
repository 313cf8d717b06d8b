import { describe, expect, it } from 'vitest';
import { detectFirings, RuleState } from '../src/rules.ts';

/** A sequence from a compact script: each char is one step; '#' = 0.9 (above), '.' = 0.1 (below). */
const script = (s: string) => Array.from(s, (c) => (c === '#' ? 0.9 : 0.1));

describe('detection rules (docs/engine.md §5)', () => {
  it('patience 1 fires on every upward crossing separated by more than the refractory period', () => {
    const scores = script(`..###....${'.'.repeat(30)}##..`);
    expect(detectFirings(scores, { threshold: 0.5, warmupSteps: 0 })).toEqual([2, 39]);
  });

  it('a continuing run fires once', () => {
    const scores = script('#'.repeat(100));
    expect(detectFirings(scores, { threshold: 0.5, warmupSteps: 0, refractorySteps: 5 })).toEqual([0]);
  });

  it('patience N fires at the N-th consecutive step, never for shorter runs', () => {
    const scores = script(`.##.###.####${'.'.repeat(40)}###`);
    expect(detectFirings(scores, { threshold: 0.5, patience: 3, warmupSteps: 0 })).toEqual([6, 54]);
    expect(detectFirings(scores, { threshold: 0.5, patience: 4, warmupSteps: 0 })).toEqual([11]);
    expect(detectFirings(scores, { threshold: 0.5, patience: 5, warmupSteps: 0 })).toEqual([]);
  });

  it('the threshold is inclusive (score ≥ threshold)', () => {
    expect(detectFirings([0.2, 0.5, 0.2], { threshold: 0.5, warmupSteps: 0 })).toEqual([1]);
    expect(detectFirings([0.2, 0.4999, 0.2], { threshold: 0.5, warmupSteps: 0 })).toEqual([]);
  });

  it('refractory: 25 steps (2.0 s) after a firing nothing fires; step 26 can', () => {
    // Firing at 0, then crossings at 25 (inside) and 26 (outside, since the 25-crossing's run ended at 25).
    const inside = script(`#${'.'.repeat(24)}#`);
    expect(detectFirings(inside, { threshold: 0.5, warmupSteps: 0 })).toEqual([0]);
    const outside = script(`#${'.'.repeat(25)}#`);
    expect(detectFirings(outside, { threshold: 0.5, warmupSteps: 0 })).toEqual([0, 26]);
  });

  it('a run that reaches N inside the refractory period does not fire later, even if it lasts past it', () => {
    const scores = script(`#.${'.'.repeat(20)}${'#'.repeat(20)}..#`);
    // Run starting at 22 is inside the refractory period of the firing at 0 and keeps going until 41: no firing.
    // It must fall and rise again: the crossing at 44 fires.
    expect(detectFirings(scores, { threshold: 0.5, warmupSteps: 0 })).toEqual([0, 44]);
  });

  it('warm-up: default 9 leading steps (k < 10) cannot fire; a run reaching N there is consumed', () => {
    const scores = script('..#..' + '....' + '#' + '....');
    // index 2 is warming up; index 9 (step k = 10) is the first that can fire.
    expect(detectFirings(scores, { threshold: 0.5 })).toEqual([9]);
    const longRun = script(`....${'#'.repeat(10)}...#`);
    // The run reaching length 1 at index 4 (warming up) continues past the warm-up: no firing until it re-crosses.
    expect(detectFirings(longRun, { threshold: 0.5 })).toEqual([17]);
    // A warming-up step starts no refractory period.
    expect(detectFirings(script('#.........#'), { threshold: 0.5 })).toEqual([10]);
  });

  it('each rule option is validated', () => {
    expect(() => detectFirings([0.1], { threshold: Number.NaN })).toThrow(RangeError);
    expect(() => new RuleState({ threshold: 0.5, patience: 0 })).toThrow(RangeError);
    expect(() => new RuleState({ threshold: 0.5, refractorySteps: -1 })).toThrow(RangeError);
  });

  it('RuleState gives the same firings as detectFirings and resets cleanly', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const scores = Array.from({ length: 2000 }, () => (rand() < 0.3 ? 0.6 + rand() * 0.4 : rand() * 0.6));
    for (const patience of [1, 2, 3]) {
      const opts = { threshold: 0.6, patience, refractorySteps: 25 };
      const expected = detectFirings(scores, opts);
      expect(expected.length).toBeGreaterThan(5);
      const st = new RuleState(opts);
      st.step(0.9, false); // dirty state, then reset
      st.reset();
      const got: number[] = [];
      scores.forEach((s, i) => {
        if (st.step(s, i < 9)) got.push(i);
      });
      expect(got).toEqual(expected);
      // Independently: every firing is the N-th step of a run, and firings are > 25 steps apart.
      for (let j = 0; j < expected.length; j++) {
        const i = expected[j];
        for (let d = 0; d < patience; d++) expect(scores[i - d]).toBeGreaterThanOrEqual(0.6);
        if (i - patience >= 0) expect(scores[i - patience]).toBeLessThan(0.6);
        if (j > 0) expect(i - expected[j - 1]).toBeGreaterThan(25);
      }
    }
  });

  it('NaN scores count as below the threshold', () => {
    expect(
      detectFirings([0.9, Number.NaN, 0.9], { threshold: 0.5, warmupSteps: 0, refractorySteps: 0 }),
    ).toEqual([0, 2]);
  });
});
