/** Messages between a training worker and its child process, and the pipeline contract the child calls. */

export type PipelineStage = 'preparing' | 'synthesizing' | 'extracting' | 'training' | 'evaluating' | 'exporting';

export interface PipelineProgress {
  stage: PipelineStage;
  progress: number;
  message: string;
  epoch?: number;
  total_epochs?: number;
  train_loss?: number;
  val_loss?: number;
}

export interface ChildJob {
  wakeWord: string;
  clips?: string[];
  textOnly?: boolean;
  dataDir: string;
  seed?: number;
  targetFaPerHour?: number;
  corpusDir?: string;
  maxEpochs?: number;
  bankScale?: number;
  synthScale?: number;
}

/** The manifest fields the service reads (engine.md §4); the whole manifest is stored as is. */
export interface ManifestLike {
  threshold: number;
  metrics: {
    d_prime: number | null;
    eer: number | null;
    auc: number | null;
    miss_rate_at_target: number | null;
    target_fa_per_hour: number;
    fa_per_hour_at_threshold: number | null;
    quality_grade: string;
  };
  [key: string]: unknown;
}

export interface ChildResult {
  onnx: Uint8Array;
  manifest: ManifestLike;
  scores: { positive: number[]; negative: number[] };
  evaluation: Record<string, unknown> | null;
}

export type ChildMessage =
  | { type: 'progress'; progress: PipelineProgress }
  | { type: 'result'; result: ChildResult }
  | { type: 'error'; code: string; message: string; details: Record<string, unknown> | null };

export interface PipelineModule {
  trainWakeWord(
    job: ChildJob & { signal: AbortSignal; onProgress: (p: PipelineProgress) => void },
  ): Promise<{
    onnx: Uint8Array;
    manifest: ManifestLike;
    scores?: { positive: number[]; negative: number[] };
    evaluation?: Record<string, unknown> | null;
  }>;
}
