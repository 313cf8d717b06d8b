/**
 * Adapter between the engine's seeded PRNG (`src/rng.ts`, xoshiro128** seeded by SplitMix32) and the data
 * generators. The generators only need uniform floats in [0, 1); they accept any of the common shapes so
 * they do not depend on the exact method name of the PRNG class.
 */
export type RandomSource =
  | (() => number)
  | { nextFloat(): number }
  | { float(): number }
  | { random(): number }
  | { next(): number };

/** Returns a function yielding uniform floats in [0, 1). */
export function uniformSource(rng: RandomSource): () => number {
  if (typeof rng === 'function') return rng;
  const r = rng as unknown as Record<string, unknown>;
  for (const name of ['nextFloat', 'float', 'random', 'next']) {
    const fn = r[name];
    if (typeof fn === 'function') {
      const bound = (fn as () => number).bind(rng);
      if (name !== 'next') return bound;
      // `next()` may return a uint32; normalise to [0, 1).
      return () => {
        const v = bound();
        return v >= 0 && v < 1 ? v : (v >>> 0) / 4294967296;
      };
    }
  }
  throw new TypeError('random source has no nextFloat/float/random/next method');
}

/** Convenience wrapper with the distributions the data generators use. */
export class Rand {
  readonly u: () => number;
  private spare: number | null = null;
  constructor(rng: RandomSource) {
    this.u = uniformSource(rng);
  }
  uniform(a = 0, b = 1): number {
    return a + (b - a) * this.u();
  }
  int(lo: number, hiInclusive: number): number {
    return lo + Math.min(hiInclusive - lo, Math.floor(this.u() * (hiInclusive - lo + 1)));
  }
  chance(p: number): boolean {
    return this.u() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from empty list');
    return items[this.int(0, items.length - 1)] as T;
  }
  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    for (;;) {
      const x = 2 * this.u() - 1;
      const y = 2 * this.u() - 1;
      const s = x * x + y * y;
      if (s > 0 && s < 1) {
        const m = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = y * m;
        return x * m;
      }
    }
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = items[i] as T;
      items[i] = items[j] as T;
      items[j] = t;
    }
    return items;
  }
}
