/**
 * ONNX writer for the heads (docs/engine.md §3.1–3.3), built on onnx-proto. IR version 7, opset 13, input `embeddings`
 * float32 [batch, 16, 96] (symbolic "batch"), output `score` float32 [batch, 1]. Only Transpose, Flatten, Gemm,
 * Conv, MaxPool, ReduceMax, Relu and Sigmoid are used, plus Add and Mul for an ensemble (the mean of its members'
 * scores; docs/engine.md). The bytes are a pure function of the tensors and the
 * metadata: fixed node names and order, initializers as little-endian raw float32, no timestamps or random ids.
 */
import onnxProto from 'onnx-proto';
import { EMBEDDING_DIM, WINDOW_STEPS } from '../nn/network.ts';
import type { HeadTensor, TrainedHead } from '../train/types.ts';
import { ENGINE_VERSION } from '../version.ts';
import { HEAD_LAYERS } from './fold.ts';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type IAttr = onnxProto.onnx.IAttributeProto;

export const ONNX_IR_VERSION = 7;
export const ONNX_OPSET = 13;
export const MANIFEST_SCHEMA = 'violawake.model.v1';
export const HEAD_INPUT_NAME = 'embeddings';
export const HEAD_OUTPUT_NAME = 'score';
export const ALLOWED_OPS = [
  'Transpose',
  'Flatten',
  'Gemm',
  'Conv',
  'MaxPool',
  'ReduceMax',
  'Relu',
  'Sigmoid',
  'Add',
  'Mul',
];

export interface ExportMeta {
  wakeWord: string;
  engineVersion?: string;
}

function ints(name: string, values: number[]): IAttr {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}
function int(name: string, value: number): IAttr {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}
function node(op: string, name: string, inputs: string[], output: string, attribute: IAttr[] = []): INode {
  return { opType: op, name, input: inputs, output: [output], attribute };
}

function rawFloat32(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return bytes;
}

function initializer(name: string, t: HeadTensor): onnxProto.onnx.ITensorProto {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (n !== t.data.length)
    throw new Error(`tensor ${name}: dims ${t.dims.join('×')} do not match ${t.data.length} values`);
  return { name, dims: t.dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: rawFloat32(t.data) };
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function gemm(layer: string, input: string, output: string): INode {
  return node('Gemm', `${layer}_gemm`, [input, `${layer}.weight`, `${layer}.bias`], output, [
    int('transB', 1),
  ]);
}

function conv(layer: string, input: string, output: string, k: number): INode {
  const pad = (k - 1) / 2;
  return node('Conv', `${layer}_conv`, [input, `${layer}.weight`, `${layer}.bias`], output, [
    ints('dilations', [1]),
    int('group', 1),
    ints('kernel_shape', [k]),
    ints('pads', [pad, pad]),
    ints('strides', [1]),
  ]);
}

function relu(name: string, input: string): INode {
  return node('Relu', `${name}_relu`, [input], `${name}_relu`);
}

/**
 * The graph's nodes for an architecture (fixed names and order). With a prefix (ensemble members) every node,
 * intermediate value and weight name starts with it, and the output is `<prefix>score`.
 */
export function headNodes(head: TrainedHead, prefix = ''): INode[] {
  const p = (n: string) => `${prefix}${n}`;
  const out = p(HEAD_OUTPUT_NAME);
  if (head.arch === 'mlp') {
    return [
      node('Flatten', p('flatten'), [HEAD_INPUT_NAME], p('flat'), [int('axis', 1)]),
      gemm(p('fc1'), p('flat'), p('fc1')),
      relu(p('fc1'), p('fc1')),
      gemm(p('fc2'), p('fc1_relu'), p('fc2')),
      relu(p('fc2'), p('fc2')),
      gemm(p('fc3'), p('fc2_relu'), p('logit')),
      node('Sigmoid', p('sigmoid'), [p('logit')], out),
    ];
  }
  return [
    node('Transpose', p('transpose'), [HEAD_INPUT_NAME], p('channels_first'), [ints('perm', [0, 2, 1])]),
    conv(p('conv1'), p('channels_first'), p('conv1'), head.tensors['conv1.weight'].dims[2]),
    relu(p('conv1'), p('conv1')),
    conv(p('conv2'), p('conv1_relu'), p('conv2'), head.tensors['conv2.weight'].dims[2]),
    relu(p('conv2'), p('conv2')),
    node('MaxPool', p('pool2'), [p('conv2_relu')], p('pool2'), [
      ints('kernel_shape', [2]),
      ints('strides', [2]),
    ]),
    conv(p('conv3'), p('pool2'), p('conv3'), head.tensors['conv3.weight'].dims[2]),
    relu(p('conv3'), p('conv3')),
    node('ReduceMax', p('time_max'), [p('conv3_relu')], p('time_max'), [
      ints('axes', [2]),
      int('keepdims', 0),
    ]),
    gemm(p('fc1'), p('time_max'), p('fc1')),
    relu(p('fc1'), p('fc1')),
    gemm(p('fc2'), p('fc1_relu'), p('logit')),
    node('Sigmoid', p('sigmoid'), [p('logit')], out),
  ];
}

/** Architecture name of a head or an ensemble (`mlp+tcn`). */
export function headArchitecture(heads: TrainedHead | TrainedHead[]): string {
  return Array.isArray(heads) ? heads.map((h) => h.arch).join('+') : heads.arch;
}

/**
 * Serialises a folded head to ONNX bytes; given several heads, one graph whose score is the mean of theirs (each
 * member's weights and nodes under the prefix `<arch>/`).
 */
export function exportHeadOnnx(heads: TrainedHead | TrainedHead[], meta: ExportMeta): Uint8Array {
  const members = Array.isArray(heads) ? heads : [heads];
  if (members.length === 0) throw new Error('nothing to export');
  const single = members.length === 1;
  const nodes: INode[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  for (const head of members) {
    const prefix = single ? '' : `${head.arch}/`;
    const names = HEAD_LAYERS[head.arch].flatMap((l) => [`${l}.weight`, `${l}.bias`]);
    const missing = names.filter((n) => !head.tensors[n]);
    if (missing.length) throw new Error(`head is missing tensors: ${missing.join(', ')}`);
    nodes.push(...headNodes(head, prefix));
    inits.push(...names.map((n) => initializer(`${prefix}${n}`, head.tensors[n])));
  }
  if (!single) {
    // score = (s_1 + … + s_n) / n
    let acc = `${members[0]?.arch}/${HEAD_OUTPUT_NAME}`;
    for (let i = 1; i < members.length; i++) {
      const next = i === members.length - 1 ? 'ensemble_sum' : `ensemble_sum${i}`;
      nodes.push(node('Add', `ensemble_add${i}`, [acc, `${members[i]?.arch}/${HEAD_OUTPUT_NAME}`], next));
      acc = next;
    }
    inits.push(initializer('ensemble_scale', { dims: [1], data: Float32Array.of(1 / members.length) }));
    nodes.push(node('Mul', 'ensemble_mean', [acc, 'ensemble_scale'], HEAD_OUTPUT_NAME));
  }
  const model: onnxProto.onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'violawake',
    producerVersion: meta.engineVersion ?? ENGINE_VERSION,
    graph: {
      name: `violawake_${headArchitecture(heads).replace('+', '_')}`,
      node: nodes,
      initializer: inits,
      input: [valueInfo(HEAD_INPUT_NAME, ['batch', WINDOW_STEPS, EMBEDDING_DIM])],
      output: [valueInfo(HEAD_OUTPUT_NAME, ['batch', 1])],
    },
    metadataProps: [
      { key: 'wake_word', value: meta.wakeWord },
      { key: 'manifest_schema', value: MANIFEST_SCHEMA },
    ],
  };
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`invalid ONNX model: ${err}`);
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Decodes ONNX bytes (for inspection and tests). */
export function decodeOnnx(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
