import { describe, expect, it } from 'vitest';
import {
  type BenchReport,
  type BenchRow,
  parseSeeds,
  renderSeedsMarkdown,
  summarizeSeeds,
} from '../../../bench/engine-seeds.ts';

const row = (
  word: string,
  kind: BenchRow['kind'],
  m05: number,
  m01: number,
  extra: Partial<BenchRow> = {},
): BenchRow => ({
  word,
  model: kind === 'violawake' ? 'violawake' : `${word}_v0.1.onnx`,
  kind,
  miss_at_0_5: m05,
  miss_at_0_1: m01,
  train_seconds: kind === 'violawake' ? 30 : null,
  grade: null,
  architecture: null,
  ...extra,
});
const report = (training: number, results: BenchRow[]): BenchReport => ({
  machine: { cpu: 'test cpu', cores: 2 },
  seeds: { corpus: 1, training },
  options: {
    neg_hours: 2,
    bank_scale: 1,
    synth_scale: 1,
    positives_per_synthetic_word: 200,
    words: ['hey jarvis', 'snowboy'],
  },
  results,
});

describe('engine benchmark over training seeds', () => {
  it('parses a range or a list of seeds and refuses anything else', () => {
    expect(parseSeeds('1-5')).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeeds('3,1, 7')).toEqual([3, 1, 7]);
    expect(parseSeeds('2-2')).toEqual([2]);
    for (const bad of ['', 'a', '1-', '-1', '1.5']) expect(() => parseSeeds(bad)).toThrow(/--seeds/);
  });

  it('gives each word its per-seed miss rates, means and the seeds that meet each target', () => {
    const s = summarizeSeeds([
      report(1, [
        row('hey jarvis', 'violawake', 0.035, 0.055, { architecture: 'mlp+tcn', grade: 'B' }),
        row('hey jarvis', 'openwakeword', 0.08, 0.085),
        row('snowboy', 'violawake', 0.035, 0.035, { train_seconds: 28 }),
      ]),
      report(2, [
        row('hey jarvis', 'violawake', 0.1, 0.14, { architecture: 'mlp+tcn', grade: 'A', train_seconds: 62 }),
        row('hey jarvis', 'openwakeword', 0.08, 0.085),
        row('snowboy', 'violawake', 0.127, 0.127),
      ]),
    ]);
    expect(s.seeds).toEqual([1, 2]);
    const jarvis = s.rows.find((r) => r.word === 'hey jarvis' && r.kind === 'violawake');
    expect(jarvis?.per_seed.map((c) => c.miss_at_0_5)).toEqual([0.035, 0.1]);
    expect(jarvis?.mean_0_5).toBeCloseTo(0.0675, 10);
    expect(jarvis?.mean_0_1).toBeCloseTo(0.0975, 10);
    expect(s.targets).toEqual([
      {
        word: 'hey jarvis',
        seeds_at_most_5_percent: 1,
        seeds_not_worse_than_openwakeword: 1,
        max_train_seconds: 62,
      },
      {
        word: 'snowboy',
        seeds_at_most_5_percent: 1,
        seeds_not_worse_than_openwakeword: null,
        max_train_seconds: 30,
      },
    ]);
    const md = renderSeedsMarkdown(s, report(1, []));
    expect(md).toContain('| hey jarvis | violawake | 3.5 % (5.5 %) | 10.0 % (14.0 %) | 6.8 % (9.8 %) |');
    expect(md).toContain('| hey jarvis | mlp+tcn B 30 s | mlp+tcn A 62 s |');
    expect(md).toContain('| snowboy | 1 | – | 30 s |');
  });
});
