/**
 * Negatives in the user's own voice (docs/training.md): every training recording also yields audio that sounds like
 * the same speaker, microphone and room but is not the wake word — the recording played backwards, and its leading
 * and trailing parts (an incomplete wake word). All other negatives are synthetic speech, so without these a head can
 * learn "a real human voice" as a stand-in for "the wake word" and fire on any speech of that person.
 */

/** Share of the trimmed recording kept by the leading and trailing partials. */
export const USER_PARTIAL_SHARE = 0.55;
/** Fade in/out applied at cut points, in samples (10 ms at 16 kHz), so a cut does not click. */
export const CUT_FADE_SAMPLES = 160;

function fade(x: Float32Array): Float32Array {
  const n = Math.min(CUT_FADE_SAMPLES, x.length >> 1);
  for (let i = 0; i < n; i++) {
    const g = i / n;
    x[i] = (x[i] as number) * g;
    x[x.length - 1 - i] = (x[x.length - 1 - i] as number) * g;
  }
  return x;
}

/** The reversed recording, then its leading and trailing `USER_PARTIAL_SHARE` (faded at the cuts). */
export function userVoiceNegatives(clip: Float32Array): Float32Array[] {
  const n = clip.length;
  const keep = Math.round(n * USER_PARTIAL_SHARE);
  const reversed = Float32Array.from(clip).reverse();
  return [reversed, fade(clip.slice(0, keep)), fade(clip.slice(n - keep))];
}
