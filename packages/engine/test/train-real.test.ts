/**
 * The trainer on real speech: windows from real "computer" recordings (positives) and real "snowboy" recordings
 * (negatives) of the shared dev data, features from openWakeWord's models. The trained head must separate
 * held-out clips of the two words. (The end-to-end pipeline test covers the full data path; this one isolates the
 * trainer.)
 */
import { describe, expect, it } from 'vitest';
import { dPrime, rocAuc } from '../src/eval/metrics.ts';
import { WINDOW_FLOATS } from '../src/nn/network.ts';
import { forwardHead } from '../src/onnx/index.ts';
import { deriveRng } from '../src/rng.ts';
import { trainHead } from '../src/train/index.ts';
import { POOL_POSITIVE, POOL_WORD_NEGATIVE, type WindowSet } from '../src/train/types.ts';
import { clipEmbeddings, devClips } from './nn-fixtures.ts';

const TRAIN = 24;
const TEST = 10;

function pick(files: string[], n: number, purpose: string): string[] {
  return deriveRng(5, purpose, 0)
    .shuffle([...files])
    .slice(0, n);
}

/** The last `k` windows of each clip (the word ends 0.5 s before the padded clip's end), or all for large k. */
function windowsOf(clips: Float32Array[], label: 0 | 1, firstGroup: number, k = 4) {
  const rows = clips.reduce((n, c) => n + c.length / 96, 0);
  const table = new Float32Array(rows * 96);
  const starts: number[] = [];
  const groups: number[] = [];
  let r = 0;
  clips.forEach((c, i) => {
    table.set(c, r * 96);
    const steps = c.length / 96;
    for (let w = Math.max(0, steps - 16 - k + 1); w <= steps - 16; w++) {
      starts.push(r + w);
      groups.push(firstGroup + i);
    }
    r += steps;
  });
  return { table, starts, groups, label };
}

describe('trainer on real recordings', () => {
  it('separates held-out "computer" from "snowboy" clips (AUC ≥ 0.95, d′ ≥ 2)', async () => {
    const comp = pick(devClips('computer'), TRAIN + TEST, 'real:computer');
    const snow = pick(devClips('snowboy'), TRAIN + TEST, 'real:snowboy');
    const t0 = performance.now();
    const all = await clipEmbeddings([...comp, ...snow]);
    expect(all.length).toBe(2 * (TRAIN + TEST));
    const cTrain = all.slice(0, TRAIN);
    const cTest = all.slice(TRAIN, TRAIN + TEST);
    const sTrain = all.slice(TRAIN + TEST, 2 * TRAIN + TEST);
    const sTest = all.slice(2 * TRAIN + TEST);
    const t1 = performance.now();
    const pos = windowsOf(cTrain, 1, 0);
    const neg = windowsOf(sTrain, 0, 1000, 1000); // every window of a negative clip is a negative
    const embeddings = new Float32Array(pos.table.length + neg.table.length);
    embeddings.set(pos.table);
    embeddings.set(neg.table, pos.table.length);
    const offset = pos.table.length / 96;
    const n = pos.starts.length + neg.starts.length;
    const data: WindowSet = {
      embeddings,
      starts: Int32Array.from([...pos.starts, ...neg.starts.map((s) => s + offset)]),
      labels: Uint8Array.from({ length: n }, (_, i) => (i < pos.starts.length ? 1 : 0)),
      pools: Uint8Array.from({ length: n }, (_, i) =>
        i < pos.starts.length ? POOL_POSITIVE : POOL_WORD_NEGATIVE,
      ),
      groups: Int32Array.from([...pos.groups, ...neg.groups]),
      kinds: Uint8Array.from({ length: n }, (_, i) => (i < pos.starts.length ? 0 : 2)),
    };
    const head = await trainHead(data, { arch: 'auto', seed: 4, maxEpochs: 5 });
    console.log(
      `features ${((t1 - t0) / 1000).toFixed(1)} s, training ${((performance.now() - t1) / 1000).toFixed(1)} s`,
    );
    // clip score = maximum over the clip's windows, as in evaluation
    const clipScore = (c: Float32Array) => {
      const count = c.length / 96 - 15;
      const x = new Float32Array(count * WINDOW_FLOATS);
      for (let w = 0; w < count; w++) x.set(c.subarray(w * 96, (w + 16) * 96), w * WINDOW_FLOATS);
      return Math.max(...forwardHead(head, x, count));
    };
    const p = cTest.map(clipScore);
    const q = sTest.map(clipScore);
    console.log(`held-out AUC ${rocAuc(p, q)}, d′ ${dPrime(p, q).toFixed(2)}, winner ${head.arch}`);
    expect(p.length).toBe(TEST);
    expect(q.length).toBe(TEST);
    expect(rocAuc(p, q)).toBeGreaterThanOrEqual(0.95);
    expect(dPrime(p, q)).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
