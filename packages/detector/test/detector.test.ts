import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_SAMPLES } from '../src/constants.ts';
import { createDetector, type Detection, type StepResult, scoreClip, scoreHeads } from '../src/detector.ts';
import { createFrontend, type Frontend, type FrontendModels } from '../src/frontend.ts';
import { type Head, loadHead } from '../src/head.ts';
import { loadFrontendModels, ort } from '../src/node.ts';
import { resample } from '../src/resample.ts';
import { fixture, lcg, maxAbsDiff, padClip, randomChunks } from './helpers/audio.ts';
import { model, pushAll } from './helpers/detector.ts';
import { picovoiceClips } from './helpers/paths.ts';
import { readWav } from './helpers/wav.ts';

const JARVIS = ['hey_jarvis_en-us.wav', 'hey_jarvis_en-gb.wav', 'hey_jarvis_en-us-f.wav'];
const OTHER = ['other_weather.wav', 'other_lights.wav', 'other_harvest.wav'];

let models: FrontendModels;
let fe: Frontend;
let jarvisBytes: Uint8Array;

beforeAll(async () => {
  models = await loadFrontendModels();
  fe = await createFrontend({ ort, models });
  jarvisBytes = model('hey_jarvis_v0.1.onnx');
});
afterAll(async () => {
  await fe.dispose();
});

describe('pretrained hey_jarvis head as a test fixture (docs/engine.md §13)', () => {
  it('fires once on each synthesized "hey jarvis", shortly after the word', async () => {
    const det = await createDetector({
      ort,
      frontend: fe,
      heads: [{ name: 'hey_jarvis', model: jarvisBytes }],
    });
    for (const [i, f] of JARVIS.entries()) {
      await det.reset();
      const word = fixture(f);
      const clip = padClip(word, 2.0, 1.0, 10 + i);
      const { steps, detections } = await pushAll(det, randomChunks(clip, lcg(i), 200, 8000));
      expect(steps.length).toBe(Math.floor(clip.length / STEP_SAMPLES));
      expect(steps.map((s) => s.step)).toEqual(steps.map((_, j) => j + 1));
      expect(detections).toHaveLength(1);
      const d = detections[0];
      const wordEnd = 2.0 + word.length / 16_000;
      expect(d.t).toBeGreaterThan(2.0);
      expect(d.t).toBeLessThan(wordEnd + 0.6);
      expect(d.score).toBeGreaterThanOrEqual(0.5);
      expect(d.t).toBeCloseTo(0.08 * d.step, 9);
      expect(Math.max(...steps.map((s) => s.scores.hey_jarvis))).toBeGreaterThan(0.9);
    }
    await det.dispose();
  });

  it('does not fire on other speech (synthesized and real "computer"/"snowboy" clips) or on noise', async () => {
    const det = await createDetector({
      ort,
      frontend: fe,
      heads: [{ name: 'hey_jarvis', model: jarvisBytes }],
    });
    const speech = [
      ...OTHER.map(fixture),
      ...picovoiceClips('computer', 3).map((p) => readWav(p).samples),
      ...picovoiceClips('snowboy', 3).map((p) => readWav(p).samples),
    ];
    // One long stream: every clip after 1 s of noise floor.
    const parts = speech.map((x, i) => padClip(x, 1.0, 0, 50 + i));
    const rand = lcg(3);
    const white = Int16Array.from({ length: 16_000 * 5 }, () => Math.round((rand() * 2 - 1) * 1800)); // ≈ −28 dBFS
    const hum = Int16Array.from({ length: 16_000 * 3 }, (_, i) =>
      Math.round(6000 * Math.sin((2 * Math.PI * 120 * i) / 16_000)),
    );
    const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0) + white.length + hum.length);
    let o = 0;
    for (const p of [...parts, white, hum]) {
      all.set(p, o);
      o += p.length;
    }
    const { steps, detections } = await pushAll(det, randomChunks(all, lcg(4), 500, 40_000));
    expect(steps.length).toBe(Math.floor(all.length / STEP_SAMPLES));
    expect(detections).toEqual([]);
    expect(Math.max(...steps.map((s) => s.scores.hey_jarvis))).toBeLessThan(0.2);
    await det.dispose();
  });

  it('fires on 44.1 and 48 kHz input (streaming resampler), Int16 and Float32', async () => {
    const clip = padClip(fixture('hey_jarvis_en-us.wav'), 2.0, 1.0, 77);
    const unit = Float32Array.from(clip, (v) => v / 32768);
    for (const [rate, kind] of [
      [44_100, 'int16'],
      [48_000, 'float32'],
    ] as const) {
      const hi = resample(unit, 16_000, rate);
      const input = kind === 'int16' ? Int16Array.from(hi, (v) => Math.round(v * 32768)) : hi;
      const det = await createDetector({
        ort,
        frontend: fe,
        heads: [{ name: 'j', model: jarvisBytes }],
        inputSampleRate: rate,
      });
      const { detections, steps } = await pushAll(det, randomChunks(input, lcg(rate), 64, 20_000));
      expect(detections).toHaveLength(1);
      expect(detections[0].t).toBeGreaterThan(2.0);
      expect(detections[0].t).toBeLessThan(3.9);
      // The resampler's delay is a few ms: at most one step fewer than the 16 kHz clip gives.
      expect(steps.length).toBeGreaterThanOrEqual(Math.floor(clip.length / STEP_SAMPLES) - 1);
      await det.dispose();
    }
  });
});

describe('several heads on one front end', () => {
  it('share the features and keep their own scores, thresholds and rule state', async () => {
    const names = ['hey_jarvis_v0.1.onnx', 'alexa_v0.1.onnx', 'hey_mycroft_v0.1.onnx'];
    const heads: Head[] = await Promise.all(names.map((n) => loadHead(ort, model(n))));
    const det = await createDetector({
      ort,
      frontend: fe,
      heads: [
        { name: 'jarvis', model: heads[0] },
        { name: 'alexa', model: heads[1] },
        { name: 'mycroft', model: heads[2] },
        { name: 'jarvis_strict', model: jarvisBytes, threshold: 0.999_999, patience: 3 },
      ],
    });
    expect(det.heads.map((h) => [h.name, h.threshold, h.patience, h.refractorySteps])).toEqual([
      ['jarvis', 0.5, 1, 25],
      ['alexa', 0.5, 1, 25],
      ['mycroft', 0.5, 1, 25],
      ['jarvis_strict', 0.999_999, 3, 25],
    ]);
    const clip = padClip(fixture('hey_jarvis_en-gb.wav'), 2.0, 1.0, 5);
    const whole = clip.subarray(0, Math.floor(clip.length / STEP_SAMPLES) * STEP_SAMPLES);
    const scoreEvents: StepResult[] = [];
    const detEvents: Detection[] = [];
    const off = det.on('score', (s) => scoreEvents.push(s));
    det.on('detection', (d) => detEvents.push(d));
    const { steps, detections } = await pushAll(det, randomChunks(whole, lcg(9), 1000, 10_000));
    off();
    expect(scoreEvents).toEqual(steps);
    expect(detEvents).toEqual(detections);
    expect(detections.map((d) => d.name)).toEqual(['jarvis']);
    // Every head's streamed scores equal its scores on batch-mode features of the same clip.
    const K = whole.length / STEP_SAMPLES;
    const batchWindows = fe.windowsFrom(await fe.embedClip(whole));
    for (const [i, name] of ['jarvis', 'alexa', 'mycroft'].entries()) {
      const ref = await heads[i].scoreWindows(batchWindows, K);
      expect(
        maxAbsDiff(
          steps.map((s) => s.scores[name]),
          ref,
        ),
      ).toBeLessThanOrEqual(1e-6);
    }
    // scoreHeads (bounded-memory scoring for evaluation) gives the same numbers, and pads like batch mode.
    const odd = clip.subarray(0, whole.length + 300);
    const viaScoreHeads = await scoreHeads(fe, heads, odd);
    const oddWindows = fe.windowsFrom(await fe.embedClip(odd));
    expect(viaScoreHeads[0].length).toBe(K + 1);
    for (let i = 0; i < 3; i++) {
      expect(
        maxAbsDiff(viaScoreHeads[i], await heads[i].scoreWindows(oddWindows, K + 1)),
      ).toBeLessThanOrEqual(1e-6);
    }
    expect(maxAbsDiff(await scoreClip(fe, heads[0], odd), viaScoreHeads[0])).toBe(0);
    expect(
      maxAbsDiff(
        steps.map((s) => s.scores.jarvis_strict),
        steps.map((s) => s.scores.jarvis),
      ),
    ).toBe(0);
    expect(steps.filter((s) => s.warmingUp).map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await det.dispose();
    // Heads passed as loaded objects belong to the caller: still usable.
    const w = fe.windowsFrom(await fe.embedClip(whole.subarray(0, 16 * STEP_SAMPLES)));
    expect((await heads[1].scoreWindows(w, 16)).length).toBe(16);
    await Promise.all(heads.map((h) => h.dispose()));
  });
});
