/**
 * Copies among recordings (docs/engine.md, "Copies of one recording"): two clips are copies when one is the other's
 * samples, shifted (by up to 0.5 s) and scaled, perhaps with a little noise or other silence around them — the same
 * take uploaded twice, not two takes of the same word (no two human takes match sample for sample).
 */
import { fftConvolve } from '../augment/fftconv.ts';

/** Envelope frame: 10 ms at 16 kHz. */
const FRAME = 160;
/** Largest shift between two copies that is searched: 0.5 s. */
const MAX_LAG_FRAMES = 50;
/** Envelopes at least this similar (cosine at the best shift) are compared sample by sample. */
const ENVELOPE_MIN = 0.9;
/** Normalised cross-correlation at or above which two clips are copies. */
export const COPY_MIN_CORRELATION = 0.9;
/** Length of the excerpt (around the loudest frame) that locates the shift to the sample: 150 ms. */
const EXCERPT = 2400;

interface Prepared {
  x: Float32Array;
  norm: number;
  /** log-energy per frame, mean removed, unit norm */
  env: Float64Array;
  loudest: number;
}

function prepare(x: Float32Array): Prepared {
  const frames = Math.max(1, Math.floor(x.length / FRAME));
  const env = new Float64Array(frames);
  let loudest = 0;
  let sumSq = 0;
  for (let f = 0; f < frames; f++) {
    let e = 0;
    for (let i = f * FRAME; i < Math.min(x.length, (f + 1) * FRAME); i++) e += (x[i] as number) ** 2;
    sumSq += e;
    env[f] = Math.log10(e / FRAME + 1e-10);
    if ((env[f] as number) > (env[loudest] as number)) loudest = f;
  }
  for (let i = frames * FRAME; i < x.length; i++) sumSq += (x[i] as number) ** 2;
  let mean = 0;
  for (const v of env) mean += v;
  mean /= frames;
  let n = 0;
  for (let f = 0; f < frames; f++) {
    env[f] = (env[f] as number) - mean;
    n += (env[f] as number) ** 2;
  }
  n = Math.sqrt(n) || 1;
  for (let f = 0; f < frames; f++) env[f] = (env[f] as number) / n;
  return { x, norm: Math.sqrt(sumSq), env, loudest };
}

/** Best shift of b against a (b[t + lag] ≈ a[t]), in frames, and the envelopes' cosine there. */
function envelopeLag(a: Float64Array, b: Float64Array): { lag: number; sim: number } {
  let best = { lag: 0, sim: -Infinity };
  for (let lag = -MAX_LAG_FRAMES; lag <= MAX_LAG_FRAMES; lag++) {
    let s = 0;
    const t0 = Math.max(0, -lag);
    const t1 = Math.min(a.length, b.length - lag);
    for (let t = t0; t < t1; t++) s += (a[t] as number) * (b[t + lag] as number);
    if (s > best.sim) best = { lag, sim: s };
  }
  return best;
}

/** Σ a[t]·b[t + lag] over the samples both hold. */
function dot(a: Float32Array, b: Float32Array, lag: number): number {
  let s = 0;
  const t0 = Math.max(0, -lag);
  const t1 = Math.min(a.length, b.length - lag);
  for (let t = t0; t < t1; t++) s += (a[t] as number) * (b[t + lag] as number);
  return s;
}

/**
 * Normalised cross-correlation of two clips at the shift where they match best (searched around the envelopes'
 * shift), in [−1, 1]; 0 when the envelopes differ too much to be copies.
 */
export function copyCorrelation(a: Float32Array, b: Float32Array): number {
  return correlate(prepare(a), prepare(b));
}

function correlate(pa: Prepared, pb: Prepared): number {
  if (pa.norm === 0 || pb.norm === 0) return 0;
  const { lag, sim } = envelopeLag(pa.env, pb.env);
  if (sim < ENVELOPE_MIN) return 0;
  // the shift to the sample, on an excerpt around a's loudest frame
  const centre = pa.loudest * FRAME + FRAME / 2;
  const from = Math.max(0, centre - EXCERPT / 2);
  const to = Math.min(pa.x.length, from + EXCERPT);
  // every shift within a frame either side of the envelopes' at once, by FFT: Σ_t a[t]·b[t + l] for t in the excerpt
  const lo = (lag - 1) * FRAME;
  const excerpt = pa.x.slice(from, to).reverse();
  const segment = new Float32Array(to - from + 2 * FRAME);
  for (let k = 0; k < segment.length; k++) segment[k] = pb.x[from + lo + k] ?? 0;
  const corr = fftConvolve(excerpt, segment);
  let fine = lo;
  let bestDot = -Infinity;
  for (let k = 0; k <= 2 * FRAME; k++) {
    const s = corr[excerpt.length - 1 + k] as number;
    if (s > bestDot) {
      bestDot = s;
      fine = lo + k;
    }
  }
  return dot(pa.x, pb.x, fine) / (pa.norm * pb.norm);
}

/**
 * Groups of copies: `groups[i]` is the index of the first clip that clip i is a copy of (directly or through other
 * copies), or i itself. Clips are compared pairwise; a clip already known to be in a group is not compared again
 * with that group's other members.
 */
export function copyGroups(clips: readonly Float32Array[]): number[] {
  const prepared = clips.map(prepare);
  const parent = clips.map((_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r] as number;
    while (parent[i] !== r) {
      const next = parent[i] as number;
      parent[i] = r;
      i = next;
    }
    return r;
  };
  for (let i = 0; i < clips.length; i++)
    for (let j = i + 1; j < clips.length; j++) {
      const ri = find(i);
      const rj = find(j);
      if (ri === rj) continue;
      if (correlate(prepared[i] as Prepared, prepared[j] as Prepared) >= COPY_MIN_CORRELATION)
        parent[Math.max(ri, rj)] = Math.min(ri, rj);
    }
  return clips.map((_, i) => find(i));
}
