import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDING_DIM, PINNED, STEP_SAMPLES, WINDOW_SIZE } from '../src/constants.ts';
import { FrontendMismatchError } from '../src/errors.ts';
import { createFrontend, type Frontend, type FrontendModels } from '../src/frontend.ts';
import { sha256Hex } from '../src/hash.ts';
import { loadFrontendModels, openWakeWordModelPath, ort } from '../src/node.ts';
import { toInt16Magnitudes } from '../src/pcm.ts';
import { slidingEmbeddingModel } from '../src/sliding.ts';
import { concat, fixture, lcg, maxAbsDiff, padClip, randomChunks } from './helpers/audio.ts';
import { picovoiceClips } from './helpers/paths.ts';
import { readWav } from './helpers/wav.ts';

let models: FrontendModels;
let fe: Frontend;

beforeAll(async () => {
  models = await loadFrontendModels();
  fe = await createFrontend({ ort, models });
});
afterAll(async () => {
  await fe.dispose();
});

describe('front-end model pinning (docs/engine.md §2.1)', () => {
  it('the installed files have the pinned sizes and hashes', async () => {
    for (const p of [PINNED.mel, PINNED.embedding, PINNED.vad]) {
      const bytes = new Uint8Array(readFileSync(openWakeWordModelPath(p.file)));
      expect(bytes.length).toBe(p.bytes);
      expect(await sha256Hex(bytes)).toBe(p.sha256);
    }
  });

  it('a modified model file is rejected with FrontendMismatchError before it is run', async () => {
    const mel = models.mel.slice();
    mel[mel.length - 100] ^= 0x01; // one bit inside the weights
    const err = await createFrontend({ ort, models: { mel, embedding: models.embedding } }).catch((e) => e);
    expect(err).toBeInstanceOf(FrontendMismatchError);
    expect(err.file).toBe('melspectrogram.onnx');
    expect(err.expected).toBe(PINNED.mel.sha256);
    expect(err.actual).toBe(await sha256Hex(mel));
    expect(err.message).toContain('melspectrogram.onnx');
    // Swapped files are caught too.
    await expect(
      createFrontend({ ort, models: { mel: models.embedding, embedding: models.mel } }),
    ).rejects.toThrow(FrontendMismatchError);
    const truncated = models.embedding.subarray(0, models.embedding.length - 1);
    await expect(createFrontend({ ort, models: { mel: models.mel, embedding: truncated } })).rejects.toThrow(
      FrontendMismatchError,
    );
  });
});

describe('batch embeddings of consecutive steps in one call (sliding.ts)', () => {
  it('the patched model computes 76-row windows bit for bit as the pinned file does, and longer inputs as their windows', async () => {
    const pinned = await ort.InferenceSession.create(models.embedding, { intraOpNumThreads: 1 });
    const slid = await ort.InferenceSession.create(slidingEmbeddingModel(models.embedding), {
      intraOpNumThreads: 1,
    });
    try {
      const n = 40;
      const frames = 76 + 8 * (n - 1);
      const rand = lcg(7);
      const rows = Float32Array.from({ length: frames * 32 }, () => 4 * rand() - 2);
      const windows = new Float32Array(n * 76 * 32);
      for (let k = 0; k < n; k++) windows.set(rows.subarray(8 * k * 32, (8 * k + 76) * 32), k * 76 * 32);
      const run = async (sess: typeof pinned, data: Float32Array, dims: number[]) =>
        (await sess.run({ input_1: new ort.Tensor('float32', data, dims) })).conv2d_19;
      const a = await run(pinned, windows, [n, 76, 32, 1]);
      const b = await run(slid, windows, [n, 76, 32, 1]);
      expect(b.dims).toEqual([n, 1, 1, 96]);
      expect(maxAbsDiff(a.data as Float32Array, b.data as Float32Array)).toBe(0);
      const c = await run(slid, rows, [1, frames, 32, 1]);
      expect(c.dims).toEqual([n, 1, 1, 96]);
      const channelMajor = c.data as Float32Array;
      const stepMajor = new Float32Array(n * 96);
      for (let ch = 0; ch < 96; ch++)
        for (let i = 0; i < n; i++) stepMajor[i * 96 + ch] = channelMajor[ch * n + i];
      expect(maxAbsDiff(a.data as Float32Array, stepMajor)).toBe(0);
      expect(maxAbsDiff(a.data as Float32Array, channelMajor)).toBeGreaterThan(0.01);
    } finally {
      await Promise.all([pinned.release(), slid.release()]);
    }
  });

  it('only the pinned embedding model can be patched; the original bytes are left alone', () => {
    const before = models.embedding.slice();
    const patched = slidingEmbeddingModel(models.embedding);
    expect(patched.length).toBe(models.embedding.length);
    expect(maxAbsDiff(models.embedding, before)).toBe(0);
    let changed = 0;
    for (let i = 0; i < patched.length; i++) if (patched[i] !== models.embedding[i]) changed++;
    // two bytes of the input's time dimension, sixteen of the Reshape's target shape (-1 → 0 and 76 → -1)
    expect(changed).toBe(18);
    expect(() => slidingEmbeddingModel(models.mel)).toThrow(/not found/);
  });

  it('onnxruntime-node computes batch embeddings in one call, across call boundaries equal to streaming', async () => {
    expect(fe.slidingEmbeddings).toBe(true);
    // 330 steps: a call of 256 steps and one of 74, and 7-step calls, against the stream fed 1 s at a time
    const parts = picovoiceClips('snowboy', 4).map((f) => padClip(readWav(f).samples, 3.0, 3.0));
    const clip = new Int16Array(330 * STEP_SAMPLES);
    let at = 0;
    for (const p of parts) {
      clip.set(p.subarray(0, clip.length - at), at);
      at = Math.min(clip.length, at + p.length);
    }
    expect(at).toBe(clip.length);
    const K = clip.length / STEP_SAMPLES;
    expect(K).toBe(330);
    const big = await fe.embedClip(clip);
    const small = await fe.embedClip(clip, { batch: 7 });
    const s = fe.createStream();
    const streamed: Float32Array[] = [];
    for (let o = 0; o < clip.length; o += 16_000)
      streamed.push((await s.push(clip.subarray(o, o + 16_000))).embeddings);
    s.dispose();
    expect(maxAbsDiff(big, small)).toBe(0);
    expect(maxAbsDiff(big, concat(streamed))).toBe(0);
    const tail = await fe.embedClip(clip, { firstStep: 250 });
    expect(maxAbsDiff(tail, big.subarray(249 * EMBEDDING_DIM))).toBe(0);
  });
});

describe('mel model frame counts (docs/engine.md §2.2)', () => {
  it.each([
    [1_280, 5],
    [1_760, 8],
    [16_000, 97],
  ])('%i samples → %i frames of 32 bins, transformed x/10 + 2', async (n, frames) => {
    const rand = lcg(n);
    const x = Float32Array.from({ length: n }, () => Math.round((rand() * 2 - 1) * 3000));
    const mel = await fe.mel(x);
    expect(mel.length).toBe(frames * 32);
    // Transformed dB values: −100 dB floor → −8; real speech-level noise sits well above.
    for (const v of mel) expect(Number.isFinite(v)).toBe(true);
    expect(Math.min(...mel)).toBeGreaterThanOrEqual(-8.0001);
    expect(Math.max(...mel)).toBeGreaterThan(0);
  });

  it('all-zero input gives −100 dB everywhere (x/10 + 2 = −8)', async () => {
    const mel = await fe.mel(new Float32Array(1_760));
    for (const v of mel) expect(v).toBeCloseTo(-8, 5);
  });
});

describe('streaming and batch produce the same features (docs/engine.md §2.5–2.6)', () => {
  async function streamAll(chunks: (Int16Array | Float32Array)[]) {
    const s = fe.createStream();
    const emb: Float32Array[] = [];
    const win: Float32Array[] = [];
    let expectedStep = 1;
    for (const c of chunks) {
      const r = await s.push(c);
      if (r.count > 0) expect(r.firstStep).toBe(expectedStep);
      expectedStep += r.count;
      emb.push(r.embeddings);
      win.push(r.windows);
    }
    return { emb: concat(emb), win: concat(win), steps: s.step };
  }

  it('random push sizes from 1 sample to 5 s give the batch embeddings and windows (max |Δ| ≤ 1e-6)', async () => {
    const clips = [
      padClip(readWav(picovoiceClips('computer', 1)[0]).samples, 3.0, 2.5),
      padClip(fixture('other_weather.wav'), 0.3, 0.2),
    ];
    for (const [c, clip] of clips.entries()) {
      const K = Math.floor(clip.length / STEP_SAMPLES);
      const whole = clip.subarray(0, K * STEP_SAMPLES);
      const batch = await fe.embedClip(whole);
      expect(batch.length).toBe(K * EMBEDDING_DIM);
      const windows = fe.windowsFrom(batch);
      const rand = lcg(100 + c);
      // One run of log-uniform sizes 1 … 80,000 samples, and one that starts with single-sample pushes.
      const runs = [
        randomChunks(whole, rand, 1, 80_000),
        [...randomChunks(whole.subarray(0, 3000), rand, 1, 1), whole.subarray(3000)],
      ];
      for (const chunks of runs) {
        const s = await streamAll(chunks);
        expect(s.steps).toBe(K);
        expect(maxAbsDiff(s.emb, batch)).toBeLessThanOrEqual(1e-6);
        expect(maxAbsDiff(s.win, windows)).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('batch mode with firstStep returns the tail of the same sequence; any embedding batch size agrees', async () => {
    const clip = padClip(fixture('hey_jarvis_en-us.wav'), 0.5, 0.2);
    const all = await fe.embedClip(clip, { batch: 7 });
    const K = Math.ceil(clip.length / STEP_SAMPLES);
    expect(all.length).toBe(K * EMBEDDING_DIM);
    const tail = await fe.embedClip(clip, { firstStep: 10, batch: 64 });
    expect(tail.length).toBe((K - 9) * EMBEDDING_DIM);
    expect(maxAbsDiff(tail, all.subarray(9 * EMBEDDING_DIM))).toBeLessThanOrEqual(1e-6);
  });

  it('a clip that is not a whole number of steps is right-padded with the noise floor (K = ceil(N / 1,280))', async () => {
    const clip = fixture('hey_jarvis_en-gb.wav').subarray(0, 5 * STEP_SAMPLES + 17);
    const e = await fe.embedClip(clip);
    expect(e.length).toBe(6 * EMBEDDING_DIM);
    const s = fe.createStream();
    const r = await s.push(clip);
    expect(r.count).toBe(5);
    expect(maxAbsDiff(r.embeddings, e.subarray(0, 5 * EMBEDDING_DIM))).toBeLessThanOrEqual(1e-6);
    // Custom padding (digital silence) changes only the last step.
    const z = await fe.embedClip(clip, { pad: (n) => new Float32Array(n) });
    expect(maxAbsDiff(z.subarray(0, 5 * EMBEDDING_DIM), e.subarray(0, 5 * EMBEDDING_DIM))).toBe(0);
    expect(maxAbsDiff(z.subarray(5 * EMBEDDING_DIM), e.subarray(5 * EMBEDDING_DIM))).toBeGreaterThan(0);
  });

  it('float input and int16 input give identical features (§2.3 conversion)', async () => {
    const clip = padClip(fixture('other_lights.wav'), 0.2, 0.1);
    const asFloat = Float32Array.from(clip, (v) => v / 32767);
    expect(Array.from(toInt16Magnitudes(asFloat))).toEqual(Array.from(clip));
    const a = await fe.embedClip(clip);
    const b = await fe.embedClip(asFloat);
    expect(maxAbsDiff(a, b)).toBe(0);
    const s1 = await fe.createStream().push(clip);
    const s2 = await fe.createStream().push(asFloat);
    expect(maxAbsDiff(s1.embeddings, s2.embeddings)).toBe(0);
    // Unit-scale floats fed as if they were magnitudes would be ~90 dB too quiet: the features differ a lot.
    const wrong = await fe.embedMagnitudes(asFloat);
    expect(maxAbsDiff(wrong, a)).toBeGreaterThan(0.5);
  });

  it('the ring starts with the warm-up embedding and reset() returns to it', async () => {
    const s = fe.createStream();
    const w0 = s.window();
    expect(w0.length).toBe(WINDOW_SIZE);
    for (let r = 0; r < 16; r++)
      expect(maxAbsDiff(w0.subarray(r * 96, r * 96 + 96), fe.warmupEmbedding)).toBe(0);
    const clip = fixture('other_harvest.wav');
    const first = await s.push(clip);
    s.reset();
    expect(s.step).toBe(0);
    expect(maxAbsDiff(s.window(), w0)).toBe(0);
    const again = await s.push(clip);
    expect(maxAbsDiff(again.embeddings, first.embeddings)).toBe(0);
  });

  it('pushes that are not awaited are still processed in order', async () => {
    const clip = padClip(fixture('hey_jarvis_en-us-f.wav'), 0.3, 0.1);
    const ref = await fe.createStream().push(clip);
    const s = fe.createStream();
    const chunks = randomChunks(clip, lcg(5), 100, 5000);
    const results = await Promise.all(chunks.map((c) => s.push(c)));
    const emb = concat(results.map((r) => r.embeddings));
    expect(maxAbsDiff(emb, ref.embeddings)).toBe(0);
  });
});
