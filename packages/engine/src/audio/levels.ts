/** Level helpers. dBFS is relative to a full-scale sine-free reference: RMS 1.0 = 0 dBFS. */

export const DB_FLOOR = -120;

export function rms(x: Float32Array, start = 0, end = x.length): number {
  if (end <= start) return 0;
  let s = 0;
  for (let i = start; i < end; i++) {
    const v = x[i] as number;
    s += v * v;
  }
  return Math.sqrt(s / (end - start));
}

export function ampToDb(a: number): number {
  return a > 0 ? Math.max(DB_FLOOR, 20 * Math.log10(a)) : DB_FLOOR;
}

export function dbToAmp(db: number): number {
  return 10 ** (db / 20);
}

/** RMS level in dBFS (−120 for silence). */
export function dbfs(x: Float32Array, start = 0, end = x.length): number {
  return ampToDb(rms(x, start, end));
}

export function peak(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i] as number);
    if (a > m) m = a;
  }
  return m;
}

/** Scales in place so the RMS equals `targetRms` (no-op for silence). Returns the array. */
export function setRms(x: Float32Array, targetRms: number): Float32Array {
  const r = rms(x);
  if (r > 0) {
    const g = targetRms / r;
    for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) * g;
  }
  return x;
}

export function scale(x: Float32Array, gain: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) * gain;
  return out;
}

/** A copy of `x` scaled to an RMS level of `dbfs` (silence stays silent). */
export function atLevel(x: Float32Array, dbfs: number): Float32Array {
  return scale(x, dbToAmp(dbfs) / Math.max(rms(x), 1e-9));
}

/** Clips to −1..1 in place and returns the number of clipped samples. */
export function hardClip(x: Float32Array): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v > 1) {
      x[i] = 1;
      n++;
    } else if (v < -1) {
      x[i] = -1;
      n++;
    }
  }
  return n;
}
