/**
 * WebAssembly SIMD GEMM for the trainer's float32 buffers. The module is assembled here, byte by byte (no
 * toolchain, nothing downloaded): one kernel
 *
 *   gemm(M, N, K, a, sai, sak, b, c):  C[M×N] += Σ_k A(i, k) · B[k, j],  A(i, k) = a[i·sai + k·sak]
 *
 * with 4 × 8 register blocking (eight f32x4 accumulators, two vector loads of B and four broadcasts of A per k).
 * NN uses (sai, sak) = (K, 1), TN uses (1, M); NT transposes the (small, weight) B operand into scratch first.
 * M must be a multiple of 4 and N of 8; other shapes use the JavaScript kernels. Operands must live in the
 * arena's memory (buffers allocated with `Arena.alloc`). wasm SIMD has no fused multiply-add, so results are
 * deterministic IEEE float32 arithmetic, identical on every machine.
 */

const enc = {
  u32(n: number): number[] {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  },
  i32(n: number): number[] {
    const out: number[] = [];
    let more = true;
    while (more) {
      let b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) more = false;
      else b |= 0x80;
      out.push(b);
    }
    return out;
  },
};

function section(id: number, body: number[]): number[] {
  return [id, ...enc.u32(body.length), ...body];
}
function vec(items: number[][]): number[] {
  return [...enc.u32(items.length), ...items.flat()];
}

// opcodes
const I32 = 0x7f;
const V128 = 0x7b;
const get = (l: number) => [0x20, ...enc.u32(l)];
const set = (l: number) => [0x21, ...enc.u32(l)];
const i32c = (v: number) => [0x41, ...enc.i32(v)];
const add = [0x6a];
const mul = [0x6c];
const shl = [0x74];
const ltS = [0x48];
const simd = (op: number, ...imm: number[]) => [0xfd, ...enc.u32(op), ...imm];
const v128load = (offset: number) => simd(0x00, 4, ...enc.u32(offset));
const v128store = (offset: number) => simd(0x0b, 4, ...enc.u32(offset));
const f32load = [0x2a, 2, 0];
const splat = simd(0x13);
const f4add = simd(0xe4);
const f4mul = simd(0xe6);

function gemmBody(): number[] {
  // params: 0 M, 1 N, 2 K, 3 a, 4 sai, 5 sak, 6 b, 7 c
  // i32 locals: 8 i, 9 j, 10 k, 11 pa, 12 pb, 13 pc, 14 rowA (a + i·sai·4), 15 sai4, 16 sak4, 17 n4
  // v128 locals: 18..25 acc, 26 b0, 27 b1, 28 av
  const [M, N, K, A, SAI, SAK, B, C] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i, j, k, pa, pb, pc, rowA, sai4, sak4, n4] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const acc = (r: number) => 18 + r;
  const [b0, b1, av] = [26, 27, 28];
  const code: number[] = [];
  const emit = (...xs: number[][]) => {
    for (const x of xs) code.push(...x);
  };
  emit(get(SAI), i32c(2), shl, set(sai4), get(SAK), i32c(2), shl, set(sak4), get(N), i32c(2), shl, set(n4));
  emit(i32c(0), set(i));
  emit([0x02, 0x40], [0x03, 0x40]); // block, loop (i)
  emit(get(i), get(M), ltS, [0x45], [0x0d, 1]); // if !(i < M) br 1
  emit(get(A), get(i), get(sai4), mul, add, set(rowA));
  emit(i32c(0), set(j));
  emit([0x02, 0x40], [0x03, 0x40]); // block, loop (j)
  emit(get(j), get(N), ltS, [0x45], [0x0d, 1]);
  // pc = c + (i·N + j)·4; load accumulators from C
  emit(get(C), get(i), get(N), mul, get(j), add, i32c(2), shl, add, set(pc));
  for (let r = 0; r < 4; r++) {
    emit(get(pc), get(n4), i32c(r), mul, add, v128load(0), set(acc(2 * r)));
    emit(get(pc), get(n4), i32c(r), mul, add, v128load(16), set(acc(2 * r + 1)));
  }
  emit(get(rowA), set(pa), get(B), get(j), i32c(2), shl, add, set(pb), i32c(0), set(k));
  emit([0x02, 0x40], [0x03, 0x40]); // block, loop (k)
  emit(get(k), get(K), ltS, [0x45], [0x0d, 1]);
  emit(get(pb), v128load(0), set(b0), get(pb), v128load(16), set(b1));
  for (let r = 0; r < 4; r++) {
    if (r === 0) emit(get(pa));
    else emit(get(pa), get(sai4), i32c(r), mul, add);
    emit(f32load, splat, set(av));
    emit(get(acc(2 * r)), get(av), get(b0), f4mul, f4add, set(acc(2 * r)));
    emit(get(acc(2 * r + 1)), get(av), get(b1), f4mul, f4add, set(acc(2 * r + 1)));
  }
  emit(get(pa), get(sak4), add, set(pa), get(pb), get(n4), add, set(pb), get(k), i32c(1), add, set(k));
  emit([0x0c, 0], [0x0b, 0x0b]); // br loop k; end loop; end block
  for (let r = 0; r < 4; r++) {
    emit(get(pc), get(n4), i32c(r), mul, add, get(acc(2 * r)), v128store(0));
    emit(get(pc), get(n4), i32c(r), mul, add, get(acc(2 * r + 1)), v128store(16));
  }
  emit(get(j), i32c(8), add, set(j), [0x0c, 0], [0x0b, 0x0b]); // j += 8; br loop j; end; end
  emit(get(i), i32c(4), add, set(i), [0x0c, 0], [0x0b, 0x0b]); // i += 4
  emit([0x0b]); // end function
  const locals = vec([
    [...enc.u32(10), I32],
    [...enc.u32(11), V128],
  ]);
  const body = [...locals, ...code];
  return [...enc.u32(body.length), ...body];
}

function moduleBytes(pages: number): Uint8Array {
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec(new Array(8).fill([I32])), 0x00]])), // type: (i32 × 8) → ()
    ...section(3, vec([[0x00]])), // function 0 has type 0
    ...section(5, vec([[0x01, ...enc.u32(pages), ...enc.u32(pages)]])), // memory, fixed size
    ...section(
      7,
      vec([
        [...enc.u32(4), ...[...'gemm'].map((c) => c.charCodeAt(0)), 0x00, 0x00], // export "gemm": function 0
        [...enc.u32(3), ...[...'mem'].map((c) => c.charCodeAt(0)), 0x02, 0x00], // export "mem": memory 0
      ]),
    ),
    ...section(10, vec([gemmBody()])),
  ];
  return Uint8Array.from(bytes);
}

type GemmFn = (
  M: number,
  N: number,
  K: number,
  a: number,
  sai: number,
  sak: number,
  b: number,
  c: number,
) => void;

/** The part of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** A fixed-size wasm memory holding trainer buffers, with the SIMD kernel bound to it. */
export class Arena {
  readonly buffer: ArrayBuffer;
  private readonly fn: GemmFn;
  private top = 0;
  private readonly scratch: Float32Array;
  static readonly SCRATCH_FLOATS = 1 << 16;

  constructor(bytes: number) {
    const pages = Math.ceil(bytes / 65536);
    if (!WA) throw new Error('WebAssembly is not available');
    const instance = new WA.Instance(new WA.Module(moduleBytes(pages)), {});
    this.buffer = (instance.exports.mem as { buffer: ArrayBuffer }).buffer;
    this.fn = instance.exports.gemm as GemmFn;
    this.scratch = this.alloc(Arena.SCRATCH_FLOATS) as Float32Array;
    arenas.set(this.buffer, this);
  }

  /** A zeroed float32 buffer in the arena, or a plain Float32Array when the arena is full. */
  alloc(n: number): Float32Array {
    const start = (this.top + 15) & ~15; // 16-byte alignment
    if (start + n * 4 > this.buffer.byteLength) return new Float32Array(n);
    this.top = start + n * 4;
    return new Float32Array(this.buffer, start, n);
  }

  /** C += A(i,k)·B for operands in this arena. */
  gemm(
    M: number,
    N: number,
    K: number,
    A: Float32Array,
    sai: number,
    sak: number,
    B: Float32Array,
    C: Float32Array,
  ): void {
    this.fn(M, N, K, A.byteOffset, sai, sak, B.byteOffset, C.byteOffset);
  }

  /** C[M×N] += A[M×K]·B[N×K]ᵀ through a transposed copy of B; false when B does not fit the scratch. */
  gemmNT(M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array): boolean {
    if (N * K > this.scratch.length) return false;
    const t = this.scratch;
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = B[n * K + k];
    this.fn(M, N, K, A.byteOffset, K, 1, t.byteOffset, C.byteOffset);
    return true;
  }
}

const arenas = new WeakMap<ArrayBufferLike, Arena>();

/** The arena holding all three operands, when they share one and are float32. */
export function arenaOf(A: unknown, B: unknown, C: unknown): Arena | null {
  if (!(A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array)) return null;
  const arena = arenas.get(C.buffer);
  if (!arena || A.buffer !== C.buffer || B.buffer !== C.buffer) return null;
  return arena;
}

let simdOk: boolean | null = null;
/** Whether this runtime supports wasm SIMD (checked once by compiling the kernel). */
export function wasmSimdAvailable(): boolean {
  if (simdOk === null) {
    try {
      simdOk = WA?.validate(moduleBytes(1)) ?? false;
    } catch {
      simdOk = false;
    }
  }
  return simdOk === true;
}
