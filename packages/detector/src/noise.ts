/** Deterministic −72 dBFS noise floor (docs/engine.md §6.8), used to right-pad batch clips. */
import { NOISE_FLOOR_DBFS } from './constants.ts';

/** mulberry32: small, fast, seeded uniform PRNG in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Gaussian white noise with an RMS of `levelDbfs` (re. full scale 1.0), as unit-scale floats.
 * The same seed always gives the same samples.
 */
export function noiseFloor(length: number, seed = 0x76696f6c, levelDbfs = NOISE_FLOOR_DBFS): Float32Array {
  const u = mulberry32(seed);
  const a = 10 ** (levelDbfs / 20);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    // Box–Muller: two normals per two uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    out[i] = a * r * Math.cos(th);
    if (i + 1 < length) out[i + 1] = a * r * Math.sin(th);
  }
  return out;
}
