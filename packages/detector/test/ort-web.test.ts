/**
 * The same detector under onnxruntime-node and onnxruntime-web (wasm backend, one thread; onnxruntime-web runs
 * in Node too): same features and scores (docs/engine.md §13).
 */
import { readFileSync } from 'node:fs';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_SAMPLES } from '../src/constants.ts';
import { createDetector, type Detector } from '../src/detector.ts';
import { loadFrontendModels, loadVadModel, openWakeWordModelPath, ort as ortNode } from '../src/node.ts';
import { fixture, lcg, maxAbsDiff, padClip, randomChunks } from './helpers/audio.ts';

ortWeb.env.wasm.numThreads = 1;

let web: Detector;
let node: Detector;

beforeAll(async () => {
  const frontend = await loadFrontendModels();
  const jarvis = new Uint8Array(readFileSync(openWakeWordModelPath('hey_jarvis_v0.1.onnx')));
  const alexa = new Uint8Array(readFileSync(openWakeWordModelPath('alexa_v0.1.onnx')));
  const vad = { model: await loadVadModel() };
  const heads = [
    { name: 'jarvis', model: jarvis },
    { name: 'alexa', model: alexa },
  ];
  [web, node] = await Promise.all([
    createDetector({ ort: ortWeb, frontend, heads, vad, inputSampleRate: 48_000 }),
    createDetector({ ort: ortNode, frontend, heads, vad, inputSampleRate: 48_000 }),
  ]);
});
afterAll(async () => {
  await Promise.all([web?.dispose(), node?.dispose()]);
});

describe('onnxruntime-web (wasm, 1 thread) vs onnxruntime-node', () => {
  it('give the same embeddings on a clip', async () => {
    const clip = padClip(fixture('other_weather.wav'), 1.0, 0.5);
    const [a, b] = await Promise.all([web.frontend.embedClip(clip), node.frontend.embedClip(clip)]);
    expect(a.length).toBe(b.length);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
  });

  it('a shared onnxruntime-web front end serves concurrent streams and batch calls (runs are serialised)', async () => {
    const clip = padClip(fixture('other_lights.wav'), 0.2, 0.1);
    const fe = web.frontend;
    const [a, b, c] = await Promise.all([
      fe.createStream().push(clip),
      fe.createStream().push(clip),
      fe.embedClip(clip),
    ]);
    expect(a.count).toBeGreaterThan(10);
    expect(maxAbsDiff(a.embeddings, b.embeddings)).toBe(0);
    expect(maxAbsDiff(a.embeddings, c.subarray(0, a.embeddings.length))).toBeLessThanOrEqual(1e-6);
  });

  it('give the same scores, VAD values and detections, streaming 48 kHz float input', async () => {
    const clip16 = padClip(fixture('hey_jarvis_en-us.wav'), 2.0, 1.0, 3);
    // A 48 kHz version by linear interpolation (its exact quality does not matter: both runtimes see the same input
    // and the same resampler in front of the models).
    const clip48 = new Float32Array(clip16.length * 3);
    for (let i = 0; i < clip48.length; i++) {
      const x = i / 3;
      const j = Math.floor(x);
      const f = x - j;
      const a = clip16[j] / 32768;
      const b = (j + 1 < clip16.length ? clip16[j + 1] : 0) / 32768;
      clip48[i] = a + (b - a) * f;
    }
    const chunks = randomChunks(clip48, lcg(11), 128, 24_000);
    const rw = [];
    const rn = [];
    for (const c of chunks) {
      rw.push(await web.push(c));
      rn.push(await node.push(c));
    }
    const sw = rw.flatMap((r) => r.steps);
    const sn = rn.flatMap((r) => r.steps);
    expect(sw.length).toBe(sn.length);
    expect(sw.length).toBeGreaterThanOrEqual(Math.floor(clip16.length / STEP_SAMPLES) - 1);
    for (const name of ['jarvis', 'alexa']) {
      expect(
        maxAbsDiff(
          sw.map((s) => s.scores[name]),
          sn.map((s) => s.scores[name]),
        ),
      ).toBeLessThan(1e-4);
    }
    expect(
      maxAbsDiff(
        sw.map((s) => s.vad ?? -1),
        sn.map((s) => s.vad ?? -1),
      ),
    ).toBeLessThan(1e-4);
    const dw = rw.flatMap((r) => r.detections);
    const dn = rn.flatMap((r) => r.detections);
    expect(dn.map((d) => [d.name, d.step])).toEqual([['jarvis', dn[0]?.step]]);
    expect(dw.map((d) => [d.name, d.step])).toEqual(dn.map((d) => [d.name, d.step]));
  });
});
