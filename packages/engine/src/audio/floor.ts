import { Rand, type RandomSource } from './random.ts';

/** Default noise floor used for canvases and scoring pads (docs/engine.md §6.8). */
export const NOISE_FLOOR_DBFS = -72;

/** Gaussian white noise at the given RMS level in dBFS (default −72), seeded. */
export function noiseFloor(length: number, rng: RandomSource, levelDbfs = NOISE_FLOOR_DBFS): Float32Array {
  const r = new Rand(rng);
  const a = 10 ** (levelDbfs / 20);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = a * r.normal();
  return out;
}
