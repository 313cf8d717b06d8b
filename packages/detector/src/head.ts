/**
 * Head runner (docs/engine.md §2.2, §3.1): any ONNX model whose first input is float32 [1|batch, 16, 96] and whose
 * first output is [batch, 1]. Names are read from the model's metadata; shapes are validated at load.
 */
import { EMBEDDING_DIM, WINDOW_SIZE, WINDOW_STEPS } from './constants.ts';
import { DisposedError, ModelShapeError } from './errors.ts';
import {
  asOrt,
  createSession,
  dimAccepts,
  formatShape,
  ioMetadata,
  type OrtModule,
  type OrtSession,
  tensorData,
} from './ort.ts';

export interface Head {
  /** Input and output names read from the model. */
  readonly inputName: string;
  readonly outputName: string;
  /** Whether the batch dimension is symbolic (several windows per call); pretrained openWakeWord heads are fixed 1. */
  readonly batchable: boolean;
  /** Scores `count` windows (count × 16 × 96, oldest embedding first in each); returns `count` scores. */
  scoreWindows(windows: Float32Array, count: number): Promise<Float32Array>;
  readonly disposed: boolean;
  dispose(): Promise<void>;
}

const MAX_BATCH = 256;

class HeadImpl implements Head {
  private released = false;
  private readonly single: Float32Array = new Float32Array(WINDOW_SIZE);
  constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    readonly inputName: string,
    readonly outputName: string,
    readonly batchable: boolean,
  ) {}

  get disposed(): boolean {
    return this.released;
  }

  async scoreWindows(windows: Float32Array, count: number): Promise<Float32Array> {
    if (this.released) throw new DisposedError('the head');
    if (!Number.isInteger(count) || count < 0 || windows.length < count * WINDOW_SIZE) {
      throw new RangeError(
        `scoreWindows: need ${count} windows of 16 × 96 values, got ${windows.length} values`,
      );
    }
    const out = new Float32Array(count);
    const batch = this.batchable ? MAX_BATCH : 1;
    for (let s = 0; s < count; s += batch) {
      const n = Math.min(batch, count - s);
      let data = windows.subarray(s * WINDOW_SIZE, (s + n) * WINDOW_SIZE);
      if (n === 1) {
        // One reusable array for the common streaming case.
        this.single.set(data);
        data = this.single;
      }
      const tensor = new this.ort.Tensor('float32', data, [n, WINDOW_STEPS, EMBEDDING_DIM]);
      const res = await this.session.run({ [this.inputName]: tensor });
      const t = res[this.outputName];
      const scores = tensorData(t, 'head');
      if (scores.length !== n)
        throw new ModelShapeError(`head returned ${scores.length} scores for ${n} windows`);
      out.set(scores, s);
      t?.dispose?.();
    }
    return out;
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/**
 * Loads a head and validates its interface. Throws ModelShapeError (with the shapes found) for a model whose
 * first input is not float32 [*, 16, 96] or whose first output is not [*, 1].
 */
export async function loadHead(
  ort: unknown,
  model: Uint8Array,
  opts: { threads?: number; name?: string } = {},
): Promise<Head> {
  const o = asOrt(ort);
  const what = opts.name ? `head "${opts.name}"` : 'head';
  if (!(model instanceof Uint8Array))
    throw new TypeError(`${what}: model must be a Uint8Array of ONNX bytes`);
  const session = await createSession(o, model, opts.threads, what);
  try {
    const { inputs, outputs } = ioMetadata(session, what);
    const input = inputs[0];
    const output = outputs[0];
    const inShape = input?.shape;
    const outShape = output?.shape;
    const inOk =
      input?.isTensor !== false &&
      input?.type === 'float32' &&
      inShape?.length === 3 &&
      dimAccepts(inShape[1], WINDOW_STEPS) &&
      dimAccepts(inShape[2], EMBEDDING_DIM) &&
      typeof inShape[1] === 'number' &&
      typeof inShape[2] === 'number';
    if (!inOk) {
      throw new ModelShapeError(
        `${what}: input "${input?.name}" must be float32 [batch, 16, 96] (16 embeddings of 96 values), ` +
          `found ${input?.type ?? 'unknown'} ${formatShape(inShape)}; is this an openWakeWord-style head?`,
      );
    }
    if (inputs.length !== 1) {
      throw new ModelShapeError(
        `${what}: expected exactly one input, found ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`,
      );
    }
    const outOk =
      output?.isTensor !== false &&
      outShape?.length === 2 &&
      typeof outShape[1] === 'number' &&
      outShape[1] === 1;
    if (!outOk) {
      throw new ModelShapeError(
        `${what}: output "${output?.name}" must be [batch, 1] (one score per window), found ${formatShape(outShape)}`,
      );
    }
    const b = inShape[0];
    const batchable = typeof b === 'string' || (typeof b === 'number' && b < 0);
    if (!batchable && b !== 1)
      throw new ModelShapeError(`${what}: batch dimension must be 1 or symbolic, found ${b}`);
    return new HeadImpl(o, session, input.name, output.name, batchable);
  } catch (err) {
    await session.release();
    throw err;
  }
}
