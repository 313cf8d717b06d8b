/** Messages between `trainHead` and the candidate workers. */
import type { EngineErrorCode } from '../eval/errors.ts';
import type { CandidateOptions, CandidateResult } from './candidate.ts';
import type { Split } from './data.ts';
import type { TrainProgress, WindowSet } from './types.ts';

export interface WorkerInput {
  embeddings: SharedArrayBuffer;
  embeddingsOffset: number;
  embeddingsLength: number;
  /** the window arrays (copied to the worker) */
  data: Omit<WindowSet, 'embeddings'>;
  split: Split;
  options: CandidateOptions;
  /** Int32 flag: non-zero asks the worker to stop between batches */
  stopFlag: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'done'; result: CandidateResult }
  | { type: 'error'; code: EngineErrorCode; message: string; details: Record<string, unknown> };
