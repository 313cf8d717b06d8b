/**
 * BatchNorm folding and conversion of a trained network into the exported tensors (docs/engine.md §3.3):
 * scale = γ/√(running_var + ε), W′ = W·scale per output channel, b′ = (b − running_mean)·scale + β.
 * Weight layouts are converted to ONNX's: Gemm B = [out, in] (transB = 1), Conv W = [out, in, k].
 */
import { BatchNorm, BN_EPS, Conv1d, Linear } from '../nn/layers.ts';
import type { Network } from '../nn/network.ts';
import type { Architecture, HeadTensor } from '../train/types.ts';

/** Initializer names in graph order for each architecture (weights before biases). */
export const HEAD_LAYERS: Record<Architecture, string[]> = {
  mlp: ['fc1', 'fc2', 'fc3'],
  tcn: ['conv1', 'conv2', 'conv3', 'fc1', 'fc2'],
};

export function foldNetwork(net: Network): Record<string, HeadTensor> {
  const out: Record<string, HeadTensor> = {};
  const layers = net.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    if (!(layer instanceof Linear || layer instanceof Conv1d)) continue;
    const cout = layer.colsOut;
    const cin = layer.colsIn;
    const k = layer instanceof Conv1d ? layer.kernel : 1;
    const scale = new Float64Array(cout).fill(1);
    const shift = new Float64Array(cout);
    const next = layers[i + 1];
    for (let o = 0; o < cout; o++) shift[o] = layer.b[o];
    if (next instanceof BatchNorm) {
      for (let o = 0; o < cout; o++) {
        const s = next.gamma[o] / Math.sqrt(next.runningVar[o] + BN_EPS);
        scale[o] = s;
        shift[o] = (layer.b[o] - next.runningMean[o]) * s + next.beta[o];
      }
    }
    const w = new Float32Array(cout * cin * k);
    // internal layout: W[(kk·cin + c) × cout]
    for (let o = 0; o < cout; o++)
      for (let c = 0; c < cin; c++)
        for (let kk = 0; kk < k; kk++)
          w[(o * cin + c) * k + kk] = layer.W[(kk * cin + c) * cout + o] * scale[o];
    const dims = layer instanceof Conv1d ? [cout, cin, k] : [cout, cin];
    out[`${layer.name}.weight`] = { dims, data: w };
    out[`${layer.name}.bias`] = { dims: [cout], data: Float32Array.from(shift) };
  }
  return out;
}

/** Parameter count of folded tensors. */
export function countParams(tensors: Record<string, HeadTensor>): number {
  let n = 0;
  for (const t of Object.values(tensors)) n += t.data.length;
  return n;
}
