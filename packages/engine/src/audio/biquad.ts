/** Second-order IIR sections (RBJ audio-EQ cookbook) at 16 kHz, for noise colouring and microphone bands. */
const SR = 16000;

export type BiquadKind = 'lowpass' | 'highpass' | 'bandpass';

/**
 * Runs one section from rest in double precision and writes it to `out` (default a new array; `x` itself filters in
 * place). `bandpass` has a constant 0 dB peak gain.
 */
export function biquad(
  x: Float32Array,
  kind: BiquadKind,
  hz: number,
  q: number,
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  const w = (2 * Math.PI * hz) / SR;
  const cos = Math.cos(w);
  const alpha = Math.sin(w) / (2 * q);
  const a0 = 1 + alpha;
  let b0: number;
  let b1: number;
  if (kind === 'bandpass') {
    b0 = alpha / a0;
    b1 = 0;
  } else {
    b1 = (kind === 'lowpass' ? 1 - cos : -(1 + cos)) / a0;
    b0 = Math.abs(b1) / 2;
  }
  const b2 = kind === 'bandpass' ? -b0 : b0;
  return runSection(x, out, b0, b1, b2, (-2 * cos) / a0, (1 - alpha) / a0);
}

/** Runs one normalised section (a0 = 1) from rest in double precision into `out`. */
function runSection(
  x: Float32Array,
  out: Float32Array,
  b0: number,
  b1: number,
  b2: number,
  a1: number,
  a2: number,
): Float32Array {
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const y = b0 * v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = v;
    y2 = y1;
    y1 = y;
    out[i] = y;
  }
  return out;
}

export type EqKind = 'peaking' | 'lowshelf' | 'highshelf';

/**
 * An equaliser section (RBJ cookbook): a peak or a shelf of `gainDb` at `hz` (shelves with slope S = 1, peaks with
 * quality `q`), run from rest in double precision into `out` (default a new array; `x` itself filters in place).
 */
export function eqBiquad(
  x: Float32Array,
  kind: EqKind,
  hz: number,
  gainDb: number,
  q = Math.SQRT1_2,
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  const A = 10 ** (gainDb / 40);
  const w = (2 * Math.PI * hz) / SR;
  const cos = Math.cos(w);
  const sin = Math.sin(w);
  let b0: number;
  let b1: number;
  let b2: number;
  let a0: number;
  let a1: number;
  let a2: number;
  if (kind === 'peaking') {
    const alpha = sin / (2 * q);
    b0 = 1 + alpha * A;
    b1 = -2 * cos;
    b2 = 1 - alpha * A;
    a0 = 1 + alpha / A;
    a1 = -2 * cos;
    a2 = 1 - alpha / A;
  } else {
    const alpha = (sin / 2) * Math.SQRT2; // shelf slope S = 1
    const k = 2 * Math.sqrt(A) * alpha;
    const s = kind === 'lowshelf' ? 1 : -1;
    b0 = A * (A + 1 - s * (A - 1) * cos + k);
    b1 = s * 2 * A * (A - 1 - s * (A + 1) * cos);
    b2 = A * (A + 1 - s * (A - 1) * cos - k);
    a0 = A + 1 + s * (A - 1) * cos + k;
    a1 = -s * 2 * (A - 1 + s * (A + 1) * cos);
    a2 = A + 1 + s * (A - 1) * cos - k;
  }
  return runSection(x, out, b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0);
}
