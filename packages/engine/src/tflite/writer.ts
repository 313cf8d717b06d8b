/**
 * TFLite writer for the heads (docs/formats.md), built on the `flatbuffers` library with the table layout of
 * TensorFlow Lite's published schema (`schema.fbs`, schema version 3, file identifier "TFL3"). The graph is the
 * ONNX export's, in TFLite's channels-last layout: input `embeddings` float32 [1, 16, 96], output `score` float32
 * [1, 1]. Builtin operators only (RESHAPE, FULLY_CONNECTED, CONV_2D, MAX_POOL_2D, REDUCE_MAX, LOGISTIC, plus ADD and
 * MUL for an ensemble), every one at version 1 so that old TFLite runtimes (tflite_runtime in openWakeWord and
 * Home Assistant's add-on) load it. The bytes are a pure function of the tensors and the metadata.
 *
 * Mapping from the ONNX graph (docs/engine.md §3):
 * - MLP: Flatten → RESHAPE to [1, 1536]; Gemm(transB) → FULLY_CONNECTED (TFLite's weights are [out, in] as well),
 *   the ReLU fused into it.
 * - TCN: the [1, 16, 96] input is already channels-last, so Transpose becomes a RESHAPE to NHWC [1, 1, 16, 96];
 *   Conv1d "same" → CONV_2D with a 1 × k filter (OHWI [out, 1, k, in]), padding SAME (for odd k and stride 1 that
 *   pads (k − 1)/2 on each side, as the ONNX pads); MaxPool(2) → MAX_POOL_2D 1 × 2; ReduceMax over time →
 *   REDUCE_MAX over axes [1, 2].
 * - Ensemble: the members' subgraphs side by side, then ADD and MUL by 1/n, as the ONNX graph.
 */
import { Builder } from 'flatbuffers';
import { EMBEDDING_DIM, WINDOW_STEPS } from '../nn/network.ts';
import { HEAD_LAYERS } from '../onnx/fold.ts';
import { HEAD_INPUT_NAME, HEAD_OUTPUT_NAME } from '../onnx/writer.ts';
import type { Architecture, HeadTensor } from '../train/types.ts';
import { ENGINE_VERSION } from '../version.ts';

/** The parts of a trained head the writers need. */
export interface ExportableHead {
  arch: Architecture;
  tensors: Record<string, HeadTensor>;
}

export interface TfliteMeta {
  wakeWord: string;
  engineVersion?: string;
}

export const TFLITE_SCHEMA_VERSION = 3;
export const TFLITE_FILE_IDENTIFIER = 'TFL3';
export const TFLITE_INPUT_SHAPE = [1, WINDOW_STEPS, EMBEDDING_DIM] as const;
export const TFLITE_OUTPUT_SHAPE = [1, 1] as const;

/** BuiltinOperator codes used (schema.fbs `enum BuiltinOperator`). */
export const TFLITE_OPS = {
  ADD: 0,
  CONV_2D: 3,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RESHAPE: 22,
  REDUCE_MAX: 82,
} as const;
export type TfliteOp = keyof typeof TFLITE_OPS;

/** `union BuiltinOptions` member indices (0 = NONE). */
const OPTIONS = {
  Conv2DOptions: 1,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  ReducerOptions: 27,
} as const;

const TensorType = { FLOAT32: 0, INT32: 2 } as const;
const Padding = { SAME: 0, VALID: 1 } as const;
const Activation = { NONE: 0, RELU: 1 } as const;

interface TensorDef {
  name: string;
  shape: number[];
  type: number;
  /** constant data (little-endian), or none for activations */
  data?: Uint8Array;
}

interface OptionsDef {
  type: number;
  write: (b: Builder) => number;
}

interface OperatorDef {
  op: TfliteOp;
  inputs: number[];
  outputs: number[];
  options?: OptionsDef;
}

function f32Bytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] as number, true);
  return out;
}

function i32Bytes(data: readonly number[]): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setInt32(i * 4, data[i] as number, true);
  return out;
}

function table(b: Builder, fields: number, add: () => void): number {
  b.startObject(fields);
  add();
  return b.endObject();
}

const fcOptions = (relu: boolean): OptionsDef => ({
  type: OPTIONS.FullyConnectedOptions,
  write: (b) =>
    table(b, 5, () => b.addFieldInt8(0, relu ? Activation.RELU : Activation.NONE, Activation.NONE)),
});

const conv2dOptions: OptionsDef = {
  type: OPTIONS.Conv2DOptions,
  // padding SAME, stride_w 1, stride_h 1, fused ReLU (dilations default to 1)
  write: (b) =>
    table(b, 7, () => {
      b.addFieldInt8(0, Padding.SAME, Padding.SAME);
      b.addFieldInt32(1, 1, 0);
      b.addFieldInt32(2, 1, 0);
      b.addFieldInt8(3, Activation.RELU, Activation.NONE);
    }),
};

const maxPoolOptions: OptionsDef = {
  type: OPTIONS.Pool2DOptions,
  // padding VALID, stride_w 2, stride_h 1, filter_width 2, filter_height 1
  write: (b) =>
    table(b, 6, () => {
      b.addFieldInt8(0, Padding.VALID, Padding.SAME);
      b.addFieldInt32(1, 2, 0);
      b.addFieldInt32(2, 1, 0);
      b.addFieldInt32(3, 2, 0);
      b.addFieldInt32(4, 1, 0);
    }),
};

function int32Vector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i] as number);
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i] as number);
  return b.endVector();
}

const reshapeOptions = (shape: number[]): OptionsDef => ({
  type: OPTIONS.ReshapeOptions,
  write: (b) => {
    const v = int32Vector(b, shape);
    return table(b, 1, () => b.addFieldOffset(0, v, 0));
  },
});

const reducerOptions: OptionsDef = {
  type: OPTIONS.ReducerOptions,
  write: (b) => table(b, 1, () => b.addFieldInt8(0, 0, 0)), // keep_dims false
};
const addOptions: OptionsDef = { type: OPTIONS.AddOptions, write: (b) => table(b, 2, () => {}) };
const mulOptions: OptionsDef = { type: OPTIONS.MulOptions, write: (b) => table(b, 1, () => {}) };

class Graph {
  readonly tensors: TensorDef[] = [];
  readonly operators: OperatorDef[] = [];

  tensor(name: string, shape: number[], data?: Uint8Array, type: number = TensorType.FLOAT32): number {
    this.tensors.push({ name, shape, type, data });
    return this.tensors.length - 1;
  }
  const(name: string, t: HeadTensor, shape = t.dims): number {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new Error(`tensor ${name}: dims ${shape.join('×')} do not match ${t.data.length} values`);
    return this.tensor(name, [...shape], f32Bytes(t.data));
  }
  ints(name: string, values: number[]): number {
    return this.tensor(name, [values.length], i32Bytes(values), TensorType.INT32);
  }
  op(op: TfliteOp, inputs: number[], outputs: number[], options?: OptionsDef): void {
    this.operators.push({ op, inputs, outputs, options });
  }
}

function need(head: ExportableHead, name: string): HeadTensor {
  const t = head.tensors[name];
  if (!t) throw new Error(`head is missing tensor ${name}`);
  return t;
}

/** A Gemm layer as FULLY_CONNECTED ([out, in] weights, as the ONNX initializer). */
function dense(g: Graph, head: ExportableHead, p: string, layer: string, x: number, relu: boolean): number {
  const W = need(head, `${layer}.weight`);
  const bias = need(head, `${layer}.bias`);
  if (W.dims.length !== 2) throw new Error(`${layer}.weight: expected [out, in]`);
  const w = g.const(`${p}${layer}.weight`, W);
  const b = g.const(`${p}${layer}.bias`, bias);
  const y = g.tensor(`${p}${layer}`, [1, W.dims[0] as number]);
  g.op('FULLY_CONNECTED', [x, w, b], [y], fcOptions(relu));
  return y;
}

/** A Conv1d "same" layer ([out, in, k] ONNX weights) as CONV_2D on [1, 1, T, C] with an OHWI [out, 1, k, in] filter. */
function conv(g: Graph, head: ExportableHead, p: string, layer: string, x: number, T: number): number {
  const W = need(head, `${layer}.weight`);
  const bias = need(head, `${layer}.bias`);
  const [cout, cin, k] = W.dims as [number, number, number];
  if (W.dims.length !== 3 || k % 2 !== 1) throw new Error(`${layer}.weight: expected [out, in, odd k]`);
  const ohwi = new Float32Array(cout * k * cin);
  for (let o = 0; o < cout; o++)
    for (let c = 0; c < cin; c++)
      for (let kk = 0; kk < k; kk++) ohwi[(o * k + kk) * cin + c] = W.data[(o * cin + c) * k + kk] as number;
  const w = g.const(`${p}${layer}.weight`, { dims: [cout, 1, k, cin], data: ohwi });
  const b = g.const(`${p}${layer}.bias`, bias);
  const y = g.tensor(`${p}${layer}`, [1, 1, T, cout]);
  g.op('CONV_2D', [x, w, b], [y], conv2dOptions);
  return y;
}

/** One head's operators from the input tensor to its [1, 1] score; returns the score tensor. */
function headGraph(g: Graph, head: ExportableHead, input: number, p: string, out: string): number {
  const missing = HEAD_LAYERS[head.arch]
    .flatMap((l) => [`${l}.weight`, `${l}.bias`])
    .filter((n) => !head.tensors[n]);
  if (missing.length) throw new Error(`head is missing tensors: ${missing.join(', ')}`);
  let logit: number;
  if (head.arch === 'mlp') {
    const flatShape = [1, WINDOW_STEPS * EMBEDDING_DIM];
    const shape = g.ints(`${p}flatten/shape`, flatShape);
    const flat = g.tensor(`${p}flat`, flatShape);
    g.op('RESHAPE', [input, shape], [flat], reshapeOptions(flatShape));
    const h1 = dense(g, head, p, 'fc1', flat, true);
    const h2 = dense(g, head, p, 'fc2', h1, true);
    logit = dense(g, head, p, 'fc3', h2, false);
  } else if (head.arch === 'tcn') {
    const T = WINDOW_STEPS;
    const nhwc = [1, 1, T, EMBEDDING_DIM];
    const shape = g.ints(`${p}nhwc/shape`, nhwc);
    const x = g.tensor(`${p}nhwc`, nhwc);
    g.op('RESHAPE', [input, shape], [x], reshapeOptions(nhwc));
    const c1 = conv(g, head, p, 'conv1', x, T);
    const c2 = conv(g, head, p, 'conv2', c1, T);
    const C = need(head, 'conv2.weight').dims[0] as number;
    const pooled = g.tensor(`${p}pool2`, [1, 1, T / 2, C]);
    g.op('MAX_POOL_2D', [c2], [pooled], maxPoolOptions);
    const c3 = conv(g, head, p, 'conv3', pooled, T / 2);
    const C3 = need(head, 'conv3.weight').dims[0] as number;
    const axes = g.ints(`${p}time_max/axes`, [1, 2]);
    const gmax = g.tensor(`${p}time_max`, [1, C3]);
    g.op('REDUCE_MAX', [c3, axes], [gmax], reducerOptions);
    const f1 = dense(g, head, p, 'fc1', gmax, true);
    logit = dense(g, head, p, 'fc2', f1, false);
  } else {
    throw new Error(`cannot export architecture ${String((head as { arch: unknown }).arch)} to TFLite`);
  }
  const score = g.tensor(out, [...TFLITE_OUTPUT_SHAPE]);
  g.op('LOGISTIC', [logit], [score]);
  return score;
}

function serialise(g: Graph, input: number, output: number, description: string): Uint8Array {
  const b = new Builder(1 << 16);
  // operator codes in first-use order
  const codes: TfliteOp[] = [];
  for (const o of g.operators) if (!codes.includes(o.op)) codes.push(o.op);
  // buffers: 0 is the empty sentinel, then one per constant tensor in tensor order
  const bufferData: Uint8Array[] = [];
  const bufferOf = g.tensors.map((t) => {
    if (!t.data) return 0;
    bufferData.push(t.data);
    return bufferData.length;
  });

  const bufferOffsets = [table(b, 3, () => {})];
  for (const data of bufferData) {
    b.startVector(1, data.length, 16); // data:[ubyte] (force_align: 16)
    for (let i = data.length - 1; i >= 0; i--) b.writeInt8(data[i] as number);
    const v = b.endVector();
    bufferOffsets.push(table(b, 3, () => b.addFieldOffset(0, v, 0)));
  }

  const tensorOffsets = g.tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = int32Vector(b, t.shape);
    return table(b, 10, () => {
      b.addFieldOffset(0, shape, 0);
      b.addFieldInt8(1, t.type, TensorType.FLOAT32);
      b.addFieldInt32(2, bufferOf[i] as number, 0);
      b.addFieldOffset(3, name, 0);
    });
  });

  const operatorOffsets = g.operators.map((o) => {
    const inputs = int32Vector(b, o.inputs);
    const outputs = int32Vector(b, o.outputs);
    const options = o.options ? o.options.write(b) : 0;
    return table(b, 13, () => {
      b.addFieldInt32(0, codes.indexOf(o.op), 0);
      b.addFieldOffset(1, inputs, 0);
      b.addFieldOffset(2, outputs, 0);
      if (o.options) {
        b.addFieldInt8(3, o.options.type, 0); // builtin_options_type
        b.addFieldOffset(4, options, 0); // builtin_options
      }
    });
  });

  const subgraphName = b.createString('main');
  const sgTensors = offsetVector(b, tensorOffsets);
  const sgInputs = int32Vector(b, [input]);
  const sgOutputs = int32Vector(b, [output]);
  const sgOperators = offsetVector(b, operatorOffsets);
  const subgraph = table(b, 5, () => {
    b.addFieldOffset(0, sgTensors, 0);
    b.addFieldOffset(1, sgInputs, 0);
    b.addFieldOffset(2, sgOutputs, 0);
    b.addFieldOffset(3, sgOperators, 0);
    b.addFieldOffset(4, subgraphName, 0);
  });

  const codeOffsets = codes.map((op) =>
    table(b, 4, () => {
      const code = TFLITE_OPS[op];
      b.addFieldInt8(0, Math.min(code, 127), 0); // deprecated_builtin_code (a byte)
      b.addFieldInt32(2, 1, 1); // version 1
      b.addFieldInt32(3, code, 0); // builtin_code
    }),
  );

  const tensorMap = (name: string, index: number) => {
    const n = b.createString(name);
    return table(b, 2, () => {
      b.addFieldOffset(0, n, 0);
      b.addFieldInt32(1, index, 0);
    });
  };
  const sigIn = offsetVector(b, [tensorMap(HEAD_INPUT_NAME, input)]);
  const sigOut = offsetVector(b, [tensorMap(HEAD_OUTPUT_NAME, output)]);
  const sigKey = b.createString('serving_default');
  const signature = table(b, 5, () => {
    b.addFieldOffset(0, sigIn, 0);
    b.addFieldOffset(1, sigOut, 0);
    b.addFieldOffset(2, sigKey, 0);
    b.addFieldInt32(4, 0, 0);
  });

  const desc = b.createString(description);
  const opCodes = offsetVector(b, codeOffsets);
  const subgraphs = offsetVector(b, [subgraph]);
  const buffers = offsetVector(b, bufferOffsets);
  const signatures = offsetVector(b, [signature]);
  const model = table(b, 8, () => {
    b.addFieldInt32(0, TFLITE_SCHEMA_VERSION, 0);
    b.addFieldOffset(1, opCodes, 0);
    b.addFieldOffset(2, subgraphs, 0);
    b.addFieldOffset(3, desc, 0);
    b.addFieldOffset(4, buffers, 0);
    b.addFieldOffset(7, signatures, 0);
  });
  b.finish(model, TFLITE_FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

/**
 * Serialises folded heads to a TFLite flatbuffer; given several heads, one graph whose score is the mean of theirs
 * (the ONNX export's ensemble).
 */
export function exportHeadTflite(heads: ExportableHead | ExportableHead[], meta: TfliteMeta): Uint8Array {
  const members = Array.isArray(heads) ? heads : [heads];
  if (members.length === 0) throw new Error('nothing to export');
  const single = members.length === 1;
  const g = new Graph();
  const input = g.tensor(HEAD_INPUT_NAME, [...TFLITE_INPUT_SHAPE]);
  const scores = members.map((h) =>
    headGraph(g, h, input, single ? '' : `${h.arch}/`, single ? HEAD_OUTPUT_NAME : `${h.arch}/score`),
  );
  let output = scores[0] as number;
  if (!single) {
    // score = (s_1 + … + s_n) / n, summed in member order
    for (let i = 1; i < scores.length; i++) {
      const sum = g.tensor(i === scores.length - 1 ? 'ensemble_sum' : `ensemble_sum${i}`, [1, 1]);
      g.op('ADD', [output, scores[i] as number], [sum], addOptions);
      output = sum;
    }
    const scale = g.const('ensemble_scale', { dims: [1, 1], data: Float32Array.of(1 / members.length) });
    const score = g.tensor(HEAD_OUTPUT_NAME, [...TFLITE_OUTPUT_SHAPE]);
    g.op('MUL', [output, scale], [score], mulOptions);
    output = score;
  }
  const arch = members.map((h) => h.arch).join('+');
  const description = `ViolaWake wake-word head "${meta.wakeWord}" (${arch}), engine ${meta.engineVersion ?? ENGINE_VERSION}`;
  return serialise(g, input, output, description);
}
