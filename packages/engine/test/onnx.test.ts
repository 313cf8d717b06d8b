import { createHash } from 'node:crypto';
import type onnxProto from 'onnx-proto';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { sigmoid } from '../src/nn/loss.ts';
import { WINDOW_FLOATS } from '../src/nn/network.ts';
import {
  ALLOWED_OPS,
  countParams,
  decodeOnnx,
  exportHeadOnnx,
  foldNetwork,
  forwardHead,
} from '../src/onnx/index.ts';
import type { Architecture, TrainedHead } from '../src/train/types.ts';
import { ENGINE_VERSION } from '../src/version.ts';
import { randomNetwork, randomWindows, realWindows } from './nn-fixtures.ts';

ortWeb.env.wasm.numThreads = 1;

type Ort = typeof ortNode | typeof ortWeb;

async function runOrt(
  ort: Ort,
  bytes: Uint8Array,
  windows: Float32Array,
  count: number,
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const input = new ort.Tensor('float32', windows.subarray(0, count * WINDOW_FLOATS), [count, 16, 96]);
  const out = await session.run({ embeddings: input as never });
  const score = out.score;
  expect(score.dims).toEqual([count, 1]);
  const data = Float32Array.from(score.data as Float32Array);
  await session.release();
  return data;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function headOf(arch: Architecture, seed: number) {
  const net = randomNetwork(arch, seed);
  const tensors = foldNetwork(net);
  const head: TrainedHead = {
    arch,
    tensors,
    params: countParams(tensors),
    bestEpoch: 1,
    epochs: 1,
    valLoss: 0,
    valPauc: 0,
  };
  return { net, head };
}

let real: Float32Array;
const random = randomWindows(256, 7);

beforeAll(async () => {
  real = await realWindows(256);
});

describe.each(['mlp', 'tcn'] as const)('ONNX export round trip (%s)', (arch) => {
  const { net, head } = headOf(arch, 11);
  const bytes = exportHeadOnnx(head, { wakeWord: 'hey viola', engineVersion: ENGINE_VERSION });

  it('has the contract: IR 7, opset 13, names, shapes, allowed ops, metadata, size, parameter count', () => {
    const m = decodeOnnx(bytes);
    expect(Number(m.irVersion)).toBe(7);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 13]]);
    expect(m.producerName).toBe('violawake');
    expect(m.producerVersion).toBe(ENGINE_VERSION);
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(meta).toEqual({ wake_word: 'hey viola', manifest_schema: 'violawake.model.v1' });
    const g = m.graph as onnxProto.onnx.GraphProto;
    expect(g.input.map((i) => i.name)).toEqual(['embeddings']);
    expect(g.output.map((o) => o.name)).toEqual(['score']);
    const dims = (v: onnxProto.onnx.IValueInfoProto) =>
      (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
    expect(dims(g.input[0])).toEqual(['batch', 16, 96]);
    expect(dims(g.output[0])).toEqual(['batch', 1]);
    for (const n of g.node) expect(ALLOWED_OPS).toContain(n.opType);
    expect(g.node.at(-1)?.opType).toBe('Sigmoid');
    expect(bytes.length).toBeLessThan(500 * 1024);
    const expected = arch === 'mlp' ? 50273 : 9857;
    expect(head.params).toBe(expected);
    const initFloats = g.initializer.reduce((n, t) => n + (t.rawData?.length ?? 0) / 4, 0);
    expect(initFloats).toBe(expected);
  });

  it('BN-folded and unfolded eval forward passes agree within 1e-5', () => {
    for (const windows of [random, real]) {
      const logits = net.forward(windows, 256, false);
      const unfolded = Array.from(logits.subarray(0, 256), sigmoid);
      const folded = forwardHead(head, windows, 256);
      expect(maxAbsDiff(unfolded, folded)).toBeLessThanOrEqual(1e-5);
      // the scores are not saturated, so the comparison is meaningful
      const spread = Math.max(...folded) - Math.min(...folded);
      expect(spread).toBeGreaterThan(0.05);
    }
  });

  it('onnxruntime-node equals the TypeScript forward pass within 1e-5 on random and real windows', async () => {
    for (const windows of [random, real]) {
      const ts = forwardHead(head, windows, 256);
      const ort = await runOrt(ortNode, bytes, windows, 256);
      expect(maxAbsDiff(ts, ort)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('onnxruntime-web (wasm, in Node) equals the TypeScript forward pass within 1e-5', async () => {
    for (const windows of [random, real]) {
      const ts = forwardHead(head, windows, 256);
      const ort = await runOrt(ortWeb, bytes, windows, 256);
      expect(maxAbsDiff(ts, ort)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('writes deterministic bytes', () => {
    const again = exportHeadOnnx(headOf(arch, 11).head, {
      wakeWord: 'hey viola',
      engineVersion: ENGINE_VERSION,
    });
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha(again)).toBe(sha(bytes));
    const other = exportHeadOnnx(headOf(arch, 12).head, {
      wakeWord: 'hey viola',
      engineVersion: ENGINE_VERSION,
    });
    expect(sha(other)).not.toBe(sha(bytes));
  });
});

describe('ONNX export of the ensemble (mlp+tcn)', () => {
  const mlp = headOf('mlp', 11).head;
  const tcn = headOf('tcn', 11).head;
  const bytes = exportHeadOnnx([mlp, tcn], { wakeWord: 'hey viola', engineVersion: ENGINE_VERSION });

  it('keeps the contract: one input, one output, allowed ops, both members whole, under 500 KB', () => {
    const m = decodeOnnx(bytes);
    const g = m.graph as onnxProto.onnx.GraphProto;
    expect(g.input.map((i) => i.name)).toEqual(['embeddings']);
    expect(g.output.map((o) => o.name)).toEqual(['score']);
    for (const n of g.node) expect(ALLOWED_OPS).toContain(n.opType);
    expect(g.node.at(-1)?.opType).toBe('Mul');
    const floats = g.initializer.reduce((n, t) => n + (t.rawData?.length ?? 0) / 4, 0);
    expect(floats).toBe(mlp.params + tcn.params + 1);
    expect(g.initializer.map((t) => t.name)).toContain('tcn/conv1.weight');
    expect(bytes.length).toBeLessThan(500 * 1024);
  });

  it('scores the mean of its members, in onnxruntime-node, onnxruntime-web and the TypeScript forward pass', async () => {
    for (const windows of [random, real]) {
      const a = forwardHead(mlp, windows, 256);
      const b = forwardHead(tcn, windows, 256);
      const ts = forwardHead([mlp, tcn], windows, 256);
      expect(
        maxAbsDiff(
          ts,
          Array.from(a, (x, i) => (x + (b[i] as number)) / 2),
        ),
      ).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(ts, await runOrt(ortNode, bytes, windows, 256))).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(ts, await runOrt(ortWeb, bytes, windows, 256))).toBeLessThanOrEqual(1e-5);
    }
  });
});
