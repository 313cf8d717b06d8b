/**
 * Training data access (docs/engine.md §7.3–7.4): the group-aware validation split stratified by source kind, the
 * validation subset, the stratified batch sampler over the three pools, and window gathering.
 */
import { EngineError } from '../eval/errors.ts';
import { EMBEDDING_DIM, WINDOW_FLOATS, WINDOW_STEPS } from '../nn/network.ts';
import { deriveRng, type Rng } from '../rng.ts';
import { POOL_BANK_NEGATIVE, POOL_POSITIVE, POOL_WORD_NEGATIVE, type WindowSet } from './types.ts';

export const VAL_GROUP_SHARE = 0.15;
export const VAL_MAX_WINDOWS = 2048;
export const BATCH_SIZE = 128;
export const BATCHES_PER_EPOCH = 32;
/** share of each batch per pool: positives, word-specific negatives, bank negatives (first design 50/25/25; docs/engine.md part two) */
export const POOL_SHARES = [0.4, 0.2, 0.4];
/** per-window loss weight of a word-specific negative relative to a bank negative */
export const WORD_NEGATIVE_WEIGHT = 2;
/**
 * Hard-negative mining (docs/engine.md): after every epoch the current network scores the next
 * `MINE_CANDIDATES` bank windows of a rotating shuffled list plus the current hard pool, and the `HARD_POOL`
 * highest-scoring ones become the hard pool; from then on `HARD_SHARE` of each batch comes from it, taken out of
 * the bank share (0.4: all of it). At 0.5 FA/h a head may fire about once in 22,500 steps, so the bank's rare
 * look-alike windows matter far more than its average one, and uniform sampling shows each bank window less than
 * once in a whole training run.
 */
export const MINE_CANDIDATES = 4096;
export const HARD_POOL = 1024;
export const HARD_SHARE = 0.4;

export interface Split {
  train: Int32Array;
  /** validation subset (≤ 2,048 windows) */
  val: Int32Array;
}

/** Checks shapes and ranges of a WindowSet; throws `insufficient_data`/`internal` errors. */
export function validateWindowSet(d: WindowSet): void {
  const n = d.starts.length;
  for (const [name, a] of [
    ['labels', d.labels],
    ['pools', d.pools],
    ['groups', d.groups],
    ['kinds', d.kinds],
  ] as const)
    if (a.length !== n)
      throw new EngineError('internal', `WindowSet.${name} has ${a.length} entries, expected ${n}`);
  if (d.weights && d.weights.length !== n)
    throw new EngineError('internal', 'WindowSet.weights length mismatch');
  const rows = Math.floor(d.embeddings.length / EMBEDDING_DIM);
  for (let i = 0; i < n; i++)
    if (d.starts[i] < 0 || d.starts[i] + WINDOW_STEPS > rows)
      throw new EngineError('internal', `window ${i} (start ${d.starts[i]}) exceeds the embedding table`);
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < n; i++) if (d.labels[i]) pos++;
  neg = n - pos;
  if (pos === 0 || neg === 0)
    throw new EngineError('insufficient_data', 'Training needs both positive and negative windows.', {
      pos,
      neg,
    });
}

/**
 * Group-aware split: for every source kind, 15 % of its groups (seeded, at least one when the kind has two or more
 * groups) go to validation; the rest train. The validation subset keeps at most 1,024 positives and fills the rest
 * of 2,048 with negatives, each side stratified by kind in proportion to its windows.
 */
export function splitWindows(d: WindowSet, seed: number): Split {
  const n = d.starts.length;
  const groupKind = new Map<number, number>();
  for (let i = 0; i < n; i++) if (!groupKind.has(d.groups[i])) groupKind.set(d.groups[i], d.kinds[i]);
  const byKind = new Map<number, number[]>();
  for (const [g, k] of groupKind) {
    const list = byKind.get(k) ?? [];
    list.push(g);
    byKind.set(k, list);
  }
  const valGroups = new Set<number>();
  for (const k of [...byKind.keys()].sort((a, b) => a - b)) {
    const groups = (byKind.get(k) as number[]).sort((a, b) => a - b);
    if (groups.length < 2) continue;
    deriveRng(seed, 'split:val', k).shuffle(groups);
    const take = Math.min(groups.length - 1, Math.max(1, Math.round(groups.length * VAL_GROUP_SHARE)));
    for (let i = 0; i < take; i++) valGroups.add(groups[i]);
  }
  const train: number[] = [];
  const valAll: number[] = [];
  for (let i = 0; i < n; i++) (valGroups.has(d.groups[i]) ? valAll : train).push(i);
  const val = valSubset(d, valAll, seed);
  return { train: Int32Array.from(train), val: Int32Array.from(val) };
}

function stratifiedTake(d: WindowSet, idx: number[], count: number, rng: Rng): number[] {
  if (idx.length <= count) return idx;
  const byKind = new Map<number, number[]>();
  for (const i of idx) {
    const l = byKind.get(d.kinds[i]) ?? [];
    l.push(i);
    byKind.set(d.kinds[i], l);
  }
  const kinds = [...byKind.keys()].sort((a, b) => a - b);
  const out: number[] = [];
  let left = count;
  kinds.forEach((k, j) => {
    const list = byKind.get(k) as number[];
    const quota =
      j === kinds.length - 1 ? left : Math.min(left, Math.round((count * list.length) / idx.length));
    rng.shuffle(list);
    out.push(...list.slice(0, quota));
    left -= Math.min(quota, list.length);
  });
  return out.sort((a, b) => a - b);
}

function valSubset(d: WindowSet, valAll: number[], seed: number): number[] {
  const pos = valAll.filter((i) => d.labels[i] === 1);
  const neg = valAll.filter((i) => d.labels[i] !== 1);
  const rng = deriveRng(seed, 'split:subset', 0);
  const p = stratifiedTake(d, pos, Math.min(pos.length, VAL_MAX_WINDOWS / 2), rng);
  const q = stratifiedTake(d, neg, VAL_MAX_WINDOWS - p.length, rng);
  return [...p, ...q].sort((a, b) => a - b);
}

/**
 * Per-window loss weights for a set of windows: positives and negatives equal in total, a word-specific negative
 * weighing twice a bank negative, times the optional per-window multipliers. Normalised to mean 1.
 */
export function classWeights(d: WindowSet, idx: ArrayLike<number>, out: Float32Array): void {
  let n0 = 0;
  let n1 = 0;
  let n2 = 0;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    if (d.labels[i] === 1) n0++;
    else if (d.pools[i] === POOL_WORD_NEGATIVE) n1++;
    else n2++;
  }
  const B = idx.length;
  const w0 = n0 ? B / (2 * n0) : 0;
  const negDen = WORD_NEGATIVE_WEIGHT * n1 + n2;
  const w2 = negDen ? B / (2 * negDen) : 0;
  const w1 = WORD_NEGATIVE_WEIGHT * w2;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    const base = d.labels[i] === 1 ? w0 : d.pools[i] === POOL_WORD_NEGATIVE ? w1 : w2;
    out[j] = base * (d.weights ? d.weights[i] : 1);
  }
}

/**
 * Seeded stratified sampling without replacement from the three pools, each reshuffled when exhausted, plus the
 * hard-negative pool once `setHard` has filled it.
 */
export class PoolSampler {
  private readonly pools: Int32Array[];
  private readonly pos: number[];
  private readonly counts: number[];
  private readonly rngs: Rng[];
  private readonly batchSize: number;
  private hard = new Int32Array(0);
  private hardPos = 0;
  private readonly hardRng: Rng;
  /** bank windows in a fixed seeded order for mining, walked round-robin */
  private readonly mineOrder: Int32Array;
  private minePos = 0;

  constructor(d: WindowSet, train: Int32Array, seed: number, batchSize = BATCH_SIZE) {
    const lists: number[][] = [[], [], []];
    for (const i of train) {
      const p =
        d.labels[i] === 1
          ? POOL_POSITIVE
          : d.pools[i] === POOL_WORD_NEGATIVE
            ? POOL_WORD_NEGATIVE
            : POOL_BANK_NEGATIVE;
      lists[p].push(i);
    }
    if (lists[0].length === 0 || lists[1].length + lists[2].length === 0)
      throw new EngineError(
        'insufficient_data',
        'Training needs positive and negative windows after the split.',
      );
    this.batchSize = batchSize;
    this.pools = lists.map((l) => Int32Array.from(l));
    this.rngs = [0, 1, 2].map((p) => deriveRng(seed, 'sample', p));
    for (let k = 0; k < 3; k++) this.rngs[k].shuffle(this.pools[k]);
    this.hardRng = deriveRng(seed, 'sample', 3);
    this.mineOrder = Int32Array.from(lists[2]);
    deriveRng(seed, 'mine', 0).shuffle(this.mineOrder);
    this.pos = [0, 0, 0];
    const c0 = Math.round(batchSize * POOL_SHARES[0]);
    let c1 = Math.round(batchSize * POOL_SHARES[1]);
    let c2 = batchSize - c0 - c1;
    if (lists[1].length === 0) {
      c2 += c1;
      c1 = 0;
    } else if (lists[2].length === 0) {
      c1 += c2;
      c2 = 0;
    }
    this.counts = [c0, c1, c2, 0];
  }

  /** True when there are bank negatives to mine. */
  get canMine(): boolean {
    return this.mineOrder.length > 0;
  }

  /** The next `n` bank windows of the mining order (fewer when the bank pool is smaller), round-robin. */
  mineCandidates(n: number): Int32Array {
    const m = Math.min(n, this.mineOrder.length);
    const out = new Int32Array(m);
    for (let j = 0; j < m; j++) {
      out[j] = this.mineOrder[this.minePos];
      this.minePos = (this.minePos + 1) % this.mineOrder.length;
    }
    return out;
  }

  /** Current hard pool (window indices). */
  get hardPool(): Int32Array {
    return this.hard;
  }

  /** Replaces the hard pool; batches then take `HARD_SHARE` of their windows from it instead of the bank pool. */
  setHard(windows: Int32Array): void {
    this.hard = Int32Array.from(windows);
    this.hardRng.shuffle(this.hard);
    this.hardPos = 0;
    const c3 =
      this.hard.length > 0
        ? Math.min(this.counts[2] + this.counts[3], Math.round(this.batchSize * HARD_SHARE))
        : 0;
    this.counts[2] += this.counts[3] - c3;
    this.counts[3] = c3;
  }

  /** Fills `out` (length = batch size) with window indices: pool 0 first, then 1, 2 and the hard pool. */
  next(out: Int32Array): void {
    let j = 0;
    for (let p = 0; p < 3; p++) {
      const pool = this.pools[p];
      for (let c = 0; c < this.counts[p]; c++) {
        if (this.pos[p] >= pool.length) {
          this.rngs[p].shuffle(pool);
          this.pos[p] = 0;
        }
        out[j++] = pool[this.pos[p]++];
      }
    }
    for (let c = 0; c < this.counts[3]; c++) {
      if (this.hardPos >= this.hard.length) {
        this.hardRng.shuffle(this.hard);
        this.hardPos = 0;
      }
      out[j++] = this.hard[this.hardPos++];
    }
  }
}

/** Copies windows idx[from … from+count) into x (count × 1,536). */
export function gatherWindows(
  d: WindowSet,
  idx: ArrayLike<number>,
  from: number,
  count: number,
  x: Float32Array,
): void {
  const e = d.embeddings;
  for (let j = 0; j < count; j++) {
    const s = d.starts[idx[from + j]] * EMBEDDING_DIM;
    x.set(e.subarray(s, s + WINDOW_FLOATS), j * WINDOW_FLOATS);
  }
}
