/**
 * Messages between a training worker and its child process. The job and progress shapes are the engine
 * pipeline's own (`trainWakeWord`); only the fields the service stores cross the process boundary.
 */
import type { Manifest } from '@violawake/engine/artifacts/index';
import type { Progress, TrainJob, TrainResult } from '@violawake/engine/pipeline/train';

export type PipelineProgress = Progress;

/** What the worker sends: the pipeline's job without the in-process parts (signal, callbacks, clock). */
export type ChildJob = Omit<TrainJob, 'signal' | 'onProgress' | 'now'>;

export interface ChildResult {
  onnx: Uint8Array;
  /** The TFLite export (absent from pipelines that do not write one; null with `tfliteError` when it failed). */
  tflite?: Uint8Array | null;
  tfliteError?: string;
  manifest: Manifest;
  scores: TrainResult['scores'];
  evaluation: Record<string, unknown> | null;
}

export type ChildMessage =
  | { type: 'progress'; progress: PipelineProgress }
  | { type: 'result'; result: ChildResult }
  | { type: 'error'; code: string; message: string; details: Record<string, unknown> | null };

/** A module that can stand in for the engine's pipeline (VIOLAWAKE_TRAINING_PIPELINE_MODULE). */
export interface PipelineModule {
  trainWakeWord(
    job: TrainJob,
  ): Promise<
    Pick<TrainResult, 'onnx' | 'manifest'> &
      Partial<Pick<TrainResult, 'scores' | 'evaluation' | 'tflite' | 'tfliteError'>>
  >;
}
