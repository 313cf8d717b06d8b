/**
 * Negatives in the user's own voice (docs/engine.md): every training recording also yields audio that sounds like
 * the same speaker, microphone and room but is not the wake word — the recording played backwards, its leading
 * and trailing parts (an incomplete wake word), and its halves in the wrong order. All other negatives are synthetic
 * speech, so without these a head can learn "a real human voice" as a stand-in for "the wake word" and fire on any
 * speech of that person.
 */
import { fadeInOut } from './cut.ts';

/** Share of the trimmed recording kept by the leading and trailing partials. */
export const USER_PARTIAL_SHARE = 0.55;

/**
 * The reversed recording, its leading and trailing `USER_PARTIAL_SHARE` (faded at the cuts), and the recording with
 * its halves swapped (every sound of the wake word, in the wrong order).
 */
export function userVoiceNegatives(clip: Float32Array): Float32Array[] {
  const n = clip.length;
  const keep = Math.round(n * USER_PARTIAL_SHARE);
  const reversed = Float32Array.from(clip).reverse();
  const half = n >> 1;
  const swapped = new Float32Array(n);
  swapped.set(fadeInOut(clip.slice(half)));
  swapped.set(fadeInOut(clip.slice(0, half)), n - half);
  return [reversed, fadeInOut(clip.slice(0, keep)), fadeInOut(clip.slice(n - keep)), swapped];
}
