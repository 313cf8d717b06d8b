import { describe, expect, it } from 'vitest';
import { ModelShapeError } from '../src/errors.ts';
import { loadHead } from '../src/head.ts';
import { ort } from '../src/node.ts';
import { lcg } from './helpers/audio.ts';
import { linearHead } from './helpers/onnx.ts';

function weights(n: number, seed: number): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 0.05);
}

describe('head runner', () => {
  it('runs a head with a symbolic batch dimension in one call and matches a reference forward pass', async () => {
    const W = weights(1536, 1);
    const b = new Float32Array([0.1]);
    const head = await loadHead(ort, linearHead({ weights: W, bias: b }));
    expect(head.batchable).toBe(true);
    expect([head.inputName, head.outputName]).toEqual(['embeddings', 'score']);
    const n = 300; // more than one internal batch of 256
    const r = lcg(2);
    const windows = Float32Array.from({ length: n * 1536 }, () => r() * 4 - 2);
    const scores = await head.scoreWindows(windows, n);
    expect(scores.length).toBe(n);
    for (let i = 0; i < n; i++) {
      let z = b[0];
      for (let j = 0; j < 1536; j++) z += windows[i * 1536 + j] * W[j];
      expect(scores[i]).toBeCloseTo(1 / (1 + Math.exp(-z)), 5);
    }
    // Scoring one window at a time gives the same values.
    const one = await head.scoreWindows(windows.subarray(1536 * 7, 1536 * 8), 1);
    expect(one[0]).toBeCloseTo(scores[7], 6);
    await head.dispose();
    await expect(head.scoreWindows(windows, 1)).rejects.toThrow(/disposed/);
  });

  it('reads input and output names from the model', async () => {
    const head = await loadHead(
      ort,
      linearHead({
        input: [1, 16, 96],
        inputName: 'x.1',
        outputName: '53',
        weights: weights(1536, 3),
        bias: new Float32Array(1),
      }),
    );
    expect([head.inputName, head.outputName, head.batchable]).toEqual(['x.1', '53', false]);
    const s = await head.scoreWindows(new Float32Array(3 * 1536), 3);
    expect(Array.from(s)).toEqual([0.5, 0.5, 0.5]);
    await head.dispose();
  });

  it('rejects wrong shapes with a typed error naming what was found', async () => {
    const wrongSteps = linearHead({
      input: ['batch', 12, 96],
      weights: weights(12 * 96, 4),
      bias: new Float32Array(1),
    });
    await expect(loadHead(ort, wrongSteps, { name: 'w' })).rejects.toThrow(
      /head "w": input "embeddings" must be float32 \[batch, 16, 96\].*\[batch, 12, 96\]/,
    );
    const twoOutputs = linearHead({ outputs: 2, weights: weights(1536 * 2, 5), bias: new Float32Array(2) });
    const err = await loadHead(ort, twoOutputs).catch((e) => e);
    expect(err).toBeInstanceOf(ModelShapeError);
    expect(err.message).toContain('[batch, 2]');
    const batch4 = linearHead({ input: [4, 16, 96], weights: weights(1536, 6), bias: new Float32Array(1) });
    await expect(loadHead(ort, batch4)).rejects.toThrow(/batch dimension must be 1 or symbolic/);
    await expect(loadHead(ort, new Uint8Array(0))).rejects.toThrow(ModelShapeError);
  });
});
