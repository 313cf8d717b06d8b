/**
 * A minimal ONNX writer for test heads (protobuf by hand): embeddings → Flatten → Gemm → Sigmoid → score.
 * Used to test the head runner with symbolic batch dimensions and wrong shapes.
 */

class Writer {
  private bytes: number[] = [];
  varint(v: number): this {
    let x = BigInt(v);
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (x > 0n);
    return this;
  }
  key(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.key(field, 0).varint(v);
  }
  raw(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  str(field: number, s: string): this {
    return this.raw(field, new TextEncoder().encode(s));
  }
  msg(field: number, w: Writer): this {
    return this.raw(field, w.finish());
  }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.bytes.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

type Dim = number | string;

function valueInfo(name: string, shape: Dim[]): Writer {
  const dims = new Writer();
  for (const d of shape) dims.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().str(2, d));
  const tensorType = new Writer().int(1, 1).msg(2, dims);
  return new Writer().str(1, name).msg(2, new Writer().msg(1, tensorType));
}

function tensor(name: string, dims: number[], data: Float32Array): Writer {
  const w = new Writer();
  for (const d of dims) w.int(1, d);
  return w
    .int(2, 1)
    .str(8, name)
    .raw(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function node(op: string, inputs: string[], outputs: string[], attrs: Writer[] = []): Writer {
  const w = new Writer();
  for (const i of inputs) w.str(1, i);
  for (const o of outputs) w.str(2, o);
  w.str(3, `${op}_0`).str(4, op);
  for (const a of attrs) w.msg(5, a);
  return w;
}

export interface LinearHeadSpec {
  /** Input shape, default ['batch', 16, 96]. */
  input?: Dim[];
  inputName?: string;
  outputName?: string;
  /** Output columns, default 1. */
  outputs?: number;
  /** (16·96) × outputs weights, row-major. */
  weights: Float32Array;
  bias: Float32Array;
}

/** score = sigmoid(flatten(embeddings) · W + b). */
export function linearHead(spec: LinearHeadSpec): Uint8Array {
  const input = spec.input ?? ['batch', 16, 96];
  const inName = spec.inputName ?? 'embeddings';
  const outName = spec.outputName ?? 'score';
  const outs = spec.outputs ?? 1;
  const features = (input[1] as number) * (input[2] as number);
  const graph = new Writer()
    .msg(1, node('Flatten', [inName], ['flat'], [new Writer().str(1, 'axis').int(3, 1).int(20, 2)]))
    .msg(1, node('Gemm', ['flat', 'W', 'B'], ['logits']))
    .msg(1, node('Sigmoid', ['logits'], [outName]))
    .str(2, 'test_head')
    .msg(5, tensor('W', [features, outs], spec.weights))
    .msg(5, tensor('B', [outs], spec.bias))
    .msg(11, valueInfo(inName, input))
    .msg(12, valueInfo(outName, [input[0], outs]));
  return new Writer()
    .int(1, 7)
    .str(2, 'violawake-test')
    .msg(7, graph)
    .msg(8, new Writer().str(1, '').int(2, 13))
    .finish();
}
