/**
 * The minimal slice of the ONNX Runtime API the detector uses. The caller injects the module
 * (`onnxruntime-node` in Node, `onnxruntime-web` in the browser); both implement this shape in 1.30.
 */
import { DisposedError, ModelShapeError } from './errors.ts';

export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
  dispose?(): void;
}

export interface OrtValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtModule {
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
}

export function asOrt(ort: unknown): OrtModule {
  const o = ort as Partial<OrtModule> | null;
  if (!o || typeof o.Tensor !== 'function' || typeof o.InferenceSession?.create !== 'function') {
    throw new TypeError(
      '`ort` must be the onnxruntime-node or onnxruntime-web module (with Tensor and InferenceSession)',
    );
  }
  return o as OrtModule;
}

export function sessionOptions(threads: number | undefined): Record<string, unknown> {
  return {
    intraOpNumThreads: threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}

/**
 * Wraps a session so that its runs never overlap: onnxruntime-web's wasm backend fails on concurrent `run()` calls
 * on one session (several streams or detectors sharing a front end). `release()` waits for queued runs.
 */
export function serialized(session: OrtSession): OrtSession {
  let tail: Promise<unknown> = Promise.resolve();
  let released = false;
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    run(feeds) {
      if (released) return Promise.reject(new DisposedError('the model session'));
      const next = tail.then(() => session.run(feeds));
      tail = next.catch(() => undefined);
      return next;
    },
    async release() {
      if (released) return;
      released = true;
      await tail;
      await session.release();
    },
  };
}

export async function createSession(
  ort: OrtModule,
  model: Uint8Array,
  threads: number | undefined,
  what: string,
): Promise<OrtSession> {
  try {
    return serialized(await ort.InferenceSession.create(model, sessionOptions(threads)));
  } catch (err) {
    throw new ModelShapeError(`${what}: ONNX Runtime could not load the model (${(err as Error).message})`);
  }
}

/** Input/output metadata in onnxruntime 1.30's form; a clear error if the runtime does not expose it. */
export function ioMetadata(
  session: OrtSession,
  what: string,
): { inputs: OrtValueMetadata[]; outputs: OrtValueMetadata[] } {
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  if (!Array.isArray(inputs) || !Array.isArray(outputs)) {
    throw new ModelShapeError(
      `${what}: this ONNX Runtime does not expose input/output metadata as arrays; use onnxruntime 1.30.x`,
    );
  }
  return { inputs: inputs as OrtValueMetadata[], outputs: outputs as OrtValueMetadata[] };
}

export function formatShape(shape: ReadonlyArray<number | string> | undefined): string {
  return shape ? `[${shape.join(', ')}]` : '[unknown]';
}

/**
 * Whether dimension `d` can hold `value`: a symbolic or negative dimension accepts anything, and so does 2³² − 1, which
 * onnxruntime-web reports for an unnamed symbolic dimension (−1 as an unsigned 32-bit integer).
 */
export function dimAccepts(d: number | string | undefined, value: number): boolean {
  return typeof d === 'string' || d === undefined || d < 0 || d === 0xffffffff || d === value;
}

export function tensorData(t: OrtTensor | undefined, what: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array))
    throw new ModelShapeError(`${what}: expected a float32 output`);
  return t.data;
}
