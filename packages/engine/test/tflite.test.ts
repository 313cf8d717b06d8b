/**
 * TFLite export (docs/formats.md): every architecture the trainer produces (mlp, tcn and their ensemble) is written
 * as a builtin-ops-only float32 TFLite flatbuffer, run in a real TFLite interpreter (LiteRT.js from npm, its wasm
 * from node_modules) on windows of real "computer" and "snowboy" recordings, and compared with the ONNX export's
 * scores in onnxruntime-node.
 */
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { WINDOW_FLOATS } from '../src/nn/network.ts';
import { countParams, exportHeadOnnx, foldNetwork } from '../src/onnx/index.ts';
import {
  exportHeadTflite,
  headsFromOnnx,
  readTflite,
  TFLITE_OPS,
  tfliteFromOnnx,
} from '../src/tflite/index.ts';
import type { Architecture, TrainedHead } from '../src/train/types.ts';
import { ENGINE_VERSION } from '../src/version.ts';
import { runTflite } from './litert.ts';
import { randomNetwork, realWindows } from './nn-fixtures.ts';

const COUNT = 96;
const meta = { wakeWord: 'hey viola', engineVersion: ENGINE_VERSION };

function headOf(arch: Architecture, seed: number): TrainedHead {
  const tensors = foldNetwork(randomNetwork(arch, seed));
  return { arch, tensors, params: countParams(tensors), bestEpoch: 1, epochs: 1, valLoss: 0, valPauc: 0 };
}

async function runOnnx(bytes: Uint8Array, windows: Float32Array, count: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({
    embeddings: new ort.Tensor('float32', windows.subarray(0, count * WINDOW_FLOATS), [count, 16, 96]),
  });
  const data = Float32Array.from(out.score?.data as Float32Array);
  await session.release();
  return data;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const CASES: [string, () => TrainedHead | TrainedHead[]][] = [
  ['mlp', () => headOf('mlp', 11)],
  ['tcn', () => headOf('tcn', 11)],
  ['mlp+tcn', () => [headOf('mlp', 11), headOf('tcn', 11)]],
];

let real: Float32Array;
beforeAll(async () => {
  real = await realWindows(COUNT);
});

describe.each(CASES)('TFLite export (%s)', (arch, make) => {
  const heads = make();
  const onnx = exportHeadOnnx(heads, meta);
  const tflite = exportHeadTflite(heads, meta);

  it('is a TFLite v3 flatbuffer: builtin ops at version 1, input [1, 16, 96] and output [1, 1] float32', () => {
    const info = readTflite(tflite);
    expect(info.identifier).toBe('TFL3');
    expect(info.version).toBe(3);
    expect(info.description).toContain(`(${arch})`);
    const builtin = Object.values(TFLITE_OPS) as number[];
    for (const c of info.operatorCodes) {
      expect(c.customCode).toBeNull();
      expect(builtin).toContain(c.builtinCode);
      expect(c.deprecatedBuiltinCode).toBe(c.builtinCode);
      expect(c.version).toBe(1);
    }
    expect(info.inputs).toHaveLength(1);
    expect(info.outputs).toHaveLength(1);
    const input = info.tensors[info.inputs[0] as number];
    const output = info.tensors[info.outputs[0] as number];
    expect(input).toMatchObject({ name: 'embeddings', shape: [1, 16, 96], type: 0, buffer: 0 });
    expect(output).toMatchObject({ name: 'score', shape: [1, 1], type: 0, buffer: 0 });
    expect(info.bufferSizes[0]).toBe(0);
    // every weight is there: the float buffers hold the parameters (+ the ensemble's scale)
    const members = Array.isArray(heads) ? heads : [heads];
    const floats = info.tensors
      .filter((t) => t.buffer > 0 && t.type === 0)
      .reduce((n, t) => n + (info.bufferSizes[t.buffer] as number) / 4, 0);
    expect(floats).toBe(members.reduce((n, h) => n + h.params, 0) + (members.length > 1 ? 1 : 0));
    expect(info.signatureKeys).toEqual(['serving_default']);
    expect(tflite.length).toBeLessThan(500 * 1024);
  });

  it('scores real windows as the ONNX head does, within 1e-4, in the LiteRT interpreter', async () => {
    const expected = await runOnnx(onnx, real, COUNT);
    const got = await runTflite(tflite, real, COUNT);
    let maxDiff = 0;
    for (let i = 0; i < COUNT; i++) {
      expect(got[i]).toBeGreaterThanOrEqual(0);
      expect(got[i]).toBeLessThanOrEqual(1);
      maxDiff = Math.max(maxDiff, Math.abs((got[i] as number) - (expected[i] as number)));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    // the scores are not saturated, so the comparison means something
    expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(0.02);
  });

  it('is written again byte for byte, and from the stored ONNX file alone', () => {
    expect(sha(exportHeadTflite(make(), meta))).toBe(sha(tflite));
    expect(sha(tfliteFromOnnx(onnx))).toBe(sha(tflite));
    expect(
      headsFromOnnx(onnx)
        .heads.map((h) => h.arch)
        .join('+'),
    ).toBe(arch);
  });
});

describe('TFLite export: inputs it refuses', () => {
  it('says why a file that is not one of our ONNX heads cannot be converted', () => {
    expect(() => tfliteFromOnnx(Uint8Array.of(1, 2, 3, 4, 5))).toThrow(/cannot be read|not a head/);
    const strange = exportHeadOnnx(headOf('mlp', 3), meta);
    const head = headOf('mlp', 3);
    delete (head.tensors as Record<string, unknown>)['fc2.bias'];
    expect(() => exportHeadTflite(head, meta)).toThrow(/missing tensors: fc2.bias/);
    expect(headsFromOnnx(strange).wakeWord).toBe('hey viola');
  });
});
