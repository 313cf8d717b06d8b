/**
 * Heads recovered from an ONNX export of this engine (its initializers by name), so that a model trained before
 * the TFLite export existed gets its `.tflite` from the stored `.onnx` (docs/formats.md).
 */

import { HEAD_LAYERS } from '../onnx/fold.ts';
import { decodeOnnx } from '../onnx/writer.ts';
import type { Architecture, HeadTensor } from '../train/types.ts';
import { type ExportableHead, exportHeadTflite } from './writer.ts';

const ARCHS = Object.keys(HEAD_LAYERS) as Architecture[];

function floats(t: {
  dims?: (number | { toNumber(): number })[] | null;
  rawData?: Uint8Array | null;
  floatData?: number[] | null;
  dataType?: number | null;
  name?: string | null;
}): HeadTensor {
  if (t.dataType !== 1) throw new Error(`initializer ${t.name}: not float32`);
  const dims = (t.dims ?? []).map((d) => Number(d));
  let data: Float32Array;
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    data = new Float32Array(t.rawData.byteLength / 4);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  } else data = Float32Array.from(t.floatData ?? []);
  return { dims, data };
}

/** The members of an ONNX head (one, or an ensemble's in graph order) with their wake word and engine version. */
export function headsFromOnnx(bytes: Uint8Array): {
  heads: ExportableHead[];
  wakeWord: string;
  engineVersion: string | null;
} {
  let model: ReturnType<typeof decodeOnnx>;
  try {
    model = decodeOnnx(bytes);
  } catch (err) {
    throw new Error(`the stored ONNX model cannot be read (${(err as Error).message})`);
  }
  const inits = new Map<string, HeadTensor>();
  for (const t of model.graph?.initializer ?? []) inits.set(t.name ?? '', floats(t));
  const headOf = (arch: Architecture, prefix: string): ExportableHead | null => {
    const names = HEAD_LAYERS[arch].flatMap((l) => [`${l}.weight`, `${l}.bias`]);
    if (!names.every((n) => inits.has(prefix + n))) return null;
    return { arch, tensors: Object.fromEntries(names.map((n) => [n, inits.get(prefix + n) as HeadTensor])) };
  };
  let heads: ExportableHead[] = [];
  const single = ARCHS.map((a) => headOf(a, '')).find((h) => h !== null);
  if (single) heads = [single];
  else {
    // an ensemble: members in the order of their first node in the graph
    const order: Architecture[] = [];
    for (const n of model.graph?.node ?? []) {
      const arch = (n.name ?? '').split('/')[0] as Architecture;
      if (ARCHS.includes(arch) && !order.includes(arch)) order.push(arch);
    }
    heads = order.map((a) => headOf(a, `${a}/`)).filter((h): h is ExportableHead => h !== null);
    if (heads.length !== order.length || heads.length < 2) heads = [];
  }
  if (heads.length === 0)
    throw new Error('the stored ONNX model is not a head this engine wrote (its weights are not recognised)');
  const meta = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key, p.value]));
  return {
    heads,
    wakeWord: meta.wake_word ?? 'model',
    engineVersion: model.producerVersion || null,
  };
}

/** TFLite bytes for a stored ONNX head (throws with a reason a user can read when that is not possible). */
export function tfliteFromOnnx(bytes: Uint8Array): Uint8Array {
  const { heads, wakeWord, engineVersion } = headsFromOnnx(bytes);
  return exportHeadTflite(heads.length === 1 ? (heads[0] as ExportableHead) : heads, {
    wakeWord,
    engineVersion: engineVersion ?? undefined,
  });
}
