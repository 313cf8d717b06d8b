/**
 * Messages between a training worker and its child process. The job and progress shapes are the engine
 * pipeline's own (`trainWakeWord`); only the fields the service stores cross the process boundary.
 */
import type { Progress, TrainJob, TrainResult } from '@violawake/engine/pipeline/train';
import type { TrainedModelFiles } from '../models/service.ts';

export type PipelineProgress = Progress;

/** What the worker sends: the pipeline's job without the in-process parts (signal, callbacks, clock). */
export type ChildJob = Omit<TrainJob, 'signal' | 'onProgress' | 'now'>;

/** The child's result: the files and manifest the models service stores (models/service.ts). */
export type ChildResult = TrainedModelFiles;

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
