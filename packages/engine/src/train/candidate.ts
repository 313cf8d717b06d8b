/**
 * Training of one candidate architecture (docs/engine.md §7.3, §7.5). Runs in a worker thread or in the calling thread;
 * the result depends only on the data, the split, the seed and the options (never on timing or thread placement).
 */
import { cancelledError, EngineError } from '../eval/errors.ts';
import { partialAuc } from '../eval/metrics.ts';
import type { FloatArray } from '../nn/gemm.ts';
import { type LossKind, lossWithLogits, sigmoid, smoothTarget } from '../nn/loss.ts';
import { buildNetwork, type Network, WINDOW_FLOATS } from '../nn/network.ts';
import { Arena, wasmSimdAvailable } from '../nn/wasm-gemm.ts';
import { countParams, foldNetwork } from '../onnx/fold.ts';
import {
  BATCH_SIZE,
  BATCHES_PER_EPOCH,
  classWeights,
  gatherWindows,
  HARD_POOL,
  MINE_CANDIDATES,
  PoolSampler,
  type Split,
} from './data.ts';
import { ADAMW_DEFAULTS, AdamW, clipGradNorm, Ema, learningRate } from './optim.ts';
import type { Architecture, HeadTensor, TrainProgress, WindowSet } from './types.ts';

export const MAX_EPOCHS = 40;
/** multiply-add budget per candidate, validation and mining passes included (docs/engine.md: 3× the first design's) */
export const MAC_BUDGET = 6e10;
export const EARLY_STOP_PATIENCE = 8;
/** none (docs/engine.md): smoothing squeezed every confident score just below 0.99 */
export const LABEL_SMOOTHING = 0;
export const GRAD_CLIP = 1.0;
/** pAUC range for the architecture choice */
export const PAUC_MAX_FPR = 0.01;
/** wasm memory per candidate: both networks' buffers and the batch inputs (≈ 17 MB for the CNN) */
export const ARENA_BYTES = 48 << 20;

export interface CandidateOptions {
  arch: Architecture;
  seed: number;
  maxEpochs?: number;
  loss?: LossKind;
  /** overrides for tests (defaults: §7 values) */
  labelSmoothing?: number;
  weightDecay?: number;
  dropout?: boolean;
  lr?: number;
  batchSize?: number;
  batchesPerEpoch?: number;
  /** disable early stopping (tests) */
  earlyStopping?: boolean;
  /** hard-negative mining from the bank pool after every epoch (default true; see data.ts) */
  hardMining?: boolean;
  /** false forces the JavaScript GEMM kernels (default: WebAssembly SIMD when available) */
  wasm?: boolean;
  /**
   * Data-parallel training of one candidate by two workers (§7.6): rank r computes the gradients of half of every
   * batch; the halves are exchanged through `exchange` (see `exchangeBytes`) and summed in a fixed order, so both
   * replicas apply identical updates. BatchNorm statistics are per half batch (averaged for the running values).
   */
  parallel?: { rank: 0 | 1; exchange: SharedArrayBuffer };
}

const CONTROL_BYTES = 64;

/** Size of the exchange buffer for a data-parallel candidate. */
export function exchangeBytes(arch: Architecture): number {
  const net = buildNetwork(arch, { maxBatch: 1, seed: 0 });
  const floats = net.state().reduce((n, a) => n + a.length, 0) + 1;
  return CONTROL_BYTES + 4 * 2 * 2 * floats;
}

/** Two-party barrier on a shared Int32Array [count, generation]; polls `shouldStop` while waiting. */
function barrier(ctrl: Int32Array, shouldStop?: () => boolean): void {
  const gen = Atomics.load(ctrl, 1);
  if (Atomics.add(ctrl, 0, 1) === 1) {
    Atomics.store(ctrl, 0, 0);
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
    return;
  }
  // spin briefly (the other worker is usually a few microseconds away), then sleep
  for (let i = 0; i < 20000; i++) if (Atomics.load(ctrl, 1) !== gen) return;
  while (Atomics.load(ctrl, 1) === gen) {
    Atomics.wait(ctrl, 1, gen, 20);
    if (shouldStop?.()) throw cancelledError();
  }
}

export interface CandidateResult {
  arch: Architecture;
  tensors: Record<string, HeadTensor>;
  params: number;
  bestEpoch: number;
  epochs: number;
  valLoss: number;
  valPauc: number;
  weightsSource: 'raw' | 'ema';
  trainLoss: number;
  /** wall time and multiply-adds actually performed, for the speed report */
  seconds: number;
  macs: number;
}

export interface CandidateHooks {
  onEpoch?: (p: TrainProgress) => void;
  /** checked between batches; true aborts with a `cancelled` EngineError */
  shouldStop?: () => boolean;
}

/**
 * Epoch cap derived from the multiply-add budget (§7.3): training costs ≈ 3 forward passes per window, validation
 * 2 (raw and EMA weights) per validation window, hard-negative mining 1 per scored window.
 */
export function epochCap(
  macsPerWindow: number,
  epochWindows: number,
  valWindows: number,
  maxEpochs = MAX_EPOCHS,
  mineWindows = 0,
): number {
  const perEpoch = macsPerWindow * (3 * epochWindows + 2 * valWindows + mineWindows);
  return Math.max(1, Math.min(MAX_EPOCHS, maxEpochs, Math.floor(MAC_BUDGET / perEpoch)));
}

/** Eval-mode logits of the validation windows, then the weighted loss with smoothed targets. */
class Validator {
  readonly logits: Float32Array;
  private readonly targets: Float32Array;
  private readonly weights: Float32Array;

  constructor(
    private readonly d: WindowSet,
    private readonly idx: Int32Array,
    private readonly chunk: number,
    private readonly loss: LossKind,
    smoothing: number,
    private readonly x: Float32Array,
  ) {
    this.logits = new Float32Array(idx.length);
    this.targets = new Float32Array(idx.length);
    this.weights = new Float32Array(idx.length);
    for (let j = 0; j < idx.length; j++) this.targets[j] = smoothTarget(d.labels[idx[j]], smoothing);
    classWeights(d, idx, this.weights);
  }

  run(net: Network): number {
    const n = this.idx.length;
    for (let s = 0; s < n; s += this.chunk) {
      const c = Math.min(this.chunk, n - s);
      gatherWindows(this.d, this.idx, s, c, this.x);
      const out = net.forward(this.x, c, false);
      this.logits.set(out.subarray(0, c), s);
    }
    return lossWithLogits(this.loss, this.logits, this.targets, this.weights, n, null);
  }

  pauc(): number {
    const pos: number[] = [];
    const neg: number[] = [];
    for (let j = 0; j < this.idx.length; j++)
      (this.d.labels[this.idx[j]] === 1 ? pos : neg).push(sigmoid(this.logits[j]));
    return partialAuc(pos, neg, PAUC_MAX_FPR) ?? 0;
  }
}

/** ReLU maps NaN to 0, so a non-finite input can poison the weights while the loss stays finite: check the state. */
function allFinite(state: FloatArray[]): boolean {
  for (const a of state) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

function cloneState(state: FloatArray[]): Float32Array[] {
  return state.map((s) => Float32Array.from(s));
}

/**
 * Scores the next mining candidates and the current hard pool with the network in eval mode and makes the
 * `HARD_POOL` highest-scoring windows the new hard pool (ties by window index, so the choice is deterministic).
 * Returns the number of windows scored.
 */
function mineHardNegatives(
  d: WindowSet,
  net: Network,
  sampler: PoolSampler,
  x: FloatArray,
  B: number,
): number {
  const prev = sampler.hardPool;
  const inPrev = new Set(prev);
  const fresh = sampler.mineCandidates(MINE_CANDIDATES).filter((i) => !inPrev.has(i));
  const all = new Int32Array(prev.length + fresh.length);
  all.set(prev);
  all.set(fresh, prev.length);
  const logits = new Float32Array(all.length);
  for (let s = 0; s < all.length; s += B) {
    const c = Math.min(B, all.length - s);
    gatherWindows(d, all, s, c, x as Float32Array);
    logits.set(net.forward(x, c, false).subarray(0, c), s);
  }
  const order = Array.from(all.keys()).sort((a, b) => logits[b] - logits[a] || all[a] - all[b]);
  sampler.setHard(Int32Array.from(order.slice(0, HARD_POOL), (k) => all[k]));
  return all.length;
}

export function trainCandidate(
  d: WindowSet,
  split: Split,
  opts: CandidateOptions,
  hooks: CandidateHooks = {},
): CandidateResult {
  const t0 = performance.now();
  const B = opts.batchSize ?? BATCH_SIZE;
  const batches = opts.batchesPerEpoch ?? BATCHES_PER_EPOCH;
  const loss = opts.loss ?? 'bce';
  const smoothing = opts.labelSmoothing ?? LABEL_SMOOTHING;
  const arch = opts.arch;
  // one wasm arena for both networks and the input buffers, so that every GEMM can run the SIMD kernel
  const arena = opts.wasm !== false && wasmSimdAvailable() ? new Arena(ARENA_BYTES) : undefined;
  const net = buildNetwork(arch, {
    maxBatch: B,
    seed: opts.seed,
    dropout: opts.dropout,
    arena,
    dropoutStream: opts.parallel?.rank ?? 0,
  });
  const emaNet = buildNetwork(arch, { maxBatch: B, seed: opts.seed, dropout: false, arena });
  emaNet.copyStateFrom(net.state());
  const ema = new Ema(emaNet.state());
  const params = net.params();
  const adam = new AdamW(params, {
    ...ADAMW_DEFAULTS,
    weightDecay: opts.weightDecay ?? ADAMW_DEFAULTS.weightDecay,
  });
  const peakLr = opts.lr ?? ADAMW_DEFAULTS.lr;
  const sampler = new PoolSampler(d, split.train, opts.seed, B);
  const alloc = (n: number) => (arena ? arena.alloc(n) : new Float32Array(n));
  const validator = split.val.length
    ? new Validator(d, split.val, B, loss, smoothing, alloc(B * WINDOW_FLOATS))
    : null;
  const macsPerWindow = net.macsPerWindow();
  const mining = opts.hardMining !== false && sampler.canMine;
  const epochs = epochCap(
    macsPerWindow,
    B * batches,
    split.val.length,
    opts.maxEpochs,
    mining ? MINE_CANDIDATES + HARD_POOL : 0,
  );
  const totalSteps = epochs * batches;

  const idx = new Int32Array(B);
  const x = alloc(B * WINDOW_FLOATS);
  const targets = new Float32Array(B);
  const weights = new Float32Array(B);
  const grad = new Float32Array(B);

  let best = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let bestSource: 'raw' | 'ema' = 'raw';
  let bestState: Float32Array[] = cloneState(net.state());
  let sinceBest = 0;
  let step = 0;
  let lastTrainLoss = Number.NaN;
  let ran = 0;
  let macs = 0;

  // data-parallel exchange: [control | parity 0: rank 0, rank 1 | parity 1: rank 0, rank 1], each slot holds the
  // parameter gradients, the BatchNorm running statistics and the loss
  const par = opts.parallel;
  const H = par ? B / 2 : B;
  const stateArrays = net.state();
  const gradArrays = params.map((p) => p.grad);
  const bufferArrays = stateArrays.slice(params.length);
  const slotFloats = stateArrays.reduce((n, a) => n + a.length, 0) + 1;
  const ctrl = par ? new Int32Array(par.exchange, 0, 2) : null;
  const slot = (parity: number, rank: number) =>
    new Float32Array(
      (par as { exchange: SharedArrayBuffer }).exchange,
      CONTROL_BYTES + 4 * slotFloats * (parity * 2 + rank),
      slotFloats,
    );
  const slots = par ? [slot(0, 0), slot(0, 1), slot(1, 0), slot(1, 1)] : [];
  const halfWeights = new Float32Array(B);
  const halfIdx = new Int32Array(H);

  for (let epoch = 1; epoch <= epochs; epoch++) {
    let lossSum = 0;
    for (let b = 0; b < batches; b++) {
      if (hooks.shouldStop?.()) throw cancelledError();
      sampler.next(idx);
      if (!par) {
        gatherWindows(d, idx, 0, B, x);
        for (let j = 0; j < B; j++) targets[j] = smoothTarget(d.labels[idx[j]], smoothing);
        classWeights(d, idx, weights);
        const logits = net.forward(x, B, true);
        lossSum += lossWithLogits(loss, logits, targets, weights, B, grad);
        net.zeroGrad();
        net.backward(grad, B);
      } else {
        // rank r takes batch positions r, r + 2, … so that both halves mix the pools (BatchNorm sees both classes)
        for (let j = 0; j < H; j++) halfIdx[j] = idx[2 * j + par.rank];
        gatherWindows(d, halfIdx, 0, H, x);
        for (let j = 0; j < H; j++) targets[j] = smoothTarget(d.labels[halfIdx[j]], smoothing);
        classWeights(d, idx, weights);
        let wAll = 0;
        let wHalf = 0;
        for (let j = 0; j < B; j++) wAll += weights[j];
        for (let j = 0; j < H; j++) wHalf += halfWeights[j] = weights[2 * j + par.rank];
        const share = wAll > 0 ? wHalf / wAll : 0;
        const logits = net.forward(x, H, true);
        const halfLoss = lossWithLogits(loss, logits, targets, halfWeights, H, grad) * share;
        for (let j = 0; j < H; j++) grad[j] *= share;
        net.zeroGrad();
        net.backward(grad, H);
        // publish gradients, running statistics and loss; then both replicas sum rank 0 + rank 1
        const parity = step & 1;
        const mine = slots[parity * 2 + par.rank];
        let o = 0;
        for (const g of gradArrays) {
          mine.set(g, o);
          o += g.length;
        }
        for (const a of bufferArrays) {
          mine.set(a, o);
          o += a.length;
        }
        mine[o] = halfLoss;
        barrier(ctrl as Int32Array, hooks.shouldStop);
        const s0 = slots[parity * 2];
        const s1 = slots[parity * 2 + 1];
        o = 0;
        for (const g of gradArrays) {
          for (let i = 0; i < g.length; i++) g[i] = s0[o + i] + s1[o + i];
          o += g.length;
        }
        for (const a of bufferArrays) {
          for (let i = 0; i < a.length; i++) a[i] = (s0[o + i] + s1[o + i]) / 2;
          o += a.length;
        }
        lossSum += s0[o] + s1[o];
      }
      clipGradNorm(params, GRAD_CLIP);
      adam.step(learningRate(step, peakLr, batches, totalSteps));
      ema.update(net.state());
      step++;
    }
    macs += 3 * macsPerWindow * B * batches;
    ran = epoch;
    lastTrainLoss = lossSum / batches;
    if (!Number.isFinite(lastTrainLoss) || !allFinite(net.state()))
      throw new EngineError('internal', 'Training diverged (the loss is not a finite number).', {
        arch,
        epoch,
      });
    let valLoss = lastTrainLoss;
    let source: 'raw' | 'ema' = 'raw';
    if (validator) {
      const rawLoss = validator.run(net);
      const emaLoss = validator.run(emaNet);
      macs += 2 * macsPerWindow * split.val.length;
      source = emaLoss < rawLoss ? 'ema' : 'raw';
      valLoss = Math.min(rawLoss, emaLoss);
    }
    hooks.onEpoch?.({
      stage: 'training',
      candidate: arch,
      epoch,
      total_epochs: epochs,
      train_loss: lastTrainLoss,
      val_loss: valLoss,
    });
    if (valLoss < best) {
      best = valLoss;
      bestEpoch = epoch;
      bestSource = source;
      bestState = cloneState((source === 'ema' ? emaNet : net).state());
      sinceBest = 0;
    } else if (++sinceBest >= EARLY_STOP_PATIENCE && opts.earlyStopping !== false) break;
    if (mining && epoch < epochs) macs += mineHardNegatives(d, net, sampler, x, B) * macsPerWindow;
  }

  net.copyStateFrom(bestState);
  let valPauc = 0;
  if (validator) {
    validator.run(net);
    valPauc = validator.pauc();
  }
  const tensors = foldNetwork(net);
  return {
    arch,
    tensors,
    params: countParams(tensors),
    bestEpoch,
    epochs: ran,
    valLoss: best,
    valPauc,
    weightsSource: bestSource,
    trainLoss: lastTrainLoss,
    seconds: (performance.now() - t0) / 1000,
    macs,
  };
}
