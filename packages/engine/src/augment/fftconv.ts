import FFT from 'fft.js';

const ffts = new Map<number, FFT>();
/** One fft.js instance per size, kept for reuse. */
export function fftOf(size: number): FFT {
  let f = ffts.get(size);
  if (!f) {
    f = new FFT(size);
    ffts.set(size, f);
  }
  return f;
}

/** Full linear convolution (length a + b − 1) by FFT (fft.js, radix-4, power-of-two size). */
export function fftConvolve(a: Float32Array, b: Float32Array): Float32Array {
  const outLen = a.length + b.length - 1;
  if (a.length === 0 || b.length === 0) return new Float32Array(0);
  let size = 4; // fft.js needs a power of two ≥ 4
  while (size < outLen) size *= 2;
  const fft = fftOf(size);
  const pa = new Float64Array(size);
  pa.set(a);
  const pb = new Float64Array(size);
  pb.set(b);
  // typed arrays instead of fft.js's plain-array helpers (several times faster at these sizes)
  const A = new Float64Array(2 * size) as unknown as number[];
  const B = new Float64Array(2 * size) as unknown as number[];
  fft.realTransform(A, pa);
  fft.completeSpectrum(A);
  fft.realTransform(B, pb);
  fft.completeSpectrum(B);
  for (let k = 0; k < size; k++) {
    const re =
      (A[2 * k] as number) * (B[2 * k] as number) - (A[2 * k + 1] as number) * (B[2 * k + 1] as number);
    const im =
      (A[2 * k] as number) * (B[2 * k + 1] as number) + (A[2 * k + 1] as number) * (B[2 * k] as number);
    A[2 * k] = re;
    A[2 * k + 1] = im;
  }
  const C = new Float64Array(2 * size) as unknown as number[];
  fft.inverseTransform(C, A);
  const out = new Float32Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = C[2 * i] as number; // fft.js inverse is already scaled by 1/size
  return out;
}
