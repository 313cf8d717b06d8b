/**
 * TypeScript forward pass of a folded head in eval mode: exactly the exported graph (docs/engine.md §3.2), computed with
 * the trainer's GEMM kernels on float32 buffers with float64 accumulation.
 */
import { gemmNT } from '../nn/gemm.ts';
import { sigmoid } from '../nn/loss.ts';
import { EMBEDDING_DIM, WINDOW_FLOATS, WINDOW_STEPS } from '../nn/network.ts';
import type { HeadTensor, TrainedHead } from '../train/types.ts';

const CHUNK = 256;

function tensor(tensors: Record<string, HeadTensor>, name: string): HeadTensor {
  const t = tensors[name];
  if (!t) throw new Error(`head tensor ${name} is missing`);
  return t;
}

/** rows × out = x · Wᵀ + b, optional ReLU (W in [out, in] layout). */
function dense(
  x: Float32Array,
  rows: number,
  W: HeadTensor,
  b: HeadTensor,
  relu: boolean,
  y: Float32Array,
): void {
  const out = W.dims[0];
  const inp = W.dims[1];
  for (let r = 0; r < rows; r++) y.set(b.data, r * out);
  gemmNT(rows, out, inp, x, W.data, y);
  if (relu) for (let i = 0, n = rows * out; i < n; i++) if (y[i] < 0) y[i] = 0;
}

/** Conv weights [out, in, k] reordered to [out, k·in] (im2col order kk·in + c). */
function convMatrix(W: HeadTensor): Float32Array {
  const [cout, cin, k] = W.dims;
  const m = new Float32Array(cout * cin * k);
  for (let o = 0; o < cout; o++)
    for (let c = 0; c < cin; c++)
      for (let kk = 0; kk < k; kk++) m[o * k * cin + kk * cin + c] = W.data[(o * cin + c) * k + kk];
  return m;
}

/** "Same" conv over T steps, channels-last rows, then ReLU. */
function conv(
  x: Float32Array,
  items: number,
  T: number,
  Wm: Float32Array,
  W: HeadTensor,
  b: HeadTensor,
  col: Float32Array,
  y: Float32Array,
): void {
  const [cout, cin, k] = W.dims;
  const pad = (k - 1) / 2;
  const kc = k * cin;
  let src = x;
  if (k > 1) {
    for (let i = 0; i < items; i++)
      for (let t = 0; t < T; t++)
        for (let kk = 0; kk < k; kk++) {
          const ts = t + kk - pad;
          const d = (i * T + t) * kc + kk * cin;
          if (ts < 0 || ts >= T) col.fill(0, d, d + cin);
          else col.set(x.subarray((i * T + ts) * cin, (i * T + ts + 1) * cin), d);
        }
    src = col;
  }
  const rows = items * T;
  for (let r = 0; r < rows; r++) y.set(b.data, r * cout);
  gemmNT(rows, cout, kc, src, Wm, y);
  for (let i = 0, n = rows * cout; i < n; i++) if (y[i] < 0) y[i] = 0;
}

/**
 * Eval-mode scores (0–1) of `count` windows stored contiguously in `windows` (count × 16 × 96, each window's rows
 * oldest first), from the folded tensors.
 */
export function forwardHead(
  heads: TrainedHead | TrainedHead[],
  windows: Float32Array,
  count: number,
): Float32Array {
  if (Array.isArray(heads)) {
    // an ensemble: the mean of its members' scores, summed in member order as the ONNX graph does
    const parts = heads.map((h) => forwardHead(h, windows, count));
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      let sum = parts[0]?.[i] ?? 0;
      for (let j = 1; j < parts.length; j++) sum = Math.fround(sum + (parts[j]?.[i] ?? 0));
      out[i] = Math.fround(sum * Math.fround(1 / parts.length));
    }
    return out;
  }
  const head = heads;
  if (windows.length < count * WINDOW_FLOATS) throw new Error('forwardHead: windows buffer too short');
  const t = head.tensors;
  const scores = new Float32Array(count);
  if (head.arch === 'mlp') {
    const h1 = new Float32Array(CHUNK * 32);
    const h2 = new Float32Array(CHUNK * 32);
    const o = new Float32Array(CHUNK);
    for (let s = 0; s < count; s += CHUNK) {
      const n = Math.min(CHUNK, count - s);
      const x = windows.subarray(s * WINDOW_FLOATS, (s + n) * WINDOW_FLOATS);
      dense(x, n, tensor(t, 'fc1.weight'), tensor(t, 'fc1.bias'), true, h1);
      dense(h1, n, tensor(t, 'fc2.weight'), tensor(t, 'fc2.bias'), true, h2);
      dense(h2, n, tensor(t, 'fc3.weight'), tensor(t, 'fc3.bias'), false, o);
      for (let i = 0; i < n; i++) scores[s + i] = sigmoid(o[i]);
    }
    return scores;
  }
  const T = WINDOW_STEPS;
  const W1 = tensor(t, 'conv1.weight');
  const W2 = tensor(t, 'conv2.weight');
  const W3 = tensor(t, 'conv3.weight');
  const m1 = convMatrix(W1);
  const m2 = convMatrix(W2);
  const m3 = convMatrix(W3);
  const C = W1.dims[0];
  const col = new Float32Array(CHUNK * T * Math.max(EMBEDDING_DIM, 3 * C));
  const a1 = new Float32Array(CHUNK * T * C);
  const a2 = new Float32Array(CHUNK * T * C);
  const p2 = new Float32Array(CHUNK * (T / 2) * C);
  const a3 = new Float32Array(CHUNK * (T / 2) * C);
  const g = new Float32Array(CHUNK * C);
  const f1 = new Float32Array(CHUNK * tensor(t, 'fc1.weight').dims[0]);
  const o = new Float32Array(CHUNK);
  for (let s = 0; s < count; s += CHUNK) {
    const n = Math.min(CHUNK, count - s);
    const x = windows.subarray(s * WINDOW_FLOATS, (s + n) * WINDOW_FLOATS);
    conv(x, n, T, m1, W1, tensor(t, 'conv1.bias'), col, a1);
    conv(a1, n, T, m2, W2, tensor(t, 'conv2.bias'), col, a2);
    for (let i = 0; i < n; i++)
      for (let tt = 0; tt < T / 2; tt++)
        for (let c = 0; c < C; c++) {
          const u = a2[(i * T + 2 * tt) * C + c];
          const v = a2[(i * T + 2 * tt + 1) * C + c];
          // biome-ignore lint/complexity/useMathMinMax: hot loop; a comparison, as the trainer's MaxPoolTime
          p2[(i * (T / 2) + tt) * C + c] = u > v ? u : v;
        }
    conv(p2, n, T / 2, m3, W3, tensor(t, 'conv3.bias'), col, a3);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < C; c++) {
        let m = a3[i * (T / 2) * C + c];
        for (let tt = 1; tt < T / 2; tt++) {
          const v = a3[(i * (T / 2) + tt) * C + c];
          if (v > m) m = v;
        }
        g[i * C + c] = m;
      }
    dense(g, n, tensor(t, 'fc1.weight'), tensor(t, 'fc1.bias'), true, f1);
    dense(f1, n, tensor(t, 'fc2.weight'), tensor(t, 'fc2.bias'), false, o);
    for (let i = 0; i < n; i++) scores[s + i] = sigmoid(o[i]);
  }
  return scores;
}
