/**
 * PCM conversion (docs/engine.md §2.3). The mel model expects int16 magnitudes as float32 (−32768…32767), not values
 * in [−1, 1]. Int16 input is copied as is; Float32 input is clamped to [−1, 1], multiplied by 32767 and rounded
 * half away from zero; non-finite floats become 0.
 */

/** Converts one float sample (unit scale) to its int16 magnitude. */
export function floatToInt16Magnitude(v: number): number {
  if (!Number.isFinite(v)) return 0;
  const c = v > 1 ? 1 : Math.max(v, -1);
  const s = c * 32767;
  return s < 0 ? -Math.round(-s) : Math.round(s);
}

/** Writes the int16 magnitudes of `pcm` into `out` starting at `offset` (no allocation). */
export function writeInt16Magnitudes(pcm: Int16Array | Float32Array, out: Float32Array, offset = 0): void {
  if (pcm instanceof Int16Array) {
    out.set(pcm, offset);
    return;
  }
  for (let i = 0; i < pcm.length; i++) out[offset + i] = floatToInt16Magnitude(pcm[i]);
}

/** §2.3 conversion rule: a new Float32Array of int16 magnitudes. */
export function toInt16Magnitudes(pcm: Int16Array | Float32Array): Float32Array {
  const out = new Float32Array(pcm.length);
  writeInt16Magnitudes(pcm, out);
  return out;
}

/** Replaces non-finite values by 0 in place (for unit-scale float input before resampling). */
export function sanitizeFloat(pcm: Float32Array): Float32Array {
  for (let i = 0; i < pcm.length; i++) if (!Number.isFinite(pcm[i])) pcm[i] = 0;
  return pcm;
}
