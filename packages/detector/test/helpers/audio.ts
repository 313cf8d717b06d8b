import { join } from 'node:path';
import { noiseFloor } from '../../src/noise.ts';
import { fixturesDir } from './paths.ts';
import { readWav } from './wav.ts';

/** Deterministic uniform PRNG for the tests. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function fixture(name: string): Int16Array {
  return readWav(join(fixturesDir, name)).samples;
}

/** Int16 clip padded with the −72 dBFS noise floor, `before` s before and `after` s after (docs/engine.md §6.8). */
export function padClip(x: Int16Array, before = 2.0, after = 1.0, seed = 1): Int16Array {
  const pre = noiseFloor(Math.round(before * 16_000), seed);
  const post = noiseFloor(Math.round(after * 16_000), seed + 1);
  const out = new Int16Array(pre.length + x.length + post.length);
  for (let i = 0; i < pre.length; i++) out[i] = Math.round(pre[i] * 32767);
  out.set(x, pre.length);
  for (let i = 0; i < post.length; i++) out[pre.length + x.length + i] = Math.round(post[i] * 32767);
  return out;
}

/** Splits `x` into consecutive chunks with sizes drawn log-uniformly from [min, max]. */
export function randomChunks<T extends Int16Array | Float32Array>(
  x: T,
  rand: () => number,
  min = 1,
  max = 80_000,
): T[] {
  const out: T[] = [];
  let pos = 0;
  while (pos < x.length) {
    const len = Math.min(
      x.length - pos,
      Math.round(Math.exp(Math.log(min) + rand() * (Math.log(max) - Math.log(min)))),
    );
    out.push(x.subarray(pos, pos + len) as T);
    pos += len;
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
