/** Public types of the trainer (docs/engine.md §7). */

export type Architecture = 'mlp' | 'tcn';

export type SourceKind =
  | 'user'
  | 'synthetic'
  | 'confusable'
  | 'partial'
  | 'speech'
  | 'noise'
  | 'music'
  | 'silence'
  | 'corpus';
/** Index order of `WindowSet.kinds`. */
export const SOURCE_KINDS: readonly SourceKind[] = [
  'user',
  'synthetic',
  'confusable',
  'partial',
  'speech',
  'noise',
  'music',
  'silence',
  'corpus',
];

/** Sampling pools of `WindowSet.pools`. */
export const POOL_POSITIVE = 0;
export const POOL_WORD_NEGATIVE = 1;
export const POOL_BANK_NEGATIVE = 2;

export interface WindowSet {
  /** rows × 96, row-major (may be backed by a SharedArrayBuffer) */
  embeddings: Float32Array;
  /** first row of each window (window = rows start..start+15) */
  starts: Int32Array;
  /** 1 positive, 0 negative */
  labels: Uint8Array;
  /** 0 positives, 1 word-specific negatives, 2 bank negatives (sampling pools) */
  pools: Uint8Array;
  /** split group id (source clip with all its copies) */
  groups: Int32Array;
  /** index into SOURCE_KINDS, for the stratified validation split */
  kinds: Uint8Array;
  /** optional per-window weight multipliers */
  weights?: Float32Array;
}

export interface TrainProgress {
  stage: 'training';
  candidate: Architecture;
  epoch: number;
  total_epochs: number;
  train_loss: number;
  val_loss: number;
}

export interface TrainOptions {
  arch: 'auto' | Architecture;
  seed: number;
  /** upper bound on epochs (the multiply-add budget of §7.3 may lower it further) */
  maxEpochs?: number;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  /**
   * 0 trains in the calling thread; 1 trains the candidates one after the other in a worker thread; 2 (default) or
   * more trains them concurrently, one worker each. A single architecture uses one worker unless `dataParallel`.
   */
  threads?: number;
  /**
   * A single architecture (`arch` 'mlp' or 'tcn') trains data-parallel on two workers, gradients summed in a fixed
   * order (§7.6). Off by default: on a loaded machine the per-step exchange made it slower than one worker.
   */
  dataParallel?: boolean;
  /** loss; default weighted BCE */
  loss?: 'bce' | 'focal';
}

/** A named float32 tensor in ONNX layout. */
export interface HeadTensor {
  dims: number[];
  data: Float32Array;
}

/**
 * A trained head with BatchNorm folded. Tensor names and layouts are those of the exported ONNX initializers:
 * MLP `fc1`…`fc3`, CNN `conv1`…`conv3`, `fc1`, `fc2`, each with `.weight` (Gemm: [out, in]; Conv: [out, in, k])
 * and `.bias`.
 */
export interface TrainedHead {
  arch: Architecture;
  /** folded weights */
  tensors: Record<string, HeadTensor>;
  /** parameter count after folding */
  params: number;
  /** 1-based epoch of the kept weights */
  bestEpoch: number;
  /** epochs run */
  epochs: number;
  valLoss: number;
  /** normalised partial ROC area for FPR 0–1 % on the validation windows */
  valPauc: number;
  /** which weights were kept at the best epoch */
  weightsSource?: 'raw' | 'ema';
  /** the other candidate's summary when arch was 'auto' */
  candidates?: { arch: Architecture; valLoss: number; valPauc: number; bestEpoch: number; epochs: number }[];
  /** the candidates not chosen by validation, whole, for a choice on held-out data (pipeline) */
  alternatives?: TrainedHead[];
}
