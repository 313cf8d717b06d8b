import { describe, expect, it } from 'vitest';
import { gemmNN, gemmNT, gemmTN } from '../src/nn/gemm.ts';
import {
  BatchNorm,
  Conv1d,
  Dropout,
  type Layer,
  type LayerInit,
  Linear,
  MaxPoolTime,
  ReLU,
} from '../src/nn/layers.ts';
import { lossWithLogits, smoothTarget } from '../src/nn/loss.ts';
import { buildNetwork } from '../src/nn/network.ts';
import { Arena, arenaOf, wasmSimdAvailable } from '../src/nn/wasm-gemm.ts';
import { deriveRng, type Rng } from '../src/rng.ts';

const init: LayerInit = { ctor: Float64Array, maxBatch: 6, needInputGrad: true };
const H = 1e-6;

function randomFill(a: Float64Array, rng: Rng, scale = 1): Float64Array {
  for (let i = 0; i < a.length; i++) a[i] = rng.normal() * scale;
  return a;
}

/** ‖a − n‖ / (‖a‖ + ‖n‖) over the checked entries. */
function relErr(a: number[], n: number[]): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - n[i]) ** 2;
    s += a[i] ** 2 + n[i] ** 2;
  }
  return s === 0 ? 0 : Math.sqrt(d) / Math.sqrt(s);
}

/** Checks dx and every parameter gradient of a layer against central differences of L = Σ r·y. */
function gradCheck(layer: Layer, batch: number, seed: number, train = true): void {
  const rng = deriveRng(seed, 'gradcheck', 0);
  const nIn = batch * layer.rowsIn * layer.colsIn;
  const nOut = batch * layer.rowsOut * layer.colsOut;
  const x = randomFill(new Float64Array(nIn), rng);
  const r = randomFill(new Float64Array(nOut), rng);
  for (const p of layer.params()) randomFill(p.data as Float64Array, rng, 0.5);
  const lossAt = () => {
    const y = layer.forward(x, batch, train);
    let s = 0;
    for (let i = 0; i < nOut; i++) s += r[i] * y[i];
    return s;
  };
  lossAt();
  if (layer instanceof Dropout) layer.frozen = true;
  for (const p of layer.params()) p.grad.fill(0);
  const dx = layer.backward(r, batch);
  expect(dx).not.toBeNull();
  const targets: { data: Float64Array; grad: ArrayLike<number> }[] = [
    { data: x, grad: Float64Array.from((dx as Float64Array).subarray(0, nIn)) },
    ...layer.params().map((p) => ({ data: p.data as Float64Array, grad: Float64Array.from(p.grad) })),
  ];
  for (const t of targets) {
    const a: number[] = [];
    const n: number[] = [];
    const idx = Array.from({ length: Math.min(40, t.data.length) }, () => rng.int(t.data.length));
    for (const i of idx) {
      const v = t.data[i];
      t.data[i] = v + H;
      const lp = lossAt();
      t.data[i] = v - H;
      const lm = lossAt();
      t.data[i] = v;
      a.push(t.grad[i]);
      n.push((lp - lm) / (2 * H));
    }
    expect(a.some((v) => v !== 0)).toBe(true);
    expect(relErr(a, n)).toBeLessThanOrEqual(1e-6);
  }
}

describe('GEMM kernels', () => {
  it('NN, NT and TN equal the naive triple loop for odd sizes', () => {
    const rng = deriveRng(1, 'gemm', 0);
    for (const [M, N, K] of [
      [7, 5, 9],
      [8, 4, 3],
      [13, 32, 17],
      [1, 1, 1],
    ]) {
      const A = randomFill(new Float64Array(M * K), rng);
      const B = randomFill(new Float64Array(K * N), rng);
      const ref = new Float64Array(M * N);
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) ref[i * N + j] += A[i * K + k] * B[k * N + j];
      const c1 = new Float64Array(M * N).fill(1);
      gemmNN(M, N, K, A, B, c1);
      // Bᵀ stored as N×K, Aᵀ stored as K×M
      const Bt = new Float64Array(N * K);
      for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
      const At = new Float64Array(K * M);
      for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
      const c2 = new Float64Array(M * N).fill(1);
      gemmNT(M, N, K, A, Bt, c2);
      const c3 = new Float64Array(M * N).fill(1);
      gemmTN(M, N, K, At, B, c3);
      for (let i = 0; i < M * N; i++) {
        expect(c1[i]).toBeCloseTo(ref[i] + 1, 12);
        expect(c2[i]).toBeCloseTo(ref[i] + 1, 12);
        expect(c3[i]).toBeCloseTo(ref[i] + 1, 12);
      }
    }
  });
});

describe('WebAssembly SIMD GEMM', () => {
  it('is available on Node 20 and matches the JavaScript kernels (float32 accumulation)', () => {
    expect(wasmSimdAvailable()).toBe(true);
    const arena = new Arena(4 << 20);
    const rng = deriveRng(2, 'wasm', 0);
    for (const [M, N, K] of [
      [4, 8, 1],
      [12, 16, 37],
      [128, 32, 1536],
      [96, 32, 256],
    ]) {
      for (const kind of ['NN', 'NT', 'TN'] as const) {
        const aLen = M * K;
        const bLen = K * N;
        const A = arena.alloc(aLen);
        const B = arena.alloc(bLen);
        const C = arena.alloc(M * N);
        for (let i = 0; i < aLen; i++) A[i] = rng.normal();
        for (let i = 0; i < bLen; i++) B[i] = rng.normal();
        for (let i = 0; i < M * N; i++) C[i] = rng.normal();
        expect(arenaOf(A, B, C)).toBe(arena);
        const A2 = Float32Array.from(A);
        const B2 = Float32Array.from(B);
        const C2 = Float32Array.from(C);
        expect(arenaOf(A2, B2, C2)).toBeNull();
        const f = kind === 'NN' ? gemmNN : kind === 'NT' ? gemmNT : gemmTN;
        f(M, N, K, A, B, C); // wasm
        f(M, N, K, A2, B2, C2); // JavaScript (float64 accumulation)
        let maxDiff = 0;
        let maxAbs = 0;
        for (let i = 0; i < M * N; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(C[i] - C2[i]));
          maxAbs = Math.max(maxAbs, Math.abs(C2[i]));
        }
        expect(maxDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs) * Math.sqrt(K));
        expect(maxDiff).toBeGreaterThanOrEqual(0);
      }
    }
    // shapes the kernel does not cover (M % 4, N % 8) fall back to JavaScript and still accumulate correctly
    const A = arena.alloc(6);
    const B = arena.alloc(3);
    const C = arena.alloc(2);
    A.set([1, 2, 3, 4, 5, 6]);
    B.set([1, 1, 1]);
    gemmNN(2, 1, 3, A, B, C);
    expect(Array.from(C)).toEqual([6, 15]);
  });

  it('gives a trainable network the same forward result through either kernel', () => {
    const arena = new Arena(16 << 20);
    const a = buildNetwork('tcn', { maxBatch: 8, seed: 4, arena });
    const b = buildNetwork('tcn', { maxBatch: 8, seed: 4 });
    const x = arena.alloc(8 * 1536);
    const rng = deriveRng(5, 'x', 0);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const ya = Array.from(a.forward(x, 8, false).subarray(0, 8));
    const yb = Array.from(b.forward(Float32Array.from(x), 8, false).subarray(0, 8));
    for (let i = 0; i < 8; i++) expect(ya[i]).toBeCloseTo(yb[i], 4);
  });
});

describe('finite-difference gradient checks (Float64Array, rel. err ≤ 1e-6)', () => {
  it('Linear', () => gradCheck(new Linear('fc', 11, 6, 1, init), 5, 1));
  it('Linear over time rows', () => gradCheck(new Linear('fc', 7, 5, 3, init), 4, 2));
  it('Conv1d kernel 1', () => gradCheck(new Conv1d('c', 6, 5, 1, 0, 8, init), 3, 3));
  it('Conv1d kernel 3, padding 1', () => gradCheck(new Conv1d('c', 6, 5, 3, 1, 8, init), 3, 4));
  it('BatchNorm (train mode, over items)', () => gradCheck(new BatchNorm('bn', 5, 1, init), 6, 5));
  it('BatchNorm (train mode, over items and time)', () => gradCheck(new BatchNorm('bn', 4, 5, init), 3, 6));
  it('BatchNorm (eval mode)', () => {
    const bn = new BatchNorm('bn', 4, 2, init);
    const rng = deriveRng(7, 'bn', 0);
    for (let c = 0; c < 4; c++) {
      bn.runningMean[c] = rng.normal();
      bn.runningVar[c] = rng.uniform(0.5, 2);
    }
    // eval-mode backward is not used in training; check the forward formula instead
    const x = randomFill(new Float64Array(3 * 2 * 4), rng);
    const y = bn.forward(x, 3, false);
    for (let i = 0; i < x.length; i++) {
      const c = i % 4;
      expect(y[i]).toBeCloseTo((x[i] - bn.runningMean[c]) / Math.sqrt(bn.runningVar[c] + 1e-5), 12);
    }
  });
  it('ReLU', () => gradCheck(new ReLU('r', 7, 2, init), 4, 8));
  it('Dropout (seeded mask, inverted scaling)', () => {
    const d = new Dropout('d', 0.3, 9, 2, deriveRng(1, 'd', 0), init);
    gradCheck(d, 5, 9);
    const x = new Float64Array(5 * 2 * 9).fill(1);
    d.frozen = false;
    const y = d.forward(x, 5, true);
    for (let i = 0; i < x.length; i++) expect([0, 1 / 0.7]).toContainEqual(y[i]);
    expect(d.forward(x, 5, false)).toBe(x);
  });
  it('MaxPool1d kernel 2, stride 2', () => gradCheck(new MaxPoolTime('p', 5, 8, 2, init), 3, 10));
  it('global max over time', () => gradCheck(new MaxPoolTime('g', 5, 8, 8, init), 3, 11));

  for (const kind of ['bce', 'focal'] as const) {
    it(`${kind} loss on logits (smoothed targets, weights)`, () => {
      const rng = deriveRng(12, kind, 0);
      const n = 9;
      const z = randomFill(new Float64Array(n), rng, 3);
      z[0] = 40; // far in the tails, still finite
      z[1] = -40;
      const y = Array.from({ length: n }, (_, i) => smoothTarget(i % 2, 0.02));
      const w = Array.from({ length: n }, () => rng.uniform(0.5, 2));
      const grad = new Float64Array(n);
      const l0 = lossWithLogits(kind, z, y, w, n, grad);
      expect(Number.isFinite(l0)).toBe(true);
      const a: number[] = [];
      const num: number[] = [];
      for (let i = 0; i < n; i++) {
        const v = z[i];
        z[i] = v + H;
        const lp = lossWithLogits(kind, z, y, w, n, null);
        z[i] = v - H;
        const lm = lossWithLogits(kind, z, y, w, n, null);
        z[i] = v;
        a.push(grad[i]);
        num.push((lp - lm) / (2 * H));
      }
      expect(relErr(a, num)).toBeLessThanOrEqual(1e-6);
    });
  }

  for (const arch of ['mlp', 'tcn'] as const) {
    it(`whole ${arch} network, train mode, through the BCE loss`, () => {
      const net = buildNetwork(arch, {
        maxBatch: 4,
        seed: 3,
        ctor: Float64Array,
        inputGrad: true,
        dropout: false,
      });
      const rng = deriveRng(13, arch, 0);
      const x = randomFill(new Float64Array(4 * 1536), rng);
      const y = [1, 0, 1, 0];
      const grad = new Float64Array(4);
      const lossAt = () => lossWithLogits('bce', net.forward(x, 4, true), y, null, 4, grad);
      lossAt();
      net.zeroGrad();
      net.backward(grad, 4);
      const params = net.params().map((p) => ({ data: p.data, grad: Float64Array.from(p.grad) }));
      for (const p of params) {
        const a: number[] = [];
        const n: number[] = [];
        for (let k = 0; k < 6; k++) {
          const i = rng.int(p.data.length);
          const v = p.data[i];
          p.data[i] = v + H;
          const lp = lossAt();
          p.data[i] = v - H;
          const lm = lossAt();
          p.data[i] = v;
          a.push(p.grad[i]);
          n.push((lp - lm) / (2 * H));
        }
        // a bias followed by train-mode BatchNorm has an exactly zero gradient (BN removes the mean)
        if (a.every((v) => Math.abs(v) < 1e-12)) expect(Math.max(...n.map(Math.abs))).toBeLessThan(1e-8);
        else expect(relErr(a, n)).toBeLessThanOrEqual(1e-6);
      }
    });
  }
});
