/**
 * The two candidate heads as trainable networks (docs/engine.md §3.2), in the channels-last row layout of layers.ts.
 * Input: `batch` windows of 16 × 96 floats, each window contiguous (the MLP reads it as one row of 1,536, the CNN
 * as 16 rows of 96). Output: one logit per window (Sigmoid only in the exported graph and in inference).
 */
import { deriveRng } from '../rng.ts';
import type { Architecture } from '../train/types.ts';
import type { FloatArray, FloatArrayCtor } from './gemm.ts';
import {
  BatchNorm,
  Conv1d,
  Dropout,
  kaimingUniform,
  type Layer,
  type LayerInit,
  Linear,
  MaxPoolTime,
  type Param,
  ReLU,
} from './layers.ts';
import type { Arena } from './wasm-gemm.ts';

export const WINDOW_STEPS = 16;
export const EMBEDDING_DIM = 96;
export const WINDOW_FLOATS = WINDOW_STEPS * EMBEDDING_DIM;
/** logit of 0.1: the output bias, so that training starts calibrated */
export const OUTPUT_BIAS_INIT = Math.log(0.1 / 0.9);

export interface NetworkOptions {
  maxBatch: number;
  seed: number;
  ctor?: FloatArrayCtor;
  /** false disables every Dropout layer (overfit test) */
  dropout?: boolean;
  /** compute dL/dinput too (gradient checks) */
  inputGrad?: boolean;
  /** allocate float32 buffers in this wasm arena, so that the SIMD GEMM kernel runs */
  arena?: Arena;
  /** separate dropout streams for replicas that share the seed (data-parallel ranks); default 0 */
  dropoutStream?: number;
}

export class Network {
  readonly layers: Layer[];
  private readonly paramList: Param[];

  constructor(
    readonly arch: Architecture,
    layers: Layer[],
  ) {
    this.layers = layers;
    this.paramList = layers.flatMap((l) => l.params());
  }

  /** Logits for `batch` windows (x: batch × 1,536). The returned buffer belongs to the last layer. */
  forward(x: FloatArray, batch: number, train: boolean): FloatArray {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h, batch, train);
    return h;
  }

  /** Backward from dL/dlogits (length batch) after a training forward; accumulates parameter gradients. */
  backward(dLogits: FloatArray, batch: number): FloatArray | null {
    let g: FloatArray | null = dLogits;
    for (let i = this.layers.length - 1; i >= 0 && g; i--) g = this.layers[i].backward(g, batch);
    return g;
  }

  params(): Param[] {
    return this.paramList;
  }

  zeroGrad(): void {
    for (const p of this.paramList) p.grad.fill(0);
  }

  /** All state: parameters, then BatchNorm running statistics, in a fixed order. */
  state(): FloatArray[] {
    return [...this.paramList.map((p) => p.data), ...this.layers.flatMap((l) => l.buffers())];
  }

  /** Parameter count before BatchNorm folding. */
  paramCount(): number {
    return this.paramList.reduce((n, p) => n + p.data.length, 0);
  }

  /** Multiply-adds of one forward pass for one window. */
  macsPerWindow(): number {
    return this.layers.reduce((n, l) => n + l.macs(), 0);
  }

  copyStateFrom(src: FloatArray[]): void {
    const dst = this.state();
    for (let i = 0; i < dst.length; i++) dst[i].set(src[i]);
  }
}

/** Builds an initialised MLP or CNN (Kaiming-uniform weights, zero biases, output bias logit(0.1)). */
export function buildNetwork(arch: Architecture, opts: NetworkOptions): Network {
  const ctor = opts.ctor ?? Float32Array;
  const arena = opts.arena;
  const alloc = arena && ctor === Float32Array ? (n: number) => arena.alloc(n) : undefined;
  const first: LayerInit = { ctor, alloc, maxBatch: opts.maxBatch, needInputGrad: opts.inputGrad ?? false };
  const rest: LayerInit = { ctor, alloc, maxBatch: opts.maxBatch, needInputGrad: true };
  const dropRng = (i: number) =>
    deriveRng(opts.seed, `dropout:${arch}`, i + 1000 * (opts.dropoutStream ?? 0));
  const drop = (p: number) => (opts.dropout === false ? 0 : p);
  const layers: Layer[] = [];
  if (arch === 'mlp') {
    layers.push(
      new Linear('fc1', WINDOW_FLOATS, 32, 1, first),
      new BatchNorm('bn1', 32, 1, rest),
      new ReLU('relu1', 32, 1, rest),
      new Dropout('drop1', drop(0.2), 32, 1, dropRng(1), rest),
      new Linear('fc2', 32, 32, 1, rest),
      new BatchNorm('bn2', 32, 1, rest),
      new ReLU('relu2', 32, 1, rest),
      new Dropout('drop2', drop(0.2), 32, 1, dropRng(2), rest),
      new Linear('fc3', 32, 1, 1, rest),
    );
  } else {
    const T = WINDOW_STEPS;
    layers.push(
      new Conv1d('conv1', EMBEDDING_DIM, 32, 1, 0, T, first),
      new BatchNorm('bn1', 32, T, rest),
      new ReLU('relu1', 32, T, rest),
      new Conv1d('conv2', 32, 32, 3, 1, T, rest),
      new BatchNorm('bn2', 32, T, rest),
      new ReLU('relu2', 32, T, rest),
      new Dropout('drop2', drop(0.1), 32, T, dropRng(2), rest),
      new MaxPoolTime('pool2', 32, T, 2, rest),
      new Conv1d('conv3', 32, 32, 3, 1, T / 2, rest),
      new BatchNorm('bn3', 32, T / 2, rest),
      new ReLU('relu3', 32, T / 2, rest),
      new MaxPoolTime('gmax', 32, T / 2, T / 2, rest),
      new Linear('fc1', 32, 16, 1, rest),
      new ReLU('relu4', 16, 1, rest),
      new Dropout('drop4', drop(0.2), 16, 1, dropRng(4), rest),
      new Linear('fc2', 16, 1, 1, rest),
    );
  }
  const net = new Network(arch, layers);
  const weighted = layers.filter((l): l is Linear | Conv1d => l instanceof Linear || l instanceof Conv1d);
  weighted.forEach((l, i) => {
    const rng = deriveRng(opts.seed, `init:${arch}`, i);
    const fanIn = l instanceof Conv1d ? l.kernel * l.colsIn : l.colsIn;
    const last = i === weighted.length - 1;
    // the output layer starts small (PyTorch's default bound 1/√fan_in) so the initial scores sit near 0.1
    kaimingUniform(l.W, fanIn, rng, last ? 1 / Math.sqrt(3) : Math.SQRT2);
    l.b.fill(last ? OUTPUT_BIAS_INIT : 0);
  });
  return net;
}
