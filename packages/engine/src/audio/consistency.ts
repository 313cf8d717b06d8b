/**
 * Clip consistency check (docs/engine.md §6.2 step 4): DTW distance between the clips' embedding sequences; a clip whose
 * median distance to the others exceeds `factor` (2) times the overall median is flagged `clip_inconsistent`.
 *
 * A sequence is `steps × dim` floats, row-major (one 96-d embedding per 80 ms step from the front end).
 */
export interface FeatureSequence {
  data: Float32Array;
  steps: number;
  dim: number;
}

export type FrameMetric = 'cosine' | 'euclidean';

function euclidean(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += ((a[ai + k] as number) - (b[bi + k] as number)) ** 2;
  return Math.sqrt(s);
}

function cosine(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < dim; k++) {
    const x = a[ai + k] as number;
    const y = b[bi + k] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return na === nb ? 0 : 1;
  return 1 - dot / Math.sqrt(na * nb);
}

/**
 * Dynamic-time-warping distance (steps (1,0), (0,1), (1,1)), Euclidean (or cosine) frame distance, normalised by n + m so clips of
 * different lengths compare fairly. Symmetric; 0 for identical sequences.
 */
export function dtwDistance(a: FeatureSequence, b: FeatureSequence, metric: FrameMetric = 'cosine'): number {
  const frameDistance = metric === 'cosine' ? cosine : euclidean;
  if (a.dim !== b.dim) throw new RangeError('feature dimensions differ');
  const n = a.steps;
  const m = b.steps;
  if (n === 0 || m === 0) return n === m ? 0 : Infinity;
  const dim = a.dim;
  let prev = new Float64Array(m + 1).fill(Infinity);
  let cur = new Float64Array(m + 1).fill(Infinity);
  prev[0] = 0;
  for (let i = 1; i <= n; i++) {
    cur[0] = Infinity;
    for (let j = 1; j <= m; j++) {
      const d = frameDistance(a.data, (i - 1) * dim, b.data, (j - 1) * dim, dim);
      // diagonal moves count twice (standard symmetric step weights, total weight n + m)
      cur[j] = Math.min((prev[j - 1] as number) + 2 * d, (prev[j] as number) + d, (cur[j - 1] as number) + d);
    }
    [prev, cur] = [cur, prev];
  }
  return (prev[m] as number) / (n + m);
}

/**
 * Subtracts the mean feature vector over all frames of all sequences. Embeddings share a large common component;
 * removing it lets the cosine distance see what differs between words (it roughly doubles the contrast between a
 * different word and other takes of the same word on real recordings).
 */
export function centerSequences(seqs: FeatureSequence[]): FeatureSequence[] {
  if (seqs.length === 0) return [];
  const dim = (seqs[0] as FeatureSequence).dim;
  const mean = new Float64Array(dim);
  let frames = 0;
  for (const s of seqs) {
    for (let t = 0; t < s.steps; t++)
      for (let k = 0; k < dim; k++) mean[k] = (mean[k] as number) + (s.data[t * dim + k] as number);
    frames += s.steps;
  }
  for (let k = 0; k < dim; k++) mean[k] = (mean[k] as number) / Math.max(1, frames);
  return seqs.map((s) => {
    const data = new Float32Array(s.steps * dim);
    for (let t = 0; t < s.steps; t++)
      for (let k = 0; k < dim; k++) data[t * dim + k] = (s.data[t * dim + k] as number) - (mean[k] as number);
    return { data, steps: s.steps, dim };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const k = s.length >> 1;
  return s.length % 2 ? (s[k] as number) : ((s[k - 1] as number) + (s[k] as number)) / 2;
}

export interface ConsistencyResult {
  /** Indices of clips flagged as inconsistent. */
  flagged: number[];
  /** Median DTW distance of each clip to the others. */
  medians: number[];
  /** Median of the per-clip medians (the reference the factor applies to). */
  overallMedian: number;
  /** Pairwise distance matrix (symmetric, zero diagonal). */
  distances: number[][];
}

/**
 * Flags clips whose median DTW distance to the others exceeds `factor` × the overall median (needs ≥ 3 clips).
 * Sequences are centred first (`centerSequences`) unless `center: false`.
 */
export function findInconsistentClips(
  input: FeatureSequence[],
  factor = 2,
  metric: FrameMetric = 'cosine',
  opts: { center?: boolean } = {},
): ConsistencyResult {
  const seqs = opts.center === false ? input : centerSequences(input);
  const n = seqs.length;
  const distances = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const all: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const d = dtwDistance(seqs[i] as FeatureSequence, seqs[j] as FeatureSequence, metric);
      (distances[i] as number[])[j] = d;
      (distances[j] as number[])[i] = d;
      all.push(d);
    }
  if (n < 3)
    return {
      flagged: [],
      medians: new Array(n).fill(0),
      overallMedian: all.length ? median(all) : 0,
      distances,
    };
  const medians = distances.map((row, i) => median(row.filter((_, j) => j !== i)));
  // "overall median" = median of the per-clip medians: unlike the median of all pairs, one odd clip cannot raise it
  const overallMedian = median(medians);
  const flagged = medians.map((m, i) => (m > factor * overallMedian ? i : -1)).filter((i) => i >= 0);
  return { flagged, medians, overallMedian, distances };
}
