/**
 * Deterministic random numbers for the engine (docs/engine.md §6.10).
 *
 * Generator: xoshiro128** (Blackman & Vigna), 128-bit state, 32-bit outputs. Its state is seeded from SplitMix32
 * (the 32-bit variant of SplitMix: add the golden-ratio constant 0x9e3779b9, then two xor-shift-multiply rounds).
 *
 * Streams are derived from (seed, purpose, itemId): the purpose string is hashed with FNV-1a (32 bit, over its UTF-16
 * code units), and the three 32-bit values are chained through SplitMix32 so that every (seed, purpose, item)
 * triple gets an independent-looking stream. Stages never share a stream, so parallel work gives the same result in
 * any order. Everything is integer arithmetic on 32-bit values (`Math.imul`, shifts), so Node and browsers produce
 * the same numbers.
 */

/** One SplitMix32 step: returns [next state, output]. */
export function splitMix32Step(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z = (z ^ (z >>> 15)) >>> 0;
  return [s, z];
}

/** FNV-1a 32-bit hash of a string's UTF-16 code units. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** xoshiro128** generator with convenience draws. */
export class Rng {
  /** state words as signed 32-bit integers (kept in an Int32Array so that V8 stays in integer registers) */
  private readonly s = new Int32Array(4);

  /** Seeds the four state words from a SplitMix32 stream started at `seed`. */
  constructor(seed: number) {
    let st = seed | 0;
    for (let i = 0; i < 4; i++) {
      const [ns, out] = splitMix32Step(st);
      st = ns;
      this.s[i] = out;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1; // the all-zero state is a fixed point
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const s0 = s[0];
    const s1 = s[1];
    const s2 = s[2] ^ s0;
    const s3 = s[3] ^ s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    s[0] = s0 ^ s3;
    s[1] = s1 ^ s2;
    s[2] = s2 ^ (s1 << 9);
    s[3] = (s3 << 11) | (s3 >>> 21);
    return result >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal draw (Box–Muller, one value per call). */
  normal(): number {
    let u = this.next();
    if (u < 1e-300) u = 1e-300;
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<A extends { length: number; [i: number]: any }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

/** Seed value for the stream (seed, purpose, itemId): SplitMix32 chained over the three 32-bit inputs. */
export function deriveSeed(seed: number, purpose: string, itemId: number): number {
  let [st, out] = splitMix32Step(seed | 0);
  [st, out] = splitMix32Step((out ^ fnv1a32(purpose)) | 0);
  [st, out] = splitMix32Step((out ^ (itemId | 0)) | 0);
  void st;
  return out | 0;
}

/** The random stream for one (seed, purpose, item) triple. */
export function deriveRng(seed: number, purpose: string, itemId: number): Rng {
  return new Rng(deriveSeed(seed, purpose, itemId));
}
