import { describe, expect, it } from 'vitest';
import { deriveRng, deriveSeed, fnv1a32, Rng, splitMix32Step } from '../src/rng.ts';

/** Independent BigInt implementations of the published algorithms, for cross-checking. */
const M32 = (1n << 32n) - 1n;
function refSplitMix32(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b9n) & M32;
  let z = s;
  z = ((z ^ (z >> 16n)) * 0x21f0aaadn) & M32;
  z = ((z ^ (z >> 15n)) * 0x735a2d97n) & M32;
  z = z ^ (z >> 15n);
  return [s, z];
}
function refXoshiro(seedWords: bigint[], n: number): number[] {
  const s = [...seedWords];
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M32;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number((rotl((s[1] * 5n) & M32, 7n) * 9n) & M32));
    const t = (s[1] << 9n) & M32;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11n);
  }
  return out;
}

describe('rng: SplitMix32 seeding xoshiro128**', () => {
  it('matches independent reference implementations', () => {
    let st = 12345n;
    let js = 12345;
    const words: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      const [ns, z] = refSplitMix32(st);
      const [jns, jz] = splitMix32Step(js);
      expect(jz).toBe(Number(z));
      expect(jns >>> 0).toBe(Number(ns));
      st = ns;
      js = jns;
      words.push(z);
    }
    const r = new Rng(12345);
    const ours = Array.from({ length: 50 }, () => r.nextUint32());
    expect(ours).toEqual(refXoshiro(words, 50));
  });

  it('is deterministic per (seed, purpose, item) and separates streams', () => {
    const a = deriveRng(1, 'augment', 7);
    const b = deriveRng(1, 'augment', 7);
    const seqA = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(seqA);
    const seeds = new Set([
      deriveSeed(1, 'augment', 7),
      deriveSeed(1, 'augment', 8),
      deriveSeed(1, 'augmenT', 7),
      deriveSeed(2, 'augment', 7),
      deriveSeed(1, 'split', 7),
    ]);
    expect(seeds.size).toBe(5);
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c); // FNV-1a test vector
  });

  it('draws uniform floats, ints and normals with the expected moments', () => {
    const r = deriveRng(3, 'test', 0);
    const n = 50_000;
    let s = 0;
    let s2 = 0;
    const counts = new Array(10).fill(0);
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      s += u;
      counts[r.int(10)]++;
      const z = r.normal();
      s2 += z * z;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(s / n).toBeCloseTo(0.5, 2);
    expect(s2 / n).toBeCloseTo(1, 1);
    for (const c of counts) expect(Math.abs(c - n / 10)).toBeLessThan(n / 10 / 10);
    const arr = [1, 2, 3, 4, 5, 6];
    deriveRng(1, 'shuffle', 0).shuffle(arr);
    expect([...arr].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
