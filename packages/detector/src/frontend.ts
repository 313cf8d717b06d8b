/**
 * openWakeWord front end (docs/engine.md §2): the frozen melspectrogram + embedding ONNX models, run by an injected
 * ONNX Runtime. The streaming algorithm of §2.5 is the reference definition of the features; batch mode (§2.6)
 * computes exactly the same e_1 … e_K (mel once per step with batch 1; the embeddings of consecutive steps in one call
 * of the embedding model over their mel rows, see `sliding.ts`).
 */
import {
  EMBEDDING_DIM,
  EMBEDDING_FRAMES,
  MEL_BINS,
  MEL_BUFFER_ROWS,
  MEL_INPUT_SAMPLES,
  STEP_SAMPLES,
  WINDOW_SIZE,
  WINDOW_STEPS,
} from './constants.ts';
import { DisposedError, ModelShapeError } from './errors.ts';
import { verifyFrontendModels } from './hash.ts';
import { noiseFloor } from './noise.ts';
import {
  asOrt,
  createSession,
  dimAccepts,
  formatShape,
  ioMetadata,
  type OrtModule,
  type OrtSession,
  type OrtTensor,
  tensorData,
} from './ort.ts';
import { floatToInt16Magnitude, writeInt16Magnitudes } from './pcm.ts';
import { slidingEmbeddingModel } from './sliding.ts';

export interface FrontendModels {
  mel: Uint8Array;
  embedding: Uint8Array;
}

/** Features produced by one push into a stream (or one batch call), in step order. */
export interface StepFeatures {
  /** Number of completed steps in this result. */
  count: number;
  /** Step number k (1-based) of the first entry. */
  firstStep: number;
  /** count × 96 embeddings e_k. */
  embeddings: Float32Array;
  /** count × 16 × 96 head windows W_k (oldest embedding first), as the ring held them after each step. */
  windows: Float32Array;
}

export interface FeatureStream {
  /** Steps completed so far (k of the newest embedding; 0 before the first step). */
  readonly step: number;
  /** Push 16 kHz PCM (Int16, or unit-scale Float32 converted by §2.3); returns the steps it completed. */
  push(pcm16k: Int16Array | Float32Array): Promise<StepFeatures>;
  /** Push samples that are already int16 magnitudes (float32 values in −32768…32767). */
  pushMagnitudes(magnitudes: Float32Array): Promise<StepFeatures>;
  /** The current ring W_k (16 × 96, oldest first); a copy. */
  window(): Float32Array;
  reset(): void;
  dispose(): void;
}

export interface EmbedClipOptions {
  /** First step to return (1-based, default 1): the result holds e_firstStep … e_K. */
  firstStep?: number;
  /**
   * Right-padding to the next whole step, as unit-scale samples (default: the deterministic −72 dBFS noise floor
   * of `noiseFloor()`); receives the number of samples needed.
   */
  pad?: (samples: number) => Float32Array;
  /**
   * Embeddings per call of the embedding model (default 256; each call also reads 68 mel rows of context; at most 32
   * where the runtime computes one window per row of the batch, see `Frontend.slidingEmbeddings`).
   */
  batch?: number;
}

export interface Frontend {
  /** Batch mode, §2.6: e_1..e_K for a 16 kHz clip (right-padded to a whole step with the −72 dBFS noise floor
   *  of §6.8); returns K×96 row-major. */
  embedClip(pcm16k: Int16Array | Float32Array, opts?: EmbedClipOptions): Promise<Float32Array>;
  /** Batch mode on samples that are already int16 magnitudes. */
  embedMagnitudes(magnitudes: Float32Array, opts?: EmbedClipOptions): Promise<Float32Array>;
  /** Streaming mode, §2.5. */
  createStream(): FeatureStream;
  /** Runs the mel model once (batch 1) on 16 kHz magnitudes; returns frames × 32 transformed values (x/10 + 2). */
  mel(magnitudes: Float32Array): Promise<Float32Array>;
  /** Runs the embedding model on n windows of 76 × 32 transformed mel rows; returns n × 96. */
  embed(melWindows: Float32Array, n: number): Promise<Float32Array>;
  /** Embedding of an all-1.0 mel window: the ring's initial content (warm-up). */
  readonly warmupEmbedding: Float32Array;
  /**
   * Whether batch mode computes the embeddings of consecutive steps in one call over their mel rows (`sliding.ts`),
   * ≈ 9× less work; true where the load-time check found it bit-for-bit equal to one call per window.
   */
  readonly slidingEmbeddings: boolean;
  /** Number of steps K a clip of `samples` 16 kHz samples yields in batch mode. */
  stepsFor(samples: number): number;
  /** Builds head windows W_from … W_to (1-based, inclusive) from batch embeddings e_1 … e_K (K × 96). */
  windowsFrom(embeddings: Float32Array, from?: number, to?: number): Float32Array;
  readonly disposed: boolean;
  dispose(): Promise<void>;
}

export interface CreateFrontendOptions {
  /** The ONNX Runtime module (onnxruntime-node or onnxruntime-web). */
  ort: unknown;
  models: FrontendModels;
  /** Intra-op threads per session (default 1). Ignored by onnxruntime-web (set `ort.env.wasm.numThreads`). */
  threads?: number;
}

const MEL_FIRST_SAMPLES = STEP_SAMPLES;
const FIRST_FRAMES = MEL_FIRST_SAMPLES / 160 - 3; // 5
const STEP_FRAMES = MEL_INPUT_SAMPLES / 160 - 3; // 8
const EMB_IN = EMBEDDING_FRAMES * MEL_BINS;
/** Embedding batch size when one push completes several steps. */
const STREAM_EMBED_BATCH = 32;
/** Windows per embedding call in batch mode when consecutive embeddings cannot be computed in one call. */
const WINDOW_BATCH = 32;
/** Steps of the load-time check that one call over consecutive rows equals one call per window. */
const SLIDING_CHECK_STEPS = 12;

/**
 * Whether one call over the mel rows of consecutive steps gives bit for bit the embeddings of one call per window on
 * this runtime: onnxruntime-node does (any length, any thread count), onnxruntime-web 1.30's wasm kernels differ by
 * ≈ 4e-5, and batch mode must equal streaming (§2.6), so there it keeps per-window calls.
 */
async function slidingIsExact(fe: FrontendImpl): Promise<boolean> {
  const n = SLIDING_CHECK_STEPS;
  const rows = new Float32Array((EMBEDDING_FRAMES + 8 * (n - 1)) * MEL_BINS);
  for (let i = 0; i < rows.length; i++) rows[i] = 2 * Math.sin(i * 0.37) + Math.cos(i * 0.011);
  const windows = new Float32Array(n * EMB_IN);
  for (let k = 0; k < n; k++)
    windows.set(rows.subarray(8 * k * MEL_BINS, (8 * k + EMBEDDING_FRAMES) * MEL_BINS), k * EMB_IN);
  const perWindow = new Float32Array(n * EMBEDDING_DIM);
  const slid = new Float32Array(n * EMBEDDING_DIM);
  await fe.runEmbedding(
    new fe.ort.Tensor('float32', windows, [n, EMBEDDING_FRAMES, MEL_BINS, 1]),
    n,
    perWindow,
    0,
  );
  await fe.runSliding(rows, n, slid, 0);
  return perWindow.every((v, i) => v === slid[i]);
}

function checkMetadata(mel: OrtSession, emb: OrtSession): void {
  const m = ioMetadata(mel, 'melspectrogram.onnx');
  const e = ioMetadata(emb, 'embedding_model.onnx');
  const mi = m.inputs[0];
  const mo = m.outputs[0];
  if (
    mi?.type !== 'float32' ||
    mi.shape?.length !== 2 ||
    !mo ||
    mo.shape?.length !== 4 ||
    !dimAccepts(mo.shape[3], MEL_BINS)
  ) {
    throw new ModelShapeError(
      `melspectrogram.onnx: expected input float32 [batch, samples] and output [batch, 1, frames, 32], got ` +
        `${formatShape(mi?.shape)} → ${formatShape(mo?.shape)}`,
    );
  }
  const ei = e.inputs[0];
  const eo = e.outputs[0];
  const okIn =
    ei &&
    ei.type === 'float32' &&
    ei.shape?.length === 4 &&
    dimAccepts(ei.shape[1], EMBEDDING_FRAMES) &&
    dimAccepts(ei.shape[2], MEL_BINS) &&
    dimAccepts(ei.shape[3], 1);
  const okOut = eo && eo.shape?.length === 4 && dimAccepts(eo.shape[3], EMBEDDING_DIM);
  if (!okIn || !okOut) {
    throw new ModelShapeError(
      `embedding_model.onnx: expected input float32 [n, 76, 32, 1] and output [n, 1, 1, 96], got ` +
        `${formatShape(ei?.shape)} → ${formatShape(eo?.shape)}`,
    );
  }
}

class FrontendImpl implements Frontend {
  readonly warmupEmbedding: Float32Array;
  slidingEmbeddings = false;
  private released = false;
  private readonly melIn: string;
  private readonly melOut: string;
  private readonly embIn: string;
  private readonly embOut: string;

  constructor(
    readonly ort: OrtModule,
    private readonly melSession: OrtSession,
    private readonly embSession: OrtSession,
    warmup: Float32Array,
  ) {
    this.melIn = melSession.inputNames[0];
    this.melOut = melSession.outputNames[0];
    this.embIn = embSession.inputNames[0];
    this.embOut = embSession.outputNames[0];
    this.warmupEmbedding = warmup;
  }

  get disposed(): boolean {
    return this.released;
  }

  assertLive(): void {
    if (this.released) throw new DisposedError('the front end');
  }

  /** Mel on a prepared tensor; writes frames × 32 transformed values into `dest` at row `row`. */
  async runMel(tensor: OrtTensor, frames: number, dest: Float32Array, row: number): Promise<void> {
    this.assertLive();
    const out = await this.melSession.run({ [this.melIn]: tensor });
    const t = out[this.melOut];
    const data = tensorData(t, 'melspectrogram.onnx');
    if (data.length !== frames * MEL_BINS) {
      throw new ModelShapeError(
        `melspectrogram.onnx returned ${data.length / MEL_BINS} frames, expected ${frames}`,
      );
    }
    const o = row * MEL_BINS;
    for (let i = 0; i < data.length; i++) dest[o + i] = data[i] / 10 + 2;
    t?.dispose?.();
  }

  /** One call of the embedding model expected to return n embeddings; `use` reads the output before it is freed. */
  private async callEmbedding(
    tensor: OrtTensor,
    n: number,
    use: (data: Float32Array) => void,
  ): Promise<void> {
    this.assertLive();
    const out = await this.embSession.run({ [this.embIn]: tensor });
    const t = out[this.embOut];
    const data = tensorData(t, 'embedding_model.onnx');
    if (data.length !== n * EMBEDDING_DIM) {
      throw new ModelShapeError(
        `embedding_model.onnx returned ${data.length} values, expected ${n * EMBEDDING_DIM}`,
      );
    }
    use(data);
    t?.dispose?.();
  }

  runEmbedding(tensor: OrtTensor, n: number, dest: Float32Array, offset: number): Promise<void> {
    return this.callEmbedding(tensor, n, (data) => dest.set(data, offset));
  }

  /**
   * Embeddings of n consecutive steps from their T = 76 + 8·(n − 1) mel rows in one call (`sliding.ts`); the model
   * returns them channel-major ([96][n]), and they are written step-major into `dest` at `offset`.
   */
  runSliding(melRows: Float32Array, n: number, dest: Float32Array, offset: number): Promise<void> {
    const frames = EMBEDDING_FRAMES + 8 * (n - 1);
    const input = new this.ort.Tensor('float32', melRows, [1, frames, MEL_BINS, 1]);
    return this.callEmbedding(input, n, (data) => {
      for (let c = 0; c < EMBEDDING_DIM; c++)
        for (let i = 0; i < n; i++) dest[offset + i * EMBEDDING_DIM + c] = data[c * n + i];
    });
  }

  async mel(magnitudes: Float32Array): Promise<Float32Array> {
    this.assertLive();
    const n = magnitudes.length;
    if (n < 640 || n % 160 !== 0) {
      throw new RangeError(`mel() needs a multiple of 160 samples, at least 640 (got ${n})`);
    }
    const frames = n / 160 - 3;
    const out = new Float32Array(frames * MEL_BINS);
    await this.runMel(new this.ort.Tensor('float32', magnitudes.slice(), [1, n]), frames, out, 0);
    return out;
  }

  async embed(melWindows: Float32Array, n: number): Promise<Float32Array> {
    this.assertLive();
    if (melWindows.length !== n * EMB_IN) throw new RangeError(`embed() needs ${n} × 76 × 32 values`);
    const out = new Float32Array(n * EMBEDDING_DIM);
    if (n === 0) return out;
    await this.runEmbedding(
      new this.ort.Tensor('float32', melWindows, [n, EMBEDDING_FRAMES, MEL_BINS, 1]),
      n,
      out,
      0,
    );
    return out;
  }

  stepsFor(samples: number): number {
    return Math.ceil(samples / STEP_SAMPLES);
  }

  embedClip(pcm16k: Int16Array | Float32Array, opts?: EmbedClipOptions): Promise<Float32Array> {
    const mags = new Float32Array(this.stepsFor(pcm16k.length) * STEP_SAMPLES);
    writeInt16Magnitudes(pcm16k, mags);
    return this.embedPadded(mags, pcm16k.length, opts);
  }

  embedMagnitudes(magnitudes: Float32Array, opts?: EmbedClipOptions): Promise<Float32Array> {
    const mags = new Float32Array(this.stepsFor(magnitudes.length) * STEP_SAMPLES);
    mags.set(magnitudes);
    return this.embedPadded(mags, magnitudes.length, opts);
  }

  private async embedPadded(
    mags: Float32Array,
    length: number,
    opts: EmbedClipOptions = {},
  ): Promise<Float32Array> {
    this.assertLive();
    const K = mags.length / STEP_SAMPLES;
    const padLen = mags.length - length;
    if (padLen > 0) {
      const pad = opts.pad ? opts.pad(padLen) : noiseFloor(padLen);
      if (pad.length < padLen) throw new RangeError(`pad() returned ${pad.length} samples, ${padLen} needed`);
      for (let i = 0; i < padLen; i++) mags[length + i] = floatToInt16Magnitude(pad[i]);
    }
    const first = Math.max(1, Math.floor(opts.firstStep ?? 1));
    const batch = Math.max(1, Math.floor(opts.batch ?? 256));
    const count = Math.max(0, K - first + 1);
    const result = new Float32Array(count * EMBEDDING_DIM);
    if (K === 0 || count === 0) return result;
    // Mel rows: 76 rows of 1.0, then 5 frames for step 1 and 8 per later step (mel batch 1, exactly the audio
    // the stream sees at that step).
    const rows = EMBEDDING_FRAMES + FIRST_FRAMES + STEP_FRAMES * (K - 1);
    const melRows = new Float32Array(rows * MEL_BINS);
    melRows.fill(1, 0, EMBEDDING_FRAMES * MEL_BINS);
    const in1 = new Float32Array(MEL_FIRST_SAMPLES);
    const in2 = new Float32Array(MEL_INPUT_SAMPLES);
    const t1 = new this.ort.Tensor('float32', in1, [1, MEL_FIRST_SAMPLES]);
    const t2 = new this.ort.Tensor('float32', in2, [1, MEL_INPUT_SAMPLES]);
    in1.set(mags.subarray(0, MEL_FIRST_SAMPLES));
    await this.runMel(t1, FIRST_FRAMES, melRows, EMBEDDING_FRAMES);
    // Mel windows of steps whose embeddings nobody wants still have to be computed (they fill later windows),
    // except those entirely before the first wanted window.
    for (let k = 2; k <= K; k++) {
      const end = k * STEP_SAMPLES;
      in2.set(mags.subarray(end - MEL_INPUT_SAMPLES, end));
      await this.runMel(t2, STEP_FRAMES, melRows, EMBEDDING_FRAMES + FIRST_FRAMES + STEP_FRAMES * (k - 2));
    }
    // e_k reads rows [8k − 3, 8k + 73): the steps k … k + n − 1 read rows [8k − 3, 8(k + n − 1) + 73).
    if (this.slidingEmbeddings) {
      for (let s = 0; s < count; s += batch) {
        const n = Math.min(batch, count - s);
        const r0 = 8 * (first + s) - 3;
        const r1 = r0 + EMBEDDING_FRAMES + 8 * (n - 1);
        await this.runSliding(melRows.subarray(r0 * MEL_BINS, r1 * MEL_BINS), n, result, s * EMBEDDING_DIM);
      }
      return result;
    }
    const perCall = Math.min(batch, WINDOW_BATCH);
    const embIn = new Float32Array(Math.min(perCall, count) * EMB_IN);
    for (let s = 0; s < count; s += perCall) {
      const n = Math.min(perCall, count - s);
      for (let j = 0; j < n; j++) {
        const r0 = 8 * (first + s + j) - 3;
        embIn.set(melRows.subarray(r0 * MEL_BINS, (r0 + EMBEDDING_FRAMES) * MEL_BINS), j * EMB_IN);
      }
      const view = n * EMB_IN === embIn.length ? embIn : embIn.subarray(0, n * EMB_IN);
      const tensor = new this.ort.Tensor('float32', view, [n, EMBEDDING_FRAMES, MEL_BINS, 1]);
      await this.runEmbedding(tensor, n, result, s * EMBEDDING_DIM);
    }
    return result;
  }

  windowsFrom(embeddings: Float32Array, from = 1, to?: number): Float32Array {
    const K = embeddings.length / EMBEDDING_DIM;
    const last = to ?? K;
    if (!Number.isInteger(K) || from < 1 || last > K) throw new RangeError('windowsFrom: steps out of range');
    const n = Math.max(0, last - from + 1);
    const out = new Float32Array(n * WINDOW_SIZE);
    for (let w = 0; w < n; w++) {
      const k = from + w;
      for (let r = 0; r < WINDOW_STEPS; r++) {
        const src = k - (WINDOW_STEPS - 1) + r; // e_src, 1-based; ≤ 0 means the warm-up embedding
        const o = w * WINDOW_SIZE + r * EMBEDDING_DIM;
        if (src >= 1) out.set(embeddings.subarray((src - 1) * EMBEDDING_DIM, src * EMBEDDING_DIM), o);
        else out.set(this.warmupEmbedding, o);
      }
    }
    return out;
  }

  createStream(): FeatureStream {
    this.assertLive();
    return new StreamImpl(this);
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.all([this.melSession.release(), this.embSession.release()]);
  }
}

class StreamImpl implements FeatureStream {
  private k = 0;
  private readonly acc = new Float32Array(STEP_SAMPLES);
  private accLen = 0;
  /** Newest 1,760 samples (the last 1,280 are the current step). */
  private readonly raw = new Float32Array(MEL_INPUT_SAMPLES);
  private readonly rawFirst: Float32Array;
  private readonly melFirstTensor: OrtTensor;
  private readonly melTensor: OrtTensor;
  private readonly melBuf = new Float32Array(MEL_BUFFER_ROWS * MEL_BINS);
  private melRows = 0;
  private readonly embInput = new Float32Array(EMB_IN);
  private readonly embTensor: OrtTensor;
  private pending = new Float32Array(0);
  private readonly ring = new Float32Array(WINDOW_SIZE);
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly fe: FrontendImpl) {
    const T = fe.ort.Tensor;
    this.rawFirst = this.raw.subarray(MEL_INPUT_SAMPLES - STEP_SAMPLES);
    // onnxruntime tensors wrap these arrays; refilling the arrays reuses the tensors (no allocation per step).
    this.melFirstTensor = new T('float32', new Float32Array(STEP_SAMPLES), [1, STEP_SAMPLES]);
    this.melTensor = new T('float32', this.raw, [1, MEL_INPUT_SAMPLES]);
    this.embTensor = new T('float32', this.embInput, [1, EMBEDDING_FRAMES, MEL_BINS, 1]);
    this.reset();
  }

  get step(): number {
    return this.k;
  }

  reset(): void {
    this.k = 0;
    this.accLen = 0;
    this.raw.fill(0);
    this.melBuf.fill(1, 0, EMBEDDING_FRAMES * MEL_BINS);
    this.melRows = EMBEDDING_FRAMES;
    for (let r = 0; r < WINDOW_STEPS; r++) this.ring.set(this.fe.warmupEmbedding, r * EMBEDDING_DIM);
  }

  window(): Float32Array {
    return this.ring.slice();
  }

  dispose(): void {
    this.closed = true;
  }

  push(pcm16k: Int16Array | Float32Array): Promise<StepFeatures> {
    const mags = new Float32Array(pcm16k.length);
    writeInt16Magnitudes(pcm16k, mags);
    return this.pushMagnitudes(mags);
  }

  pushMagnitudes(magnitudes: Float32Array): Promise<StepFeatures> {
    if (this.closed) return Promise.reject(new DisposedError('the feature stream'));
    try {
      this.fe.assertLive();
    } catch (err) {
      return Promise.reject(err);
    }
    // Pushes are processed strictly in order even when the caller does not await each one; the samples are
    // copied now, so the caller may reuse its buffer.
    const x = magnitudes.slice();
    const run = this.queue.then(() => this.process(x));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async process(x: Float32Array): Promise<StepFeatures> {
    const count = Math.floor((this.accLen + x.length) / STEP_SAMPLES);
    const firstStep = this.k + 1;
    const embeddings = new Float32Array(count * EMBEDDING_DIM);
    const windows = new Float32Array(count * WINDOW_SIZE);
    // The mel model runs once per step (batch 1, §2.4); the embeddings of a push that completes several steps
    // are computed in batches (batched and single calls give the same values).
    const batch = count === 1 ? 1 : Math.min(count, STREAM_EMBED_BATCH);
    if (batch > 1 && this.pending.length < batch * EMB_IN)
      this.pending = new Float32Array(STREAM_EMBED_BATCH * EMB_IN);
    let pos = 0;
    let j = 0;
    for (let i = 0; i < count; i++) {
      const take = STEP_SAMPLES - this.accLen;
      this.acc.set(x.subarray(pos, pos + take), this.accLen);
      pos += take;
      this.accLen = 0;
      await this.runMelStep();
      const window = this.melBuf.subarray(
        (this.melRows - EMBEDDING_FRAMES) * MEL_BINS,
        this.melRows * MEL_BINS,
      );
      if (batch === 1) this.embInput.set(window);
      else this.pending.set(window, j * EMB_IN);
      j++;
      if (j === batch || i === count - 1) {
        const first = i - j + 1;
        if (batch === 1) {
          await this.fe.runEmbedding(this.embTensor, 1, embeddings, first * EMBEDDING_DIM);
        } else {
          const data = this.pending.subarray(0, j * EMB_IN);
          const t = new this.fe.ort.Tensor('float32', data, [j, EMBEDDING_FRAMES, MEL_BINS, 1]);
          await this.fe.runEmbedding(t, j, embeddings, first * EMBEDDING_DIM);
        }
        for (let n = first; n <= i; n++) {
          this.ring.copyWithin(0, EMBEDDING_DIM);
          this.ring.set(
            embeddings.subarray(n * EMBEDDING_DIM, (n + 1) * EMBEDDING_DIM),
            WINDOW_SIZE - EMBEDDING_DIM,
          );
          windows.set(this.ring, n * WINDOW_SIZE);
        }
        j = 0;
      }
    }
    this.acc.set(x.subarray(pos), this.accLen);
    this.accLen += x.length - pos;
    return { count, firstStep, embeddings, windows };
  }

  /** Steps 2–3 of §2.5 for one completed step: raw buffer update, mel (batch 1), append to the mel buffer. */
  private async runMelStep(): Promise<void> {
    if (this.closed) throw new DisposedError('the feature stream');
    this.k += 1;
    this.raw.copyWithin(0, STEP_SAMPLES);
    this.raw.set(this.acc, MEL_INPUT_SAMPLES - STEP_SAMPLES);
    let frames: number;
    if (this.k === 1) {
      (this.melFirstTensor.data as Float32Array).set(this.rawFirst);
      frames = FIRST_FRAMES;
    } else {
      frames = STEP_FRAMES;
    }
    if (this.melRows + frames > MEL_BUFFER_ROWS) {
      const drop = this.melRows + frames - MEL_BUFFER_ROWS;
      this.melBuf.copyWithin(0, drop * MEL_BINS, this.melRows * MEL_BINS);
      this.melRows -= drop;
    }
    await this.fe.runMel(
      this.k === 1 ? this.melFirstTensor : this.melTensor,
      frames,
      this.melBuf,
      this.melRows,
    );
    this.melRows += frames;
  }
}

/** Loads and verifies the front end (hash mismatch → FrontendMismatchError, before anything is run). */
export async function createFrontend(opts: CreateFrontendOptions): Promise<Frontend> {
  const ort = asOrt(opts.ort);
  if (
    !opts.models ||
    !(opts.models.mel instanceof Uint8Array) ||
    !(opts.models.embedding instanceof Uint8Array)
  ) {
    throw new TypeError('createFrontend: models must be { mel: Uint8Array, embedding: Uint8Array }');
  }
  await verifyFrontendModels(opts.models);
  const mel = await createSession(ort, opts.models.mel, opts.threads, 'melspectrogram.onnx');
  let emb: OrtSession;
  try {
    emb = await createSession(
      ort,
      slidingEmbeddingModel(opts.models.embedding),
      opts.threads,
      'embedding_model.onnx',
    );
  } catch (err) {
    await mel.release();
    throw err;
  }
  try {
    checkMetadata(mel, emb);
    const warmIn = new Float32Array(EMB_IN).fill(1);
    const warm = new Float32Array(EMBEDDING_DIM);
    const fe = new FrontendImpl(ort, mel, emb, warm);
    await fe.runEmbedding(new ort.Tensor('float32', warmIn, [1, EMBEDDING_FRAMES, MEL_BINS, 1]), 1, warm, 0);
    fe.slidingEmbeddings = await slidingIsExact(fe);
    return fe;
  } catch (err) {
    await Promise.all([mel.release(), emb.release()]);
    throw err;
  }
}
