/** Detector lifecycle: push sizes and ordering, VAD gate, typed errors, dispose (split from detector.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDING_DIM, STEP_SAMPLES } from '../src/constants.ts';
import { createDetector, type Detection, type StepResult } from '../src/detector.ts';
import { DisposedError, ModelHashError, ModelShapeError, SampleRateError } from '../src/errors.ts';
import { createFrontend, type Frontend, type FrontendModels } from '../src/frontend.ts';
import { sha256Hex } from '../src/hash.ts';
import { loadHead } from '../src/head.ts';
import { loadFrontendModels, loadVadModel, ort } from '../src/node.ts';
import { noiseFloor } from '../src/noise.ts';
import { resample } from '../src/resample.ts';
import { concat, fixture, lcg, maxAbsDiff, padClip, randomChunks } from './helpers/audio.ts';
import { model, pushAll } from './helpers/detector.ts';

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

describe('push sizes', () => {
  it('one long push (sliced internally) and step-sized pushes give the same steps, VAD values and detections', async () => {
    const parts = [
      padClip(fixture('other_weather.wav'), 1.5, 0.5, 1),
      padClip(fixture('hey_jarvis_en-gb.wav'), 2.0, 1.0, 2),
    ];
    const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    expect(all.length).toBeGreaterThan(64 * STEP_SAMPLES); // more than one internal slice
    const vad = { model: await loadVadModel() };
    const d1 = await createDetector({ ort, frontend: fe, heads: [{ name: 'j', model: jarvisBytes }], vad });
    const d2 = await createDetector({ ort, frontend: fe, heads: [{ name: 'j', model: jarvisBytes }], vad });
    const one = await d1.push(all);
    const many = await pushAll(d2, randomChunks(all, lcg(8), STEP_SAMPLES, STEP_SAMPLES));
    expect(one.steps.length).toBe(Math.floor(all.length / STEP_SAMPLES));
    expect(one.steps).toEqual(many.steps);
    expect(one.detections).toEqual(many.detections);
    expect(one.detections).toHaveLength(1);
    // VAD values are there for every step, also deep inside the long push.
    expect(one.steps.every((s) => typeof s.vad === 'number')).toBe(true);
    expect(Math.max(...one.steps.slice(0, 120).map((s) => s.vad ?? 0))).toBeGreaterThan(0.5);
    expect((await d1.push(new Int16Array(0))).steps).toEqual([]);
    await d1.dispose();
    await d2.dispose();
  });
});

describe('push ordering', () => {
  it('the caller may reuse its buffer right after push(); a reset() that is not awaited applies in order', async () => {
    const clip = Float32Array.from(padClip(fixture('hey_jarvis_en-us.wav'), 2.0, 1.0, 4), (v) => v / 32768);
    const ref = await createDetector({
      ort,
      frontend: fe,
      heads: [{ name: 'j', model: jarvisBytes }],
      inputSampleRate: 48_000,
    });
    const det = await createDetector({
      ort,
      frontend: fe,
      heads: [{ name: 'j', model: jarvisBytes }],
      inputSampleRate: 48_000,
    });
    const x48 = resample(clip, 16_000, 48_000);
    const expected = await pushAll(ref, randomChunks(x48, lcg(1), 4800, 4800));
    // One reused buffer, refilled right after each (not awaited) push, with garbage pushed before a reset.
    const buf = new Float32Array(4800);
    const pending: Promise<{ steps: StepResult[]; detections: Detection[] }>[] = [];
    const garbage = Float32Array.from({ length: 48_000 }, (_, i) => Math.sin(i));
    pending.push(det.push(garbage));
    const reset = det.reset();
    for (let pos = 0; pos < x48.length; pos += 4800) {
      buf.fill(0);
      buf.set(x48.subarray(pos, pos + 4800));
      pending.push(det.push(pos + 4800 <= x48.length ? buf : buf.slice(0, x48.length - pos)));
      buf.fill(1); // would corrupt the input if push() kept a reference
    }
    await reset;
    const results = await Promise.all(pending);
    const steps = results.slice(1).flatMap((r) => r.steps);
    expect(steps).toEqual(expected.steps);
    expect(results.slice(1).flatMap((r) => r.detections)).toEqual(expected.detections);
    expect(expected.detections).toHaveLength(1);
    await ref.dispose();
    await det.dispose();
  });
});

describe('VAD gate (docs/engine.md §5 rule 4)', () => {
  it('reports speech probability and only lets firings through when speech was seen in the last second', async () => {
    const vadModel = await loadVadModel();
    const clip = padClip(fixture('hey_jarvis_en-us.wav'), 2.0, 1.0, 21);
    const open = await createDetector({
      ort,
      frontend: fe,
      heads: [{ name: 'j', model: jarvisBytes }],
      vad: { model: vadModel },
    });
    const closed = await createDetector({
      ort,
      frontend: fe,
      heads: [{ name: 'j', model: jarvisBytes }],
      vad: { model: vadModel, threshold: 1.0 },
    });
    expect(open.vadThreshold).toBe(0.5);
    expect(closed.vadThreshold).toBe(1.0);
    const a = await open.push(clip);
    const b = await closed.push(clip);
    expect(a.detections).toHaveLength(1);
    expect(b.detections).toEqual([]);
    // The gate never changes the scores.
    expect(a.steps.map((s) => s.scores.j)).toEqual(b.steps.map((s) => s.scores.j));
    const vadAt = (t: number) => a.steps.find((s) => Math.abs(s.t - t) < 0.04)?.vad ?? Number.NaN;
    expect(vadAt(1.6)).toBeLessThan(0.2); // only the noise floor in the last second
    expect(a.steps.find((s) => s.step === a.detections[0].step)?.vad).toBeGreaterThanOrEqual(0.5);
    const speechMax = Math.max(...a.steps.filter((s) => s.t > 2.2 && s.t < 3.5).map((s) => s.vad ?? 0));
    expect(speechMax).toBeGreaterThan(0.8);
    await open.dispose();
    await closed.dispose();
    // Without the option, a manifest's detection.vad_threshold sets the gate; without a gate it is null.
    const fromManifest = await createDetector({
      ort,
      frontend: fe,
      heads: [{ name: 'j', model: jarvisBytes, manifest: { detection: { vad_threshold: 0.3 } } }],
      vad: { model: vadModel },
    });
    expect(fromManifest.vadThreshold).toBe(0.3);
    await fromManifest.dispose();
    const none = await createDetector({ ort, frontend: fe, heads: [{ name: 'j', model: jarvisBytes }] });
    expect(none.vadThreshold).toBeNull();
    expect((await none.push(clip.subarray(0, 12_800))).steps.every((s) => s.vad === undefined)).toBe(true);
    await none.dispose();
  });
});

describe('errors and lifecycle', () => {
  it('rejects models whose inputs/outputs are not a head, with the shapes found', async () => {
    const err = await loadHead(ort, model('embedding_model.onnx')).catch((e) => e);
    expect(err).toBeInstanceOf(ModelShapeError);
    expect(err.message).toContain('[batch, 16, 96]');
    expect(err.message).toContain('76');
    await expect(loadHead(ort, model('silero_vad.onnx'))).rejects.toThrow(ModelShapeError);
    await expect(loadHead(ort, new Uint8Array([1, 2, 3, 4]))).rejects.toThrow(ModelShapeError);
    await expect(
      createDetector({ ort, frontend: fe, heads: [{ name: 'x', model: model('melspectrogram.onnx') }] }),
    ).rejects.toThrow(/input "input" must be float32 \[batch, 16, 96\]/);
  });

  it('checks a head against its manifest hash and the threshold from the manifest', async () => {
    const good = await sha256Hex(jarvisBytes);
    const det = await createDetector({
      ort,
      frontend: fe,
      heads: [
        {
          name: 'j',
          model: jarvisBytes,
          manifest: { model_sha256: good, threshold: 0.7, detection: { patience: 2, refractory_s: 1.0 } },
        },
      ],
    });
    expect(det.heads[0]).toEqual({ name: 'j', threshold: 0.7, patience: 2, refractorySteps: 13 });
    await det.dispose();
    const bad = `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`;
    await expect(
      createDetector({
        ort,
        frontend: fe,
        heads: [{ name: 'j', model: jarvisBytes, manifest: { model_sha256: bad } }],
      }),
    ).rejects.toThrow(ModelHashError);
  });

  it('rejects bad sample rates and duplicate head names', async () => {
    await expect(createDetector({ ort, frontend: fe, heads: [], inputSampleRate: 44_100.5 })).rejects.toThrow(
      SampleRateError,
    );
    await expect(createDetector({ ort, frontend: fe, heads: [], inputSampleRate: 0 })).rejects.toThrow(
      SampleRateError,
    );
    await expect(
      createDetector({
        ort,
        frontend: fe,
        heads: [
          { name: 'a', model: jarvisBytes },
          { name: 'a', model: jarvisBytes },
        ],
      }),
    ).rejects.toThrow(/two heads/);
  });

  it('dispose() releases every session it created; push afterwards throws', async () => {
    // Count real sessions through a thin wrapper around onnxruntime-node.
    const live = new Set<object>();
    let created = 0;
    const counting = {
      Tensor: ort.Tensor,
      InferenceSession: {
        async create(bytes: Uint8Array, o?: Record<string, unknown>) {
          const s = await ort.InferenceSession.create(bytes, o);
          created++;
          live.add(s);
          const release = s.release.bind(s);
          s.release = async () => {
            live.delete(s);
            await release();
          };
          return s;
        },
      },
    };
    const det = await createDetector({
      ort: counting,
      frontend: models,
      heads: [
        { name: 'a', model: jarvisBytes },
        { name: 'b', model: model('alexa_v0.1.onnx') },
      ],
      vad: { model: await loadVadModel() },
    });
    expect(created).toBe(5); // mel, embedding, two heads, VAD
    const r = await det.push(padClip(fixture('other_weather.wav'), 0.5, 0.2));
    expect(r.steps.length).toBeGreaterThan(0);
    const pending = det.push(new Int16Array(STEP_SAMPLES * 3));
    await det.dispose();
    await expect(pending).resolves.toMatchObject({ detections: [] }); // queued work finishes before release
    expect(live.size).toBe(0);
    expect(det.disposed).toBe(true);
    expect(det.frontend.disposed).toBe(true);
    await expect(det.push(new Int16Array(1280))).rejects.toThrow(DisposedError);
    await expect(det.frontend.embedClip(new Int16Array(1280))).rejects.toThrow(DisposedError);
    await expect(det.reset()).rejects.toThrow(DisposedError);
    await det.dispose(); // idempotent
  });

  it('a shared front end survives the detector; loading failures release what was loaded', async () => {
    const det = await createDetector({ ort, frontend: fe, heads: [{ name: 'a', model: jarvisBytes }] });
    await det.dispose();
    expect(fe.disposed).toBe(false);
    expect((await fe.embedClip(new Int16Array(STEP_SAMPLES))).length).toBe(EMBEDDING_DIM);
    const live = new Set<object>();
    const counting = {
      Tensor: ort.Tensor,
      InferenceSession: {
        async create(bytes: Uint8Array, o?: Record<string, unknown>) {
          const s = await ort.InferenceSession.create(bytes, o);
          live.add(s);
          const release = s.release.bind(s);
          s.release = async () => {
            live.delete(s);
            await release();
          };
          return s;
        },
      },
    };
    await expect(
      createDetector({
        ort: counting,
        frontend: models,
        heads: [
          { name: 'a', model: jarvisBytes },
          { name: 'b', model: model('embedding_model.onnx') },
        ],
      }),
    ).rejects.toThrow(ModelShapeError);
    expect(live.size).toBe(0);
  });

  it('non-finite float samples become 0', async () => {
    const clip = Float32Array.from(padClip(fixture('other_harvest.wav'), 0.5, 0.2), (v) => v / 32767);
    const dirty = clip.slice();
    const clean = clip.slice();
    for (let i = 100; i < dirty.length; i += 997) {
      dirty[i] = i % 2 ? Number.NaN : Number.POSITIVE_INFINITY;
      clean[i] = 0;
    }
    const d1 = await createDetector({ ort, frontend: fe, heads: [{ name: 'j', model: jarvisBytes }] });
    const d2 = await createDetector({ ort, frontend: fe, heads: [{ name: 'j', model: jarvisBytes }] });
    const a = await d1.push(dirty);
    const b = await d2.push(clean);
    expect(a.steps.every((s) => Number.isFinite(s.scores.j))).toBe(true);
    expect(a.steps.map((s) => s.scores.j)).toEqual(b.steps.map((s) => s.scores.j));
    await d1.dispose();
    await d2.dispose();
  });
});

describe('noise floor', () => {
  it('is deterministic white noise at −72 dBFS RMS', () => {
    const a = noiseFloor(48_000, 9);
    expect(Array.from(noiseFloor(48_000, 9))).toEqual(Array.from(a));
    const rms = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(20 * Math.log10(rms)).toBeCloseTo(-72, 1);
    expect(maxAbsDiff(a, noiseFloor(48_000, 10))).toBeGreaterThan(0);
    expect(concat([a]).length).toBe(48_000);
  });
});
