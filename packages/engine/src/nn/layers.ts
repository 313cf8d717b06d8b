/**
 * Trainer layers (docs/engine.md §7.1). Activations are row-major matrices: one row per item (MLP) or per item and time
 * step (CNN, channels-last: row = item·T + t, column = channel). Flatten [16, 96] → 1,536 and Transpose [16, 96] →
 * [96, 16] are views of the same memory in this layout, so they need no layer. Every layer preallocates its
 * buffers for the largest batch; nothing allocates inside forward or backward.
 */
import type { Rng } from '../rng.ts';
import { type FloatArray, type FloatArrayCtor, gemmNN, gemmNT, gemmTN } from './gemm.ts';

export interface Param {
  name: string;
  data: FloatArray;
  grad: FloatArray;
  /** true for weight matrices (AdamW weight decay), false for biases and BatchNorm parameters */
  decay: boolean;
}

export interface Layer {
  readonly name: string;
  /** rows per item of the input and of the output (time steps, or 1) */
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly colsIn: number;
  readonly colsOut: number;
  /** forward for `batch` items; the returned buffer belongs to the layer (or is `x` itself) */
  forward(x: FloatArray, batch: number, train: boolean): FloatArray;
  /** backward after a training forward; accumulates parameter gradients; returns dL/dx or null when not needed */
  backward(dy: FloatArray, batch: number): FloatArray | null;
  params(): Param[];
  /** non-trainable state (BatchNorm running statistics) */
  buffers(): FloatArray[];
  /** multiply-adds per item in a forward pass */
  macs(): number;
}

export interface LayerInit {
  ctor: FloatArrayCtor;
  /** allocator for the layer's buffers (a wasm arena); default `new ctor(n)` */
  alloc?: (n: number) => FloatArray;
  maxBatch: number;
  /** compute dL/dx in backward (false for the first layer) */
  needInputGrad: boolean;
}

function allocator(init: LayerInit): (n: number) => FloatArray {
  return init.alloc ?? ((n: number) => new init.ctor(n));
}

/** Kaiming-uniform initialisation, bound √(6 / fan_in) (He, for ReLU networks). */
export function kaimingUniform(w: FloatArray, fanIn: number, rng: Rng, gain = Math.SQRT2): void {
  const bound = gain * Math.sqrt(3 / fanIn);
  for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-bound, bound);
}

/** Fully connected layer over rows: Y[rows×out] = X[rows×in]·W[in×out] + b. */
export class Linear implements Layer {
  readonly rowsOut: number;
  readonly W: FloatArray;
  readonly b: FloatArray;
  readonly dW: FloatArray;
  readonly db: FloatArray;
  private readonly y: FloatArray;
  private readonly dx: FloatArray | null;
  private x: FloatArray | null = null;

  constructor(
    readonly name: string,
    readonly colsIn: number,
    readonly colsOut: number,
    readonly rowsIn: number,
    init: LayerInit,
  ) {
    this.rowsOut = rowsIn;
    const C = allocator(init);
    this.W = C(colsIn * colsOut);
    this.b = C(colsOut);
    this.dW = C(colsIn * colsOut);
    this.db = C(colsOut);
    this.y = C(init.maxBatch * rowsIn * colsOut);
    this.dx = init.needInputGrad ? C(init.maxBatch * rowsIn * colsIn) : null;
  }

  forward(x: FloatArray, batch: number, _train: boolean): FloatArray {
    const rows = batch * this.rowsIn;
    const out = this.colsOut;
    const y = this.y;
    const b = this.b;
    for (let r = 0, o = 0; r < rows; r++, o += out) for (let j = 0; j < out; j++) y[o + j] = b[j];
    gemmNN(rows, out, this.colsIn, x, this.W, y);
    this.x = x;
    return y;
  }

  backward(dy: FloatArray, batch: number): FloatArray | null {
    const rows = batch * this.rowsIn;
    const out = this.colsOut;
    const x = this.x as FloatArray;
    gemmTN(this.colsIn, out, rows, x, dy, this.dW);
    const db = this.db;
    for (let r = 0, o = 0; r < rows; r++, o += out) for (let j = 0; j < out; j++) db[j] += dy[o + j];
    if (!this.dx) return null;
    const dx = this.dx;
    dx.fill(0, 0, rows * this.colsIn);
    gemmNT(rows, this.colsIn, out, dy, this.W, dx);
    return dx;
  }

  params(): Param[] {
    return [
      { name: `${this.name}.weight`, data: this.W, grad: this.dW, decay: true },
      { name: `${this.name}.bias`, data: this.b, grad: this.db, decay: false },
    ];
  }

  buffers(): FloatArray[] {
    return [];
  }

  macs(): number {
    return this.rowsIn * this.colsIn * this.colsOut;
  }
}

/**
 * 1-D convolution over time, stride 1, zero padding, channels-last rows (item·T + t). Weight layout is the im2col
 * one: W[(kk·cin + c) × cout]. Kernel 1 skips im2col.
 */
export class Conv1d implements Layer {
  readonly rowsOut: number;
  readonly rowsIn: number;
  readonly W: FloatArray;
  readonly b: FloatArray;
  readonly dW: FloatArray;
  readonly db: FloatArray;
  private readonly col: FloatArray | null;
  private readonly dcol: FloatArray | null;
  private readonly y: FloatArray;
  private readonly dx: FloatArray | null;
  private x: FloatArray | null = null;

  constructor(
    readonly name: string,
    readonly colsIn: number,
    readonly colsOut: number,
    readonly kernel: number,
    readonly padding: number,
    readonly steps: number,
    init: LayerInit,
  ) {
    if (steps + 2 * padding - kernel + 1 !== steps)
      throw new Error('Conv1d: only "same" padding is supported');
    this.rowsIn = steps;
    this.rowsOut = steps;
    const C = allocator(init);
    const kc = kernel * colsIn;
    this.W = C(kc * colsOut);
    this.b = C(colsOut);
    this.dW = C(kc * colsOut);
    this.db = C(colsOut);
    const rows = init.maxBatch * steps;
    this.col = kernel > 1 ? C(rows * kc) : null;
    this.dcol = kernel > 1 && init.needInputGrad ? C(rows * kc) : null;
    this.y = C(rows * colsOut);
    this.dx = init.needInputGrad ? C(rows * colsIn) : null;
  }

  private im2col(x: FloatArray, batch: number): FloatArray {
    if (!this.col) return x;
    const col = this.col;
    const T = this.steps;
    const cin = this.colsIn;
    const kc = this.kernel * cin;
    for (let bi = 0; bi < batch; bi++) {
      for (let t = 0; t < T; t++) {
        const dst = (bi * T + t) * kc;
        for (let kk = 0; kk < this.kernel; kk++) {
          const ts = t + kk - this.padding;
          const d = dst + kk * cin;
          if (ts < 0 || ts >= T) col.fill(0, d, d + cin);
          else {
            const s = (bi * T + ts) * cin;
            for (let c = 0; c < cin; c++) col[d + c] = x[s + c];
          }
        }
      }
    }
    return col;
  }

  forward(x: FloatArray, batch: number, _train: boolean): FloatArray {
    const rows = batch * this.steps;
    const out = this.colsOut;
    const y = this.y;
    const b = this.b;
    for (let r = 0, o = 0; r < rows; r++, o += out) for (let j = 0; j < out; j++) y[o + j] = b[j];
    const col = this.im2col(x, batch);
    gemmNN(rows, out, this.kernel * this.colsIn, col, this.W, y);
    this.x = x;
    return y;
  }

  backward(dy: FloatArray, batch: number): FloatArray | null {
    const rows = batch * this.steps;
    const out = this.colsOut;
    const cin = this.colsIn;
    const kc = this.kernel * cin;
    const col = this.col ?? (this.x as FloatArray);
    gemmTN(kc, out, rows, col, dy, this.dW);
    const db = this.db;
    for (let r = 0, o = 0; r < rows; r++, o += out) for (let j = 0; j < out; j++) db[j] += dy[o + j];
    if (!this.dx) return null;
    const dx = this.dx;
    dx.fill(0, 0, rows * cin);
    if (!this.dcol) {
      gemmNT(rows, cin, out, dy, this.W, dx);
      return dx;
    }
    const dcol = this.dcol;
    dcol.fill(0, 0, rows * kc);
    gemmNT(rows, kc, out, dy, this.W, dcol);
    const T = this.steps;
    for (let bi = 0; bi < batch; bi++) {
      for (let t = 0; t < T; t++) {
        const src = (bi * T + t) * kc;
        for (let kk = 0; kk < this.kernel; kk++) {
          const ts = t + kk - this.padding;
          if (ts < 0 || ts >= T) continue;
          const d = (bi * T + ts) * cin;
          const s = src + kk * cin;
          for (let c = 0; c < cin; c++) dx[d + c] += dcol[s + c];
        }
      }
    }
    return dx;
  }

  params(): Param[] {
    return [
      { name: `${this.name}.weight`, data: this.W, grad: this.dW, decay: true },
      { name: `${this.name}.bias`, data: this.b, grad: this.db, decay: false },
    ];
  }

  buffers(): FloatArray[] {
    return [];
  }

  macs(): number {
    return this.steps * this.kernel * this.colsIn * this.colsOut;
  }
}

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

/** Batch normalisation per column over all rows of the batch (items, and time for the CNN). */
export class BatchNorm implements Layer {
  readonly colsOut: number;
  readonly rowsOut: number;
  readonly gamma: FloatArray;
  readonly beta: FloatArray;
  readonly dGamma: FloatArray;
  readonly dBeta: FloatArray;
  readonly runningMean: FloatArray;
  readonly runningVar: FloatArray;
  private readonly y: FloatArray;
  private readonly xhat: FloatArray;
  private readonly dx: FloatArray | null;
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;

  constructor(
    readonly name: string,
    readonly colsIn: number,
    readonly rowsIn: number,
    init: LayerInit,
  ) {
    this.colsOut = colsIn;
    this.rowsOut = rowsIn;
    const C = allocator(init);
    this.gamma = C(colsIn).fill(1);
    this.beta = C(colsIn);
    this.dGamma = C(colsIn);
    this.dBeta = C(colsIn);
    this.runningMean = C(colsIn);
    this.runningVar = C(colsIn).fill(1);
    const n = init.maxBatch * rowsIn * colsIn;
    this.y = C(n);
    this.xhat = C(n);
    this.dx = init.needInputGrad ? C(n) : null;
    this.mean = new Float64Array(colsIn);
    this.invStd = new Float64Array(colsIn);
    this.s1 = new Float64Array(colsIn);
    this.s2 = new Float64Array(colsIn);
  }

  forward(x: FloatArray, batch: number, train: boolean): FloatArray {
    const rows = batch * this.rowsIn;
    const C = this.colsIn;
    const y = this.y;
    const g = this.gamma;
    const bt = this.beta;
    if (!train) {
      const inv = this.invStd;
      const mu = this.mean;
      for (let c = 0; c < C; c++) {
        inv[c] = 1 / Math.sqrt(this.runningVar[c] + BN_EPS);
        mu[c] = this.runningMean[c];
      }
      for (let r = 0, o = 0; r < rows; r++, o += C)
        for (let c = 0; c < C; c++) y[o + c] = g[c] * (x[o + c] - mu[c]) * inv[c] + bt[c];
      return y;
    }
    const mean = this.mean;
    const s2 = this.s2;
    mean.fill(0);
    s2.fill(0);
    for (let r = 0, o = 0; r < rows; r++, o += C) for (let c = 0; c < C; c++) mean[c] += x[o + c];
    for (let c = 0; c < C; c++) mean[c] /= rows;
    for (let r = 0, o = 0; r < rows; r++, o += C)
      for (let c = 0; c < C; c++) {
        const d = x[o + c] - mean[c];
        s2[c] += d * d;
      }
    const inv = this.invStd;
    for (let c = 0; c < C; c++) {
      const v = s2[c] / rows;
      inv[c] = 1 / Math.sqrt(v + BN_EPS);
      const unbiased = rows > 1 ? s2[c] / (rows - 1) : v;
      this.runningMean[c] = (1 - BN_MOMENTUM) * this.runningMean[c] + BN_MOMENTUM * mean[c];
      this.runningVar[c] = (1 - BN_MOMENTUM) * this.runningVar[c] + BN_MOMENTUM * unbiased;
    }
    const xh = this.xhat;
    for (let r = 0, o = 0; r < rows; r++, o += C)
      for (let c = 0; c < C; c++) {
        const h = (x[o + c] - mean[c]) * inv[c];
        xh[o + c] = h;
        y[o + c] = g[c] * h + bt[c];
      }
    return y;
  }

  backward(dy: FloatArray, batch: number): FloatArray | null {
    const rows = batch * this.rowsIn;
    const C = this.colsIn;
    const xh = this.xhat;
    const sdy = this.s1;
    const sdyx = this.s2;
    sdy.fill(0);
    sdyx.fill(0);
    for (let r = 0, o = 0; r < rows; r++, o += C)
      for (let c = 0; c < C; c++) {
        const d = dy[o + c];
        sdy[c] += d;
        sdyx[c] += d * xh[o + c];
      }
    for (let c = 0; c < C; c++) {
      this.dGamma[c] += sdyx[c];
      this.dBeta[c] += sdy[c];
    }
    if (!this.dx) return null;
    const dx = this.dx;
    const g = this.gamma;
    const inv = this.invStd;
    for (let r = 0, o = 0; r < rows; r++, o += C)
      for (let c = 0; c < C; c++) {
        dx[o + c] = ((g[c] * inv[c]) / rows) * (rows * dy[o + c] - sdy[c] - xh[o + c] * sdyx[c]);
      }
    return dx;
  }

  params(): Param[] {
    return [
      { name: `${this.name}.weight`, data: this.gamma, grad: this.dGamma, decay: false },
      { name: `${this.name}.bias`, data: this.beta, grad: this.dBeta, decay: false },
    ];
  }

  buffers(): FloatArray[] {
    return [this.runningMean, this.runningVar];
  }

  macs(): number {
    return 0;
  }
}

export class ReLU implements Layer {
  readonly rowsOut: number;
  readonly colsOut: number;
  private readonly y: FloatArray;
  private readonly dx: FloatArray;

  constructor(
    readonly name: string,
    readonly colsIn: number,
    readonly rowsIn: number,
    init: LayerInit,
  ) {
    this.rowsOut = rowsIn;
    this.colsOut = colsIn;
    this.y = allocator(init)(init.maxBatch * rowsIn * colsIn);
    this.dx = allocator(init)(init.maxBatch * rowsIn * colsIn);
  }

  forward(x: FloatArray, batch: number, _train: boolean): FloatArray {
    const n = batch * this.rowsIn * this.colsIn;
    const y = this.y;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      // biome-ignore lint/complexity/useMathMinMax: hot loop; a comparison, as the reference forward pass does
      y[i] = v > 0 ? v : 0;
    }
    return y;
  }

  backward(dy: FloatArray, batch: number): FloatArray {
    const n = batch * this.rowsIn * this.colsIn;
    const y = this.y;
    const dx = this.dx;
    for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
    return dx;
  }

  params(): Param[] {
    return [];
  }

  buffers(): FloatArray[] {
    return [];
  }

  macs(): number {
    return 0;
  }
}

/** Inverted dropout with a seeded mask; identity in eval mode. `frozen` reuses the last mask (gradient checks). */
export class Dropout implements Layer {
  readonly rowsOut: number;
  readonly colsOut: number;
  frozen = false;
  private readonly mask: FloatArray;
  private readonly y: FloatArray;
  private readonly dx: FloatArray;

  constructor(
    readonly name: string,
    readonly p: number,
    readonly colsIn: number,
    readonly rowsIn: number,
    public rng: Rng,
    init: LayerInit,
  ) {
    this.rowsOut = rowsIn;
    this.colsOut = colsIn;
    const n = init.maxBatch * rowsIn * colsIn;
    this.mask = allocator(init)(n);
    this.y = allocator(init)(n);
    this.dx = allocator(init)(n);
  }

  forward(x: FloatArray, batch: number, train: boolean): FloatArray {
    if (!train || this.p <= 0) return x;
    const n = batch * this.rowsIn * this.colsIn;
    const mask = this.mask;
    if (!this.frozen) {
      // one 32-bit draw gives two 16-bit uniforms; an element is dropped when its uniform is below p·65536
      const keep = 1 / (1 - this.p);
      const thr = Math.round(this.p * 65536);
      const rng = this.rng;
      for (let i = 0; i < n; i += 2) {
        const u = rng.nextUint32();
        mask[i] = (u & 0xffff) >= thr ? keep : 0;
        if (i + 1 < n) mask[i + 1] = u >>> 16 >= thr ? keep : 0;
      }
    }
    const y = this.y;
    for (let i = 0; i < n; i++) y[i] = x[i] * mask[i];
    return y;
  }

  backward(dy: FloatArray, batch: number): FloatArray {
    if (this.p <= 0) return dy;
    const n = batch * this.rowsIn * this.colsIn;
    const dx = this.dx;
    for (let i = 0; i < n; i++) dx[i] = dy[i] * this.mask[i];
    return dx;
  }

  params(): Param[] {
    return [];
  }

  buffers(): FloatArray[] {
    return [];
  }

  macs(): number {
    return 0;
  }
}

/**
 * Max over time: MaxPool1d(kernel k, stride k) when `kernel` < steps, or the global max over all steps
 * (ReduceMax over the time axis) when `kernel` equals the step count. Gradients are routed to the argmax.
 */
export class MaxPoolTime implements Layer {
  readonly rowsOut: number;
  readonly colsOut: number;
  private readonly y: FloatArray;
  private readonly dx: FloatArray;
  private readonly arg: Int32Array;

  constructor(
    readonly name: string,
    readonly colsIn: number,
    readonly rowsIn: number,
    readonly kernel: number,
    init: LayerInit,
  ) {
    this.colsOut = colsIn;
    this.rowsOut = Math.floor(rowsIn / kernel);
    const nOut = init.maxBatch * this.rowsOut * colsIn;
    this.y = allocator(init)(nOut);
    this.arg = new Int32Array(nOut);
    this.dx = allocator(init)(init.maxBatch * rowsIn * colsIn);
  }

  forward(x: FloatArray, batch: number, _train: boolean): FloatArray {
    const C = this.colsIn;
    const k = this.kernel;
    const y = this.y;
    const arg = this.arg;
    for (let bi = 0; bi < batch; bi++) {
      for (let t = 0; t < this.rowsOut; t++) {
        const o = (bi * this.rowsOut + t) * C;
        const r0 = bi * this.rowsIn + t * k;
        for (let c = 0; c < C; c++) {
          let best = x[r0 * C + c];
          let bestIdx = r0 * C + c;
          for (let j = 1; j < k; j++) {
            const idx = (r0 + j) * C + c;
            if (x[idx] > best) {
              best = x[idx];
              bestIdx = idx;
            }
          }
          y[o + c] = best;
          arg[o + c] = bestIdx;
        }
      }
    }
    return y;
  }

  backward(dy: FloatArray, batch: number): FloatArray {
    const dx = this.dx;
    dx.fill(0, 0, batch * this.rowsIn * this.colsIn);
    const n = batch * this.rowsOut * this.colsIn;
    const arg = this.arg;
    for (let i = 0; i < n; i++) dx[arg[i]] += dy[i];
    return dx;
  }

  params(): Param[] {
    return [];
  }

  buffers(): FloatArray[] {
    return [];
  }

  macs(): number {
    return 0;
  }
}
