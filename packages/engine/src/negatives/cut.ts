/** Cuts of speech clips used as negatives, faded at the cut so that a cut does not click. */
import { Rand, type RandomSource } from '../audio/random.ts';

/** Fade in/out applied at cut points, in samples (10 ms at 16 kHz). */
export const CUT_FADE_SAMPLES = 160;

/** Fades out the last `CUT_FADE_SAMPLES` (at most half) of `x`, in place. */
export function fadeOut(x: Float32Array): Float32Array {
  const n = Math.min(CUT_FADE_SAMPLES, x.length >> 1);
  for (let i = 0; i < n; i++) x[x.length - 1 - i] = (x[x.length - 1 - i] as number) * (i / n);
  return x;
}

/** Fades in the first and out the last `CUT_FADE_SAMPLES` (at most half) of `x`, in place. */
export function fadeInOut(x: Float32Array): Float32Array {
  const n = Math.min(CUT_FADE_SAMPLES, x.length >> 1);
  for (let i = 0; i < n; i++) x[i] = (x[i] as number) * (i / n);
  return fadeOut(x);
}

/**
 * Shares of an opening kept when it is cut short, one range per cut: every take of an opening that begins like the
 * wake word gives two cuts (docs/engine.md, "Openings cut short").
 */
export const OPENING_CUTS: ReadonlyArray<readonly [number, number]> = [
  [0.25, 0.425],
  [0.425, 0.6],
];

/**
 * A sentence opening cut short — its first `keep[0]`…`keep[1]` share (seeded), faded out: what a streaming detector
 * has heard of a sentence that begins like the wake word before the sentence goes on ("nobo…" of "nobody said that
 * my").
 */
export function cutShort(x: Float32Array, rng: RandomSource, keep: readonly [number, number]): Float32Array {
  return fadeOut(x.slice(0, Math.round(x.length * new Rand(rng).uniform(keep[0], keep[1]))));
}
