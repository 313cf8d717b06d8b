import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../src/eval/errors.ts';
import { rocAuc } from '../src/eval/metrics.ts';
import { lossWithLogits } from '../src/nn/loss.ts';
import { buildNetwork, WINDOW_FLOATS } from '../src/nn/network.ts';
import { exportHeadOnnx, forwardHead } from '../src/onnx/index.ts';
import { deriveRng } from '../src/rng.ts';
import { type CandidateResult, trainCandidate } from '../src/train/candidate.ts';
import { gatherWindows, PoolSampler, splitWindows } from '../src/train/data.ts';
import { chooseCandidate, epochCap, trainHead } from '../src/train/index.ts';
import { AdamW, clipGradNorm, Ema, learningRate } from '../src/train/optim.ts';
import type { TrainedHead, TrainProgress, WindowSet } from '../src/train/types.ts';
import { syntheticWindows } from './train-fixtures.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const onnxSha = (h: TrainedHead) => sha(exportHeadOnnx(h, { wakeWord: 'test', engineVersion: '0.1.0' }));

/** 32 random windows with random labels. */
function tinySet(seed: number): WindowSet {
  const rng = deriveRng(seed, 'test:tiny', 0);
  const n = 32;
  const emb = new Float32Array(n * WINDOW_FLOATS);
  for (let i = 0; i < emb.length; i++) emb[i] = rng.normal();
  const labels = Uint8Array.from({ length: n }, (_, i) => (i < 2 ? i : rng.int(2)));
  return {
    embeddings: emb,
    starts: Int32Array.from({ length: n }, (_, i) => i * 16),
    labels,
    pools: Uint8Array.from(labels, (l) => (l ? 0 : 2)),
    groups: Int32Array.from({ length: n }, (_, i) => i),
    kinds: Uint8Array.from(labels, (l) => (l ? 0 : 4)),
  };
}

describe('trainer building blocks', () => {
  it('derives the epoch cap from the multiply-add budget (40 MLP, 29 CNN; 22 CNN with mining)', () => {
    const mlp = buildNetwork('mlp', { maxBatch: 1, seed: 1 });
    const tcn = buildNetwork('tcn', { maxBatch: 1, seed: 1 });
    expect(mlp.macsPerWindow()).toBe(1536 * 32 + 32 * 32 + 32);
    expect(tcn.macsPerWindow()).toBe(16 * 96 * 32 + 16 * 96 * 32 + 8 * 96 * 32 + 32 * 16 + 16);
    expect(epochCap(mlp.macsPerWindow(), 4096, 2048)).toBe(40);
    expect(epochCap(tcn.macsPerWindow(), 4096, 2048)).toBe(29);
    expect(epochCap(mlp.macsPerWindow(), 4096, 100, 5)).toBe(5);
    expect(epochCap(mlp.macsPerWindow(), 128, 0)).toBe(40);
    // hard-negative mining scores 4,096 candidates + the 1,024 hard windows after every epoch
    expect(epochCap(tcn.macsPerWindow(), 4096, 2048, 40, 5120)).toBe(22);
  });

  it('learning rate: one epoch of linear warm-up, then cosine to 5 % of the peak', () => {
    expect(learningRate(0, 2e-3, 32, 320)).toBeCloseTo(2e-3 / 32, 12);
    expect(learningRate(31, 2e-3, 32, 320)).toBeCloseTo(2e-3, 12);
    expect(learningRate(32, 2e-3, 32, 320)).toBeCloseTo(2e-3, 12);
    expect(learningRate(176, 2e-3, 32, 320)).toBeCloseTo(2e-3 * (0.05 + 0.95 * 0.5), 12);
    expect(learningRate(320, 2e-3, 32, 320)).toBeCloseTo(1e-4, 12);
  });

  it('AdamW step, decoupled decay only on weights, and global-norm clipping', () => {
    const w = Float64Array.from([1, -2]);
    const b = Float64Array.from([0.5]);
    const gw = Float64Array.from([3, 4]);
    const gb = Float64Array.from([12]);
    const params = [
      { name: 'w', data: w, grad: gw, decay: true },
      { name: 'b', data: b, grad: gb, decay: false },
    ];
    const norm = clipGradNorm(params, 1);
    expect(norm).toBeCloseTo(13, 12);
    expect(Math.hypot(gw[0], gw[1], gb[0])).toBeCloseTo(1, 9);
    const g0 = gw[0];
    new AdamW(params).step(0.1);
    // first Adam step: m̂ = g, v̂ = g², update = lr·g/(|g| + ε) ≈ lr·sign(g)
    expect(w[0]).toBeCloseTo(1 * (1 - 0.1 * 0.01) - (0.1 * g0) / (Math.abs(g0) + 1e-8), 10);
    expect(b[0]).toBeCloseTo(0.5 - 0.1, 6);
  });

  it('EMA covers all state with decay min(0.995, (1+n)/(10+n))', () => {
    const shadow = [Float64Array.from([0])];
    const ema = new Ema(shadow);
    ema.update([Float64Array.from([1])]);
    expect(shadow[0][0]).toBeCloseTo(1 - 2 / 11, 12);
    for (let i = 0; i < 5000; i++) ema.update([Float64Array.from([1])]);
    const before = shadow[0][0];
    ema.update([Float64Array.from([0])]);
    expect(shadow[0][0]).toBeCloseTo(before * 0.995, 12);
    // the network's state includes BatchNorm running statistics
    const net = buildNetwork('mlp', { maxBatch: 1, seed: 1 });
    expect(net.state().length).toBe(net.params().length + 4);
  });

  it('splits by group, stratified by kind, with a bounded validation subset', () => {
    const d = syntheticWindows({ positives: 300, wordNegatives: 200, bankRows: 12000, seed: 3 });
    const s = splitWindows(d, 1);
    const trainGroups = new Set(Array.from(s.train, (i) => d.groups[i]));
    const valGroups = new Set(Array.from(s.val, (i) => d.groups[i]));
    for (const g of valGroups) expect(trainGroups.has(g)).toBe(false);
    const valKinds = new Set(Array.from(s.val, (i) => d.kinds[i]));
    expect([...valKinds].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.val.length).toBeLessThanOrEqual(2048);
    const valPos = Array.from(s.val).filter((i) => d.labels[i] === 1).length;
    expect(valPos).toBeGreaterThan(100);
    expect(valPos).toBeLessThanOrEqual(1024);
    expect(splitWindows(d, 1)).toEqual(s);
    expect(splitWindows(d, 2).val).not.toEqual(s.val);
  });

  it('samples batches 40/20/40 from the pools without replacement until a pool is exhausted', () => {
    const d = syntheticWindows({ positives: 100, wordNegatives: 100, bankRows: 3000, seed: 4 });
    const train = Int32Array.from({ length: d.starts.length }, (_, i) => i);
    const sampler = new PoolSampler(d, train, 1);
    const batch = new Int32Array(128);
    const seenPos = new Set<number>();
    for (let b = 0; b < 6; b++) {
      sampler.next(batch);
      const counts = [0, 0, 0];
      for (const i of batch) counts[d.pools[i]]++;
      expect(counts).toEqual([51, 26, 51]);
      for (const i of batch.subarray(0, 51)) {
        expect(seenPos.has(i)).toBe(false); // 400 positive windows: 6 × 51 = 306 drawn without repeats
        seenPos.add(i);
      }
    }
  });

  it('takes the bank share of each batch from the hard pool once mined', () => {
    const d = syntheticWindows({ positives: 100, wordNegatives: 100, bankRows: 3000, seed: 4 });
    const train = Int32Array.from({ length: d.starts.length }, (_, i) => i);
    const sampler = new PoolSampler(d, train, 1);
    expect(sampler.canMine).toBe(true);
    const bank = Array.from(train).filter((i) => d.pools[i] === 2);
    const first = sampler.mineCandidates(2000);
    const second = sampler.mineCandidates(2000);
    expect(new Set([...first, ...second]).size).toBe(Math.min(4000, bank.length)); // round-robin, no repeats
    for (const i of first) expect(d.pools[i]).toBe(2);
    const hard = first.slice(0, 40);
    sampler.setHard(hard);
    const batch = new Int32Array(128);
    const hardSet = new Set(hard);
    const drawn = new Set<number>();
    for (let b = 0; b < 5; b++) {
      sampler.next(batch);
      const tail = batch.subarray(128 - 51);
      for (const i of tail) expect(hardSet.has(i)).toBe(true);
      for (const i of tail) drawn.add(i);
      const counts = [0, 0, 0];
      for (const i of batch) counts[d.pools[i]]++;
      expect(counts).toEqual([51, 26, 51]); // the hard windows are bank windows
    }
    expect(drawn.size).toBe(40); // 255 draws cycle through the whole pool
  });

  it('picks the higher validation pAUC, the MLP within 0.002', () => {
    const r = (arch: 'mlp' | 'tcn', valPauc: number) => ({ arch, valPauc }) as CandidateResult;
    expect(chooseCandidate([r('mlp', 0.5), r('tcn', 0.6)]).arch).toBe('tcn');
    expect(chooseCandidate([r('mlp', 0.5), r('tcn', 0.5019)]).arch).toBe('mlp');
    expect(chooseCandidate([r('mlp', 0.7), r('tcn', 0.6)]).arch).toBe('mlp');
    expect(chooseCandidate([r('tcn', 0.1)]).arch).toBe('tcn');
  });
});

describe('training', () => {
  it.each(['mlp', 'tcn'] as const)(
    'overfits 32 random windows to loss < 0.01 (%s)',
    (arch) => {
      const d = tinySet(5);
      const all = Int32Array.from({ length: 32 }, (_, i) => i);
      const r = trainCandidate(
        d,
        { train: all, val: new Int32Array(0) },
        {
          arch,
          seed: 1,
          batchSize: 32,
          batchesPerEpoch: 10,
          maxEpochs: 30,
          dropout: false,
          weightDecay: 0,
          labelSmoothing: 0,
          earlyStopping: false,
          lr: 1e-2,
        },
      );
      const x = new Float32Array(32 * WINDOW_FLOATS);
      gatherWindows(d, all, 0, 32, x);
      const head: TrainedHead = { ...r, arch };
      const scores = forwardHead(head, x, 32);
      const logits = Array.from(scores, (p) => Math.log(p / (1 - p)));
      const loss = lossWithLogits('bce', logits, Array.from(d.labels), null, 32, null);
      expect(r.trainLoss).toBeLessThan(0.01);
      expect(loss).toBeLessThan(0.01);
    },
    120_000,
  );

  const data = syntheticWindows({
    positives: 160,
    wordNegatives: 120,
    bankRows: 2500,
    seed: 6,
    shared: true,
  });

  it('trains both candidates in worker threads, reports progress, and is deterministic (same ONNX SHA-256)', async () => {
    const events: TrainProgress[] = [];
    const a = await trainHead(data, {
      arch: 'auto',
      seed: 9,
      maxEpochs: 2,
      onProgress: (p) => events.push(p),
    });
    const b = await trainHead(data, { arch: 'auto', seed: 9, maxEpochs: 2 });
    expect(onnxSha(a)).toBe(onnxSha(b));
    for (const arch of ['mlp', 'tcn'] as const) {
      const ev = events.filter((e) => e.candidate === arch);
      expect(ev.map((e) => e.epoch)).toEqual([1, 2]);
      for (const e of ev) {
        expect(e.stage).toBe('training');
        expect(e.total_epochs).toBe(2);
        expect(Number.isFinite(e.train_loss) && Number.isFinite(e.val_loss)).toBe(true);
      }
    }
    expect(a.candidates?.map((x) => x.arch).sort()).toEqual(['mlp', 'tcn']);
    expect(a.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(a.bestEpoch).toBeLessThanOrEqual(a.epochs);
    expect(a.params).toBe(a.arch === 'mlp' ? 50273 : 9857);
  }, 240_000);

  it('gives the same bytes in a worker and in the calling thread; another seed gives another model', async () => {
    const w = await trainHead(data, { arch: 'mlp', seed: 9, maxEpochs: 2 });
    const t = await trainHead(data, { arch: 'mlp', seed: 9, maxEpochs: 2, threads: 0 });
    expect(onnxSha(t)).toBe(onnxSha(w));
    const other = await trainHead(data, { arch: 'mlp', seed: 10, maxEpochs: 2, threads: 0 });
    expect(onnxSha(other)).not.toBe(onnxSha(w));
  }, 120_000);

  it('trains one architecture data-parallel on two workers, deterministically and as well as one worker', async () => {
    const events: TrainProgress[] = [];
    const a = await trainHead(data, {
      arch: 'tcn',
      seed: 3,
      maxEpochs: 3,
      dataParallel: true,
      onProgress: (p) => events.push(p),
    });
    const b = await trainHead(data, { arch: 'tcn', seed: 3, maxEpochs: 3, dataParallel: true });
    expect(onnxSha(a)).toBe(onnxSha(b));
    expect(events.map((e) => e.epoch)).toEqual([1, 2, 3]); // one curve (rank 0)
    const single = await trainHead(data, { arch: 'tcn', seed: 3, maxEpochs: 3 });
    expect(onnxSha(single)).not.toBe(onnxSha(a)); // BatchNorm statistics per half batch
    expect(a.valLoss).toBeLessThan(single.valLoss * 1.25 + 0.02);
  }, 240_000);

  it('learns the synthetic task: held-out windows separate (AUC > 0.9)', async () => {
    const head = await trainHead(data, { arch: 'mlp', seed: 2, maxEpochs: 6 });
    // the training set's class patterns with fresh noise and placements
    const test = syntheticWindows({
      positives: 60,
      wordNegatives: 60,
      bankRows: 800,
      seed: 1006,
      patternSeed: 6,
    });
    const idx = Int32Array.from({ length: test.starts.length }, (_, i) => i);
    const x = new Float32Array(idx.length * WINDOW_FLOATS);
    gatherWindows(test, idx, 0, idx.length, x);
    const s = forwardHead(head, x, idx.length);
    const pos = Array.from(idx)
      .filter((i) => test.labels[i] === 1)
      .map((i) => s[i]);
    const neg = Array.from(idx)
      .filter((i) => test.labels[i] === 0)
      .map((i) => s[i]);
    expect(head.valPauc).toBeGreaterThan(0);
    expect(rocAuc(pos, neg)).toBeGreaterThan(0.9);
  }, 120_000);

  it('hard-negative mining pushes rare look-alike bank windows down', () => {
    const d = syntheticWindows({
      positives: 160,
      wordNegatives: 120,
      bankRows: 12000,
      seed: 8,
      lookalikeEvery: 150,
    });
    const split = splitWindows(d, 1);
    const look: number[] = [];
    const firstBank = d.pools.indexOf(2);
    for (let i = firstBank; i < d.starts.length; i++)
      if ((d.starts[i] - d.starts[firstBank]) % 150 === 0) look.push(i);
    const opts = { arch: 'mlp' as const, seed: 1, maxEpochs: 12, batchesPerEpoch: 16, earlyStopping: false };
    const meanScore = (r: CandidateResult) => {
      const x = new Float32Array(look.length * WINDOW_FLOATS);
      gatherWindows(d, look, 0, look.length, x);
      const s = forwardHead({ ...r, arch: 'mlp' }, x, look.length);
      return s.reduce((a, b) => a + b, 0) / s.length;
    };
    const plain = meanScore(trainCandidate(d, split, { ...opts, hardMining: false }));
    const mined = meanScore(trainCandidate(d, split, opts));
    expect(mined).toBeLessThan(plain * 0.7);
  }, 120_000);

  it('cancels between batches with a typed error', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = trainHead(data, { arch: 'auto', seed: 1, signal: ac.signal, onProgress: () => ac.abort() });
    await expect(p).rejects.toMatchObject({ name: 'EngineError', code: 'cancelled' });
    expect(performance.now() - t0).toBeLessThan(30_000);
    // one architecture on two data-parallel workers: a rank waiting at the gradient exchange stops too
    const ac2 = new AbortController();
    const p2 = trainHead(data, {
      arch: 'tcn',
      seed: 1,
      dataParallel: true,
      signal: ac2.signal,
      onProgress: () => ac2.abort(),
    });
    await expect(p2).rejects.toMatchObject({ name: 'EngineError', code: 'cancelled' });
    const pre = new AbortController();
    pre.abort();
    await expect(trainHead(data, { arch: 'mlp', seed: 1, signal: pre.signal })).rejects.toBeInstanceOf(
      EngineError,
    );
  });

  it('rejects non-finite inputs as a diverged training (typed internal error, no hang)', async () => {
    const d = tinySet(2);
    d.embeddings[5] = Number.NaN;
    await expect(trainHead(d, { arch: 'mlp', seed: 1, threads: 0, maxEpochs: 2 })).rejects.toMatchObject({
      code: 'internal',
    });
    await expect(trainHead(d, { arch: 'mlp', seed: 1, maxEpochs: 2 })).rejects.toMatchObject({
      code: 'internal',
    });
  });

  it('rejects a window set without negatives as insufficient data', async () => {
    const d = tinySet(1);
    d.labels.fill(1);
    await expect(trainHead(d, { arch: 'mlp', seed: 1, threads: 0 })).rejects.toMatchObject({
      code: 'insufficient_data',
    });
  });
});
