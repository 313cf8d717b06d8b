/**
 * Batch head scoring in onnxruntime-node for evaluation and the CLI. Input and output names come from the loaded
 * model's metadata (docs/engine.md §2.2); heads with a fixed batch of 1 (openWakeWord's pretrained heads) are run window by
 * window.
 */
import type * as OrtNs from 'onnxruntime-node';
import { EMB_DIM, WINDOW } from '../bank/store.ts';

type Ort = typeof OrtNs;

export class HeadShapeError extends Error {
  override name = 'HeadShapeError';
}

export interface HeadRunner {
  inputName: string;
  outputName: string;
  /** Largest batch the model accepts (1 for fixed-batch heads). */
  maxBatch: number;
  /** Scores the 16-row windows starting at `starts[i]` (row index) in `rows` (n × 96). */
  scoreWindows(rows: Float32Array, starts: ArrayLike<number>): Promise<Float32Array>;
  release(): Promise<void>;
}

interface ValueMeta {
  name: string;
  isTensor?: boolean;
  shape?: readonly (number | string)[];
}

export async function loadHeadRunner(ort: Ort, model: Uint8Array | string, batch = 512): Promise<HeadRunner> {
  const session = await ort.InferenceSession.create(model as Uint8Array, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const inMeta = (session as unknown as { inputMetadata: readonly ValueMeta[] }).inputMetadata;
  const outMeta = (session as unknown as { outputMetadata: readonly ValueMeta[] }).outputMetadata;
  const inputName = session.inputNames[0] as string;
  const outputName = session.outputNames[0] as string;
  const inShape = inMeta?.[0]?.shape;
  const outShape = outMeta?.[0]?.shape;
  if (inShape?.length !== 3 || inShape[1] !== WINDOW || inShape[2] !== EMB_DIM) {
    throw new HeadShapeError(`head input must be [batch, 16, 96], got ${JSON.stringify(inShape)}`);
  }
  if (outShape?.length !== 2 || outShape[1] !== 1) {
    throw new HeadShapeError(`head output must be [batch, 1], got ${JSON.stringify(outShape)}`);
  }
  const fixed = typeof inShape[0] === 'number' ? (inShape[0] as number) : 0;
  const maxBatch = fixed > 0 ? fixed : batch;
  const per = WINDOW * EMB_DIM;
  const buf = new Float32Array(maxBatch * per);
  return {
    inputName,
    outputName,
    maxBatch,
    async scoreWindows(rows, starts) {
      const n = starts.length;
      const out = new Float32Array(n);
      for (let i0 = 0; i0 < n; i0 += maxBatch) {
        const b = Math.min(maxBatch, n - i0);
        for (let j = 0; j < b; j++) {
          const s = (starts[i0 + j] as number) * EMB_DIM;
          buf.set(rows.subarray(s, s + per), j * per);
        }
        const feedBatch = fixed > 0 ? fixed : b;
        const input = new ort.Tensor('float32', buf.subarray(0, feedBatch * per), [
          feedBatch,
          WINDOW,
          EMB_DIM,
        ]);
        const res = await session.run({ [inputName]: input });
        const data = res[outputName]?.data as Float32Array;
        out.set(data.subarray(0, b), i0);
      }
      return out;
    },
    async release() {
      await session.release();
    },
  };
}
