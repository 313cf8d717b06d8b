/** Shared checks of the pipeline tests: the docs/api.md §4.9 stage order and openWakeWord's head input/output contract. */
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';

export const PIPELINE_STAGES = [
  'preparing',
  'synthesizing',
  'extracting',
  'training',
  'evaluating',
  'exporting',
] as const;

/**
 * Loads a head in onnxruntime-node and checks openWakeWord's contract: input `embeddings` [batch, 16, 96], output
 * `score` [batch, 1]. Returns the session (the caller releases it).
 */
export async function expectOpenWakeWordIO(onnx: Uint8Array): Promise<ort.InferenceSession> {
  const s = await ort.InferenceSession.create(onnx);
  expect(s.inputNames).toEqual(['embeddings']);
  expect(s.outputNames).toEqual(['score']);
  const meta = s as unknown as {
    inputMetadata: { shape: unknown[] }[];
    outputMetadata: { shape: unknown[] }[];
  };
  expect(meta.inputMetadata[0]!.shape).toEqual(['batch', 16, 96]);
  expect(meta.outputMetadata[0]!.shape).toEqual(['batch', 1]);
  return s;
}
