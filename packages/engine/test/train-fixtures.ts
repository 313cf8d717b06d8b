/**
 * Synthetic WindowSets for trainer tests: an embedding table of "canvases" (19 rows each, 4 windows per canvas like
 * docs/engine.md §6.8) and a long "bank" stream. Positive canvases carry a fixed 96-d pattern over a few steps at a varying time
 * shift; word-specific negatives carry a partial, weaker version of it; bank rows are noise. Learnable, not trivial.
 */
import { deriveRng } from '../src/rng.ts';
import { POOL_BANK_NEGATIVE, POOL_POSITIVE, POOL_WORD_NEGATIVE, type WindowSet } from '../src/train/types.ts';

export interface SyntheticOptions {
  positives: number; // canvases
  wordNegatives: number; // canvases
  bankRows: number;
  bankBlock?: number; // rows per bank group
  seed: number;
  shared?: boolean;
  signal?: number;
  /** seed of the class patterns (default: seed), so that a test set can share the training set's patterns */
  patternSeed?: number;
  /** every n-th bank window start carries a look-alike (pattern parts 0–2, no part 3): rare hard negatives */
  lookalikeEvery?: number;
}

export function syntheticWindows(o: SyntheticOptions): WindowSet {
  const rng = deriveRng(o.seed, 'test:synthetic', 0);
  const D = 96;
  const canvasRows = 19;
  const prng = deriveRng(o.patternSeed ?? o.seed, 'test:pattern', 0);
  const pattern = Array.from({ length: 4 }, () => Float32Array.from({ length: D }, () => prng.normal()));
  const rows = (o.positives + o.wordNegatives) * canvasRows + o.bankRows;
  const bytes = rows * D * 4;
  const emb = new Float32Array(o.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  for (let i = 0; i < emb.length; i++) emb[i] = rng.normal();
  const starts: number[] = [];
  const labels: number[] = [];
  const pools: number[] = [];
  const groups: number[] = [];
  const kinds: number[] = [];
  const amp = o.signal ?? 0.6;
  let row = 0;
  let group = 0;
  const canvas = (kind: 'pos' | 'neg') => {
    const shift = rng.int(4);
    const kindIdx = kind === 'pos' ? rng.int(2) : 2 + rng.int(2); // user/synthetic, confusable/partial
    const parts = kind === 'pos' ? [0, 1, 2, 3] : rng.chance(0.5) ? [0, 1] : [2, 3];
    for (const [j, p] of parts.entries()) {
      const r = row + 10 + shift + (kind === 'pos' ? j : p);
      for (let c = 0; c < D; c++) emb[r * D + c] += amp * pattern[p][c] * (kind === 'pos' ? 1 : 0.8);
    }
    for (let w = 0; w < 4; w++) {
      starts.push(row + w);
      labels.push(kind === 'pos' ? 1 : 0);
      pools.push(kind === 'pos' ? POOL_POSITIVE : POOL_WORD_NEGATIVE);
      groups.push(group);
      kinds.push(kindIdx);
    }
    row += canvasRows;
    group++;
  };
  for (let i = 0; i < o.positives; i++) canvas('pos');
  for (let i = 0; i < o.wordNegatives; i++) canvas('neg');
  if (o.lookalikeEvery)
    for (let s = 0; s + 16 <= o.bankRows; s += o.lookalikeEvery)
      for (const p of [0, 1, 2])
        for (let c = 0; c < D; c++) emb[(row + s + 10 + p) * D + c] += amp * pattern[p][c];
  const block = o.bankBlock ?? 375; // 30 s of 80 ms steps
  for (let b = 0; b + 16 <= o.bankRows; b += block) {
    const kind = 4 + ((b / block) % 4);
    for (let s = b; s + 16 <= Math.min(o.bankRows, b + block); s++) {
      starts.push(row + s);
      labels.push(0);
      pools.push(POOL_BANK_NEGATIVE);
      groups.push(group);
      kinds.push(kind);
    }
    group++;
  }
  return {
    embeddings: emb,
    starts: Int32Array.from(starts),
    labels: Uint8Array.from(labels),
    pools: Uint8Array.from(pools),
    groups: Int32Array.from(groups),
    kinds: Uint8Array.from(kinds),
  };
}
