import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rms } from '../src/audio/levels.ts';
import { trimClip } from '../src/audio/trim.ts';
import { readWavFile16k, writeWav16 } from '../src/audio/wav.ts';
import {
  diagnoseQuality,
  EngineError,
  type QualityCause,
  type QualityDiagnostics,
} from '../src/eval/errors.ts';
import {
  CANVAS_SAMPLES,
  END_MAX,
  END_MIN,
  fitLength,
  MAX_UTTERANCE_SAMPLES,
  PAD_AFTER,
  PAD_BEFORE,
  padForScoring,
  placeOnCanvas,
  windowsContaining,
} from '../src/pipeline/canvas.ts';
import { openRuntime } from '../src/pipeline/runtime.ts';
import {
  foldOf,
  inconsistentClips,
  STAGE_RANGES,
  secondDrawSeed,
  type TrainJob,
  trainWakeWord,
  withSecondDraw,
} from '../src/pipeline/train.ts';
import { deriveRng } from '../src/rng.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const dev = resolve(repoRoot, '../shared/data/picovoice-dev');
const tmp = mkdtempSync(join(tmpdir(), 'vw-pipeline-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('canvases and windows (docs/engine.md §6.8)', () => {
  it('window W_k covers samples [1280k − 31840, 1280k): an utterance ending by 2.00 s fits all four when ≤ 1.59 s', () => {
    // 1.59 s utterance ending at 2.00 s starts at 0.41 s ≥ 0.25 s (start of W_28)
    expect(windowsContaining(32000 - 25440, 32000)).toEqual([0, 1, 2, 3]);
    // a 1.75 s utterance ending at 2.00 s is inside W_25 … W_27 only (W_28 starts at 4000)
    expect(windowsContaining(32000 - 28000, 32000)).toEqual(
      [0, 1, 2, 3].filter((j) => 32000 - 28000 >= 1280 * (25 + j) - 31840),
    );
    // ending after 2.00 s excludes W_25
    expect(windowsContaining(20000, 32001)).toEqual([1, 2, 3]);
  });

  it('places the utterance with its end in 1.84–2.00 s on a 2.24 s canvas, seeded', () => {
    const utt = new Float32Array(16000).fill(0.25);
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const p = placeOnCanvas(utt, {
        rng: deriveRng(5, 'place-test', i),
        bed: (n) => new Float32Array(n).fill(0.01),
      });
      expect(p.canvas.length).toBe(CANVAS_SAMPLES);
      expect(p.end).toBeGreaterThanOrEqual(END_MIN);
      expect(p.end).toBeLessThanOrEqual(END_MAX);
      expect(p.end - p.start).toBe(16000);
      expect(p.windows).toEqual([0, 1, 2, 3]);
      seen.add(p.background);
      if (p.background === 'silence') expect(p.canvas[0]).toBe(0);
      if (p.background === 'floor') expect(20 * Math.log10(rms(p.canvas, 0, p.start))).toBeCloseTo(-72, 0);
      if (p.background === 'bed') {
        const bedDb = 20 * Math.log10(rms(p.canvas, 0, p.start));
        expect(bedDb).toBeLessThanOrEqual(20 * Math.log10(0.25) - 10 + 0.01);
        expect(bedDb).toBeGreaterThanOrEqual(20 * Math.log10(0.25) - 30 - 0.01);
      }
      const again = placeOnCanvas(utt, {
        rng: deriveRng(5, 'place-test', i),
        bed: (n) => new Float32Array(n).fill(0.01),
      });
      expect(again.canvas).toEqual(p.canvas);
    }
    expect(seen).toEqual(new Set(['floor', 'silence', 'bed']));
    expect(() =>
      placeOnCanvas(new Float32Array(MAX_UTTERANCE_SAMPLES + 1), { rng: deriveRng(1, 'x', 0) }),
    ).toThrow();
  });

  it('speeds long clips up to 1.75 s and pads scored clips by 2 s / 1 s up to whole steps', () => {
    const long = Float32Array.from({ length: 40000 }, (_, i) => Math.sin(i / 50));
    expect(fitLength(long).length).toBe(MAX_UTTERANCE_SAMPLES);
    expect(fitLength(long.subarray(0, 100))).toHaveLength(100);
    const clip = new Float32Array(12345).fill(0.5);
    const padded = padForScoring(clip, deriveRng(1, 'pad', 0));
    expect(padded.length % 1280).toBe(0);
    expect(padded.length).toBeGreaterThanOrEqual(PAD_BEFORE + clip.length + PAD_AFTER);
    expect(padded.subarray(PAD_BEFORE, PAD_BEFORE + clip.length)).toEqual(clip);
    expect(20 * Math.log10(rms(padded, 0, PAD_BEFORE))).toBeCloseTo(-72, 0);
  });
});

describe('trainWakeWord failures are typed EngineErrors', () => {
  it('rejects fewer than 5 usable clips with insufficient_data (silent and unreadable clips do not count)', async () => {
    const clips = readdirSync(join(dev, 'computer'))
      .sort()
      .slice(0, 3)
      .map((f) => join(dev, 'computer', f));
    const err = await trainWakeWord({
      wakeWord: 'computer',
      clips: [...clips, join(tmp, 'missing.wav')],
      dataDir: tmp,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.code).toBe('insufficient_data');
    expect(err.message).toMatch(/At least 5/);
    // the clip that could not be used is named, by its file name when no labels are given
    expect(err.message).toMatch(/Not used: missing\.wav: The take holds no audio\.$/);
  });

  it('names the takes it could not use by the labels the user knows, with the reason', async () => {
    const clips = readdirSync(join(dev, 'computer'))
      .sort()
      .slice(0, 4)
      .map((f) => join(dev, 'computer', f));
    const tone = join(tmp, 'tone.wav');
    writeFileSync(
      tone,
      writeWav16(
        Float32Array.from({ length: 32000 }, (_, i) =>
          i > 8000 && i < 24000 ? 0.3 * Math.sin(i * 0.17) : 0,
        ),
        16000,
      ),
    );
    const err = await trainWakeWord({
      wakeWord: 'computer',
      clips: [clips[0]!, tone, ...clips.slice(1)],
      clipLabels: ['take 1', 'take 2', 'take 3', 'take 4', 'take 5'],
      dataDir: tmp,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.code).toBe('insufficient_data');
    expect(err.message).toBe(
      'Not enough usable recordings (4). At least 5 are required. Not used: take 2: The take does not sound like ' +
        'speech (a knock, a click, a hum or music?). Say the wake word clearly.',
    );
    expect(err.message).not.toMatch(/\.wav/);
    expect(err.details).toMatchObject({ usable: 4 });
  });

  it('counts a recording given twice once: three takes and three copies of them are not five recordings', async () => {
    const takes = readdirSync(join(dev, 'computer'))
      .sort()
      .slice(0, 3)
      .map((f) => join(dev, 'computer', f));
    const copies: string[] = [];
    for (const [i, f] of takes.entries()) {
      // the same take, louder and with a quarter second more silence before it
      const x = await readWavFile16k(f);
      const y = new Float32Array(4000 + x.length);
      y.set(
        x.map((v) => 1.4 * v),
        4000,
      );
      const out = join(tmp, `copy-${i}.wav`);
      writeFileSync(out, writeWav16(y, 16000));
      copies.push(out);
    }
    const err = await trainWakeWord({
      wakeWord: 'computer',
      clips: [...takes, ...copies],
      dataDir: tmp,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.code).toBe('insufficient_data');
    expect(err.message).toBe(
      'Not enough usable recordings (3 different takes; 3 more were copies of these). At least 5 are required.',
    );
    expect(err.details).toEqual({ usable: 3, copies: 3 });
  });

  it('trains a second draw after a quality gate the draw can change, never after one the data causes', async () => {
    // diagnostics that diagnoseQuality names with each cause
    const diagnostics: Record<QualityCause, QualityDiagnostics> = {
      silent: { wakeWord: 'hey viola', clipsTotal: 10, silentClips: 5 },
      too_short: { wakeWord: 'hey viola', syllables: 1 },
      inconsistent: { wakeWord: 'hey viola', inconsistentClips: 2 },
      noisy: { wakeWord: 'hey viola', clipsTotal: 10, clippedOrNoisyClips: 8 },
      confusable: { wakeWord: 'hey viola', confusableFaRate: 0.5 },
      inseparable: { wakeWord: 'hey viola' },
    };
    for (const [cause, d] of Object.entries(diagnostics)) expect(diagnoseQuality(d)).toBe(cause);
    // round i fails with causes[i] (null: passes); a round's result is its index
    const run = async (causes: (QualityCause | null)[], job: Partial<TrainJob> = {}) => {
      const calls: { seed: number; second: boolean }[] = [];
      const out = await withSecondDraw(
        job,
        5,
        async (seed, second) => {
          calls.push({ seed, second });
          return calls.length - 1;
        },
        (i) => {
          const cause = causes[i];
          return cause ? { diagnostics: diagnostics[cause], missed: 0.3 } : null;
        },
      );
      return { calls, ...out };
    };
    const second = secondDrawSeed(5);
    expect(second).not.toBe(5);
    // a passing first round is the job's
    expect(await run([null])).toEqual({
      calls: [{ seed: 5, second: false }],
      result: 0,
      failure: null,
      note: null,
    });
    for (const cause of ['inseparable', 'confusable'] as const) {
      const r = await run([cause, null]);
      expect(r.calls).toEqual([
        { seed: 5, second: false },
        { seed: second, second: true },
      ]);
      expect(r.result).toBe(1);
      expect(r.failure).toBeNull();
      expect(r.note).toBe(
        `The first training draw (seed 5) did not pass the quality check (30.0 % of held-out positives missed); this model's heads are from a second draw (trainer seed ${second}) on the same data.`,
      );
    }
    // both draws fail: the second one's failure
    const both = await run(['inseparable', 'confusable']);
    expect(both.calls).toHaveLength(2);
    expect(both.result).toBe(1);
    expect(both.failure?.diagnostics).toBe(diagnostics.confusable);
    // the data's own problems, an opt-out, a cancelled job: one draw, its failure
    for (const cause of ['silent', 'too_short', 'inconsistent', 'noisy'] as const) {
      const r = await run([cause, null]);
      expect(r.calls).toHaveLength(1);
      expect(r.failure?.diagnostics).toBe(diagnostics[cause]);
      expect(r.note).toBeNull();
    }
    expect((await run(['inseparable', null], { secondDraw: false })).calls).toHaveLength(1);
    const aborted = new AbortController();
    aborted.abort();
    expect((await run(['inseparable', null], { signal: aborted.signal })).calls).toHaveLength(1);
  });

  it('rejects an aborted job with cancelled, and an invalid wake word', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await trainWakeWord({
      wakeWord: 'computer',
      textOnly: true,
      dataDir: tmp,
      signal: ac.signal,
    }).catch((e) => e);
    expect(err.code).toBe('cancelled');
    const bad = await trainWakeWord({ wakeWord: '   ', textOnly: true, dataDir: tmp }).catch((e) => e);
    expect(bad).toBeInstanceOf(EngineError);
  });

  it('cuts the held-out order into k folds that cover it once, sizes within one of each other', () => {
    for (const [n, k] of [
      [10, 2],
      [10, 3],
      [7, 7],
      [12, 5],
    ] as const) {
      const order = Array.from({ length: n }, (_, i) => (i * 7) % n);
      const parts = Array.from({ length: k }, (_, f) => foldOf(order, f, k));
      expect(parts.flat()).toEqual(order);
      const sizes = parts.map((p) => p.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(() => foldOf([1, 2, 3], 2, 2)).toThrow(RangeError);
    expect(() => foldOf([1, 2, 3], 0, 1)).toThrow(RangeError);
  });

  it('declares the docs/api.md §4.9 progress ranges', () => {
    expect(STAGE_RANGES).toEqual({
      preparing: [0, 5],
      synthesizing: [5, 30],
      extracting: [30, 45],
      training: [45, 90],
      evaluating: [90, 98],
      exporting: [98, 100],
    });
  });
});

describe('clip consistency (§6.2 step 4)', () => {
  const load = async (word: string, from: number, n: number) => {
    const files = readdirSync(join(dev, word))
      .sort()
      .slice(from, from + n);
    const out: Float32Array[] = [];
    for (const f of files) {
      const x = await readWavFile16k(join(dev, word, f));
      const t = trimClip(x);
      out.push(t.ok ? t.samples : x);
    }
    return out;
  };

  it('flags a "snowboy" recording among "computer" ones, and none of ten "computer" recordings', async () => {
    const rt = await openRuntime();
    const computer = await load('computer', 0, 10);
    const snowboy = await load('snowboy', 0, 2);
    expect(await inconsistentClips(rt, computer, 1)).toEqual([]);
    expect(await inconsistentClips(rt, [...computer.slice(0, 8), snowboy[0] as Float32Array], 1)).toEqual([
      8,
    ]);
    expect(await inconsistentClips(rt, [snowboy[1] as Float32Array, ...computer.slice(2, 9)], 1)).toEqual([
      0,
    ]);
  }, 120_000);
});
