/**
 * Dense matrix kernels for the trainer (docs/engine.md §7.1). Row-major, contiguous operands, written against a numeric
 * array type so that the gradient checks run them in Float64Array and training in Float32Array.
 *
 * All three variants accumulate (C += …) and use 4×4 register blocking with a contiguous inner loop over the shared
 * dimension (or over the output row for the NN variant), plus plain loops for the edges. When all three operands
 * are float32 buffers of one wasm `Arena` (wasm-gemm.ts) and the shape allows it, the WebAssembly SIMD kernel runs
 * instead.
 */
import { arenaOf } from './wasm-gemm.ts';

export type FloatArray = Float32Array | Float64Array;
export type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;

/** C[M×N] += A[M×K] · B[K×N]. */
export function gemmNN(M: number, N: number, K: number, A: FloatArray, B: FloatArray, C: FloatArray): void {
  if ((M & 3) === 0 && (N & 7) === 0) {
    const arena = arenaOf(A, B, C);
    if (arena) {
      arena.gemm(M, N, K, A as Float32Array, K, 1, B as Float32Array, C as Float32Array);
      return;
    }
  }
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let bk = j;
      for (let k = 0; k < K; k++, bk += N) {
        const b0 = B[bk],
          b1 = B[bk + 1],
          b2 = B[bk + 2],
          b3 = B[bk + 3];
        const x0 = A[a0 + k],
          x1 = A[a1 + k],
          x2 = A[a2 + k],
          x3 = A[a3 + k];
        c00 += x0 * b0;
        c01 += x0 * b1;
        c02 += x0 * b2;
        c03 += x0 * b3;
        c10 += x1 * b0;
        c11 += x1 * b1;
        c12 += x1 * b2;
        c13 += x1 * b3;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c22 += x2 * b2;
        c23 += x2 * b3;
        c30 += x3 * b0;
        c31 += x3 * b1;
        c32 += x3 * b2;
        c33 += x3 * b3;
      }
      let c = i * N + j;
      C[c] += c00;
      C[c + 1] += c01;
      C[c + 2] += c02;
      C[c + 3] += c03;
      c += N;
      C[c] += c10;
      C[c + 1] += c11;
      C[c + 2] += c12;
      C[c + 3] += c13;
      c += N;
      C[c] += c20;
      C[c + 1] += c21;
      C[c + 2] += c22;
      C[c + 3] += c23;
      c += N;
      C[c] += c30;
      C[c + 1] += c31;
      C[c + 2] += c32;
      C[c + 3] += c33;
    }
    for (let j = N4; j < N; j++) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      let bk = j;
      for (let k = 0; k < K; k++, bk += N) {
        const b = B[bk];
        c0 += A[a0 + k] * b;
        c1 += A[a1 + k] * b;
        c2 += A[a2 + k] * b;
        c3 += A[a3 + k] * b;
      }
      C[i * N + j] += c0;
      C[(i + 1) * N + j] += c1;
      C[(i + 2) * N + j] += c2;
      C[(i + 3) * N + j] += c3;
    }
  }
  for (let i = M4; i < M; i++) {
    const a = i * K;
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0, bk = j; k < K; k++, bk += N) s += A[a + k] * B[bk];
      C[i * N + j] += s;
    }
  }
}

/** C[M×N] += A[M×K] · B[N×K]ᵀ. */
export function gemmNT(M: number, N: number, K: number, A: FloatArray, B: FloatArray, C: FloatArray): void {
  if ((M & 3) === 0 && (N & 7) === 0) {
    const arena = arenaOf(A, B, C);
    if (arena?.gemmNT(M, N, K, A as Float32Array, B as Float32Array, C as Float32Array)) return;
  }
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    for (let j = 0; j < N4; j += 4) {
      const b0 = j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < K; k++) {
        const y0 = B[b0 + k],
          y1 = B[b1 + k],
          y2 = B[b2 + k],
          y3 = B[b3 + k];
        const x0 = A[a0 + k],
          x1 = A[a1 + k],
          x2 = A[a2 + k],
          x3 = A[a3 + k];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let c = i * N + j;
      C[c] += c00;
      C[c + 1] += c01;
      C[c + 2] += c02;
      C[c + 3] += c03;
      c += N;
      C[c] += c10;
      C[c + 1] += c11;
      C[c + 2] += c12;
      C[c + 3] += c13;
      c += N;
      C[c] += c20;
      C[c + 1] += c21;
      C[c + 2] += c22;
      C[c + 3] += c23;
      c += N;
      C[c] += c30;
      C[c + 1] += c31;
      C[c + 2] += c32;
      C[c + 3] += c33;
    }
    for (let j = N4; j < N; j++) {
      const b = j * K;
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let k = 0; k < K; k++) {
        const y = B[b + k];
        c0 += A[a0 + k] * y;
        c1 += A[a1 + k] * y;
        c2 += A[a2 + k] * y;
        c3 += A[a3 + k] * y;
      }
      C[i * N + j] += c0;
      C[(i + 1) * N + j] += c1;
      C[(i + 2) * N + j] += c2;
      C[(i + 3) * N + j] += c3;
    }
  }
  for (let i = M4; i < M; i++) {
    const a = i * K;
    for (let j = 0; j < N; j++) {
      const b = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a + k] * B[b + k];
      C[i * N + j] += s;
    }
  }
}

/** C[M×N] += A[K×M]ᵀ · B[K×N]. */
export function gemmTN(M: number, N: number, K: number, A: FloatArray, B: FloatArray, C: FloatArray): void {
  if ((M & 3) === 0 && (N & 7) === 0) {
    const arena = arenaOf(A, B, C);
    if (arena) {
      arena.gemm(M, N, K, A as Float32Array, 1, M, B as Float32Array, C as Float32Array);
      return;
    }
  }
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let ak = i;
      let bk = j;
      for (let k = 0; k < K; k++, ak += M, bk += N) {
        const x0 = A[ak],
          x1 = A[ak + 1],
          x2 = A[ak + 2],
          x3 = A[ak + 3];
        const y0 = B[bk],
          y1 = B[bk + 1],
          y2 = B[bk + 2],
          y3 = B[bk + 3];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let c = i * N + j;
      C[c] += c00;
      C[c + 1] += c01;
      C[c + 2] += c02;
      C[c + 3] += c03;
      c += N;
      C[c] += c10;
      C[c + 1] += c11;
      C[c + 2] += c12;
      C[c + 3] += c13;
      c += N;
      C[c] += c20;
      C[c + 1] += c21;
      C[c + 2] += c22;
      C[c + 3] += c23;
      c += N;
      C[c] += c30;
      C[c + 1] += c31;
      C[c + 2] += c32;
      C[c + 3] += c33;
    }
    for (let j = N4; j < N; j++) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      let ak = i;
      let bk = j;
      for (let k = 0; k < K; k++, ak += M, bk += N) {
        const y = B[bk];
        c0 += A[ak] * y;
        c1 += A[ak + 1] * y;
        c2 += A[ak + 2] * y;
        c3 += A[ak + 3] * y;
      }
      C[i * N + j] += c0;
      C[(i + 1) * N + j] += c1;
      C[(i + 2) * N + j] += c2;
      C[(i + 3) * N + j] += c3;
    }
  }
  for (let i = M4; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0, ak = i, bk = j; k < K; k++, ak += M, bk += N) s += A[ak] * B[bk];
      C[i * N + j] += s;
    }
  }
}
