/**
 * Streaming detector (docs/engine.md §5): PCM at any rate → resampler → int16 magnitudes → shared front end →
 * one score per head per 80 ms step → detection rules (threshold, patience, refractory, warm-up, optional VAD gate).
 */
import { DEFAULT_THRESHOLD, SAMPLE_RATE, STEP_SAMPLES, STEP_SECONDS, WARMUP_STEPS } from './constants.ts';
import { DisposedError, ModelHashError, SampleRateError } from './errors.ts';
import {
  createFrontend,
  type FeatureStream,
  type Frontend,
  type FrontendModels,
  type StepFeatures,
} from './frontend.ts';
import { sha256Hex } from './hash.ts';
import { type Head, loadHead } from './head.ts';
import { noiseFloor } from './noise.ts';
import { asOrt } from './ort.ts';
import { floatToInt16Magnitude, writeInt16Magnitudes } from './pcm.ts';
import { StreamingResampler } from './resample.ts';
import { RuleState } from './rules.ts';
import { loadVad, type Vad } from './vad.ts';

/** The manifest fields the runtime reads (schema violawake.model.v1, docs/engine.md §4). */
export interface ManifestLike {
  wake_word?: string;
  threshold?: number;
  model_sha256?: string;
  detection?: { patience?: number; refractory_s?: number; vad_threshold?: number | null };
  [key: string]: unknown;
}

export interface HeadSpec {
  /** Key of this head in `scores` and detections. */
  name: string;
  /** ONNX bytes (loaded, and disposed with the detector) or an already loaded head (left to its owner). */
  model: Uint8Array | Head;
  /** When given: threshold and detection defaults; its `model_sha256` is verified against the bytes. */
  manifest?: ManifestLike;
  /** Overrides the manifest; default 0.5. */
  threshold?: number;
  /** Overrides the manifest; default 1. */
  patience?: number;
  /** Overrides the manifest; default 2,000 ms (25 steps). Rounded to whole 80 ms steps. */
  refractoryMs?: number;
}

export interface StepResult {
  /** Step number k (1-based) since the stream start (or the last reset). */
  step: number;
  /** End of the step, seconds since the stream start: 0.08 · k. */
  t: number;
  scores: Record<string, number>;
  /** Max speech probability over the last 1.0 s, when the VAD gate is on. */
  vad?: number;
  /** k < 10: scores are reported but no detection can fire. */
  warmingUp: boolean;
}

export interface Detection {
  name: string;
  t: number;
  score: number;
  step: number;
}

export interface PushResult {
  steps: StepResult[];
  detections: Detection[];
}

export interface DetectorEvents {
  score: StepResult;
  detection: Detection;
}

export interface CreateDetectorOptions {
  ort: unknown;
  /** Model bytes (a front end is created, verified and owned by the detector) or a shared front end. */
  frontend: FrontendModels | Frontend;
  heads: HeadSpec[];
  /** Optional gate (off by default): silero VAD bytes; threshold default = a manifest's `detection.vad_threshold`, else 0.5. */
  vad?: { model: Uint8Array; threshold?: number };
  /** Sample rate of the pushed PCM (default 16,000); anything else is resampled. */
  inputSampleRate?: number;
  threads?: number;
}

export interface ResolvedHead {
  name: string;
  threshold: number;
  patience: number;
  refractorySteps: number;
}

export interface Detector {
  readonly heads: readonly ResolvedHead[];
  readonly frontend: Frontend;
  readonly inputSampleRate: number;
  /** The VAD gate's threshold, or null without a gate. */
  readonly vadThreshold: number | null;
  /** Steps completed since the start or the last reset. */
  readonly step: number;
  push(pcm: Int16Array | Float32Array): Promise<PushResult>;
  /** Back to the initial state (stream, rules, resampler, VAD); models stay loaded. */
  reset(): Promise<void>;
  /** Releases every model this detector loaded (front end, heads, VAD); push afterwards throws DisposedError. */
  dispose(): Promise<void>;
  readonly disposed: boolean;
  on<E extends keyof DetectorEvents>(event: E, listener: (payload: DetectorEvents[E]) => void): () => void;
  off<E extends keyof DetectorEvents>(event: E, listener: (payload: DetectorEvents[E]) => void): void;
}

interface RunningHead extends ResolvedHead {
  head: Head;
  owned: boolean;
  rules: RuleState;
}

/** Front-end slice for long pushes: 64 steps (5.12 s). */
const SLICE_SAMPLES = 64 * STEP_SAMPLES;

function isFrontend(x: FrontendModels | Frontend): x is Frontend {
  return typeof (x as Frontend).createStream === 'function';
}

class DetectorImpl implements Detector {
  private readonly stream: FeatureStream;
  private readonly resampler: StreamingResampler | null;
  private scratch = new Float32Array(0);
  private queue: Promise<unknown> = Promise.resolve();
  private released = false;
  private readonly listeners: { [E in keyof DetectorEvents]: Set<(p: DetectorEvents[E]) => void> } = {
    score: new Set(),
    detection: new Set(),
  };

  constructor(
    readonly frontend: Frontend,
    private readonly ownsFrontend: boolean,
    private readonly running: RunningHead[],
    private readonly vad: Vad | null,
    private readonly gateThreshold: number,
    readonly inputSampleRate: number,
  ) {
    this.stream = frontend.createStream();
    this.resampler =
      inputSampleRate === SAMPLE_RATE ? null : new StreamingResampler(inputSampleRate, SAMPLE_RATE);
  }

  get heads(): readonly ResolvedHead[] {
    return this.running.map(({ name, threshold, patience, refractorySteps }) => ({
      name,
      threshold,
      patience,
      refractorySteps,
    }));
  }

  get step(): number {
    return this.stream.step;
  }

  get vadThreshold(): number | null {
    return this.vad ? this.gateThreshold : null;
  }

  get disposed(): boolean {
    return this.released;
  }

  on<E extends keyof DetectorEvents>(event: E, listener: (payload: DetectorEvents[E]) => void): () => void {
    this.listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  off<E extends keyof DetectorEvents>(event: E, listener: (payload: DetectorEvents[E]) => void): void {
    this.listeners[event].delete(listener);
  }

  push(pcm: Int16Array | Float32Array): Promise<PushResult> {
    if (this.released) return Promise.reject(new DisposedError('the detector'));
    if (!(pcm instanceof Int16Array) && !(pcm instanceof Float32Array)) {
      return Promise.reject(new TypeError('push() takes an Int16Array or a Float32Array of mono PCM'));
    }
    // Converted (and resampled) now, in call order: the caller may reuse its buffer as soon as push() returns.
    let mags: Float32Array;
    try {
      mags = this.toMagnitudes(pcm);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.queue.then(() => this.process(mags));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Converts a push to 16 kHz int16 magnitudes (§2.3 after resampling). */
  private toMagnitudes(pcm: Int16Array | Float32Array): Float32Array {
    if (!this.resampler) {
      const mags = new Float32Array(pcm.length);
      writeInt16Magnitudes(pcm, mags);
      return mags;
    }
    if (this.scratch.length < pcm.length) this.scratch = new Float32Array(pcm.length);
    const s = this.scratch.subarray(0, pcm.length);
    if (pcm instanceof Int16Array) {
      s.set(pcm);
      const y = this.resampler.processView(s);
      const mags = new Float32Array(y.length);
      for (let i = 0; i < y.length; i++) {
        const v = y[i];
        const r = v < 0 ? -Math.round(-v) : Math.round(v);
        mags[i] = r > 32767 ? 32767 : Math.max(r, -32768);
      }
      return mags;
    }
    for (let i = 0; i < pcm.length; i++) s[i] = Number.isFinite(pcm[i]) ? pcm[i] : 0;
    const y = this.resampler.processView(s);
    const mags = new Float32Array(y.length);
    for (let i = 0; i < y.length; i++) mags[i] = floatToInt16Magnitude(y[i]);
    return mags;
  }

  /** Pushes accepted before dispose() still complete: dispose waits for them before releasing the models. */
  private async process(mags: Float32Array): Promise<PushResult> {
    const steps: StepResult[] = [];
    const detections: Detection[] = [];
    // Long pushes go through the VAD and the front end in slices, so memory stays bounded (windows are 6 KB per
    // step) and the VAD history (VAD_HISTORY_SAMPLES) always covers the steps being scored.
    for (let pos = 0; pos < mags.length; pos += SLICE_SAMPLES) {
      const slice = mags.subarray(pos, pos + SLICE_SAMPLES);
      if (this.vad) await this.vad.pushMagnitudes(slice);
      const f = await this.stream.pushMagnitudes(slice);
      if (f.count > 0) await this.score(f, steps, detections);
    }
    for (const s of steps) for (const l of this.listeners.score) l(s);
    for (const d of detections) for (const l of this.listeners.detection) l(d);
    return { steps, detections };
  }

  private async score(f: StepFeatures, steps: StepResult[], detections: Detection[]): Promise<void> {
    const scores = await Promise.all(this.running.map((h) => h.head.scoreWindows(f.windows, f.count)));
    for (let i = 0; i < f.count; i++) {
      const k = f.firstStep + i;
      const t = Math.round(k * STEP_SECONDS * 1e6) / 1e6;
      const warmingUp = k <= WARMUP_STEPS;
      const result: StepResult = { step: k, t, scores: {}, warmingUp };
      let gated = false;
      if (this.vad) {
        result.vad = this.vad.maxOver(k * STEP_SAMPLES);
        gated = result.vad < this.gateThreshold;
      }
      for (let h = 0; h < this.running.length; h++) {
        const head = this.running[h];
        const score = scores[h][i];
        result.scores[head.name] = score;
        if (head.rules.step(score, warmingUp || gated))
          detections.push({ name: head.name, t, score, step: k });
      }
      steps.push(result);
    }
  }

  reset(): Promise<void> {
    if (this.released) return Promise.reject(new DisposedError('the detector'));
    // The resampler works at push() time, so it resets now; the rest after the pushes already queued.
    this.resampler?.reset();
    const run = this.queue.then(() => {
      this.stream.reset();
      this.vad?.reset();
      for (const h of this.running) h.rules.reset();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.queue;
    this.stream.dispose();
    const tasks: Promise<void>[] = [];
    for (const h of this.running) if (h.owned) tasks.push(h.head.dispose());
    if (this.vad) tasks.push(this.vad.dispose());
    if (this.ownsFrontend) tasks.push(this.frontend.dispose());
    await Promise.all(tasks);
    this.listeners.score.clear();
    this.listeners.detection.clear();
  }
}

function resolveHead(spec: HeadSpec): ResolvedHead {
  const m = spec.manifest;
  const threshold = spec.threshold ?? (typeof m?.threshold === 'number' ? m.threshold : DEFAULT_THRESHOLD);
  const patience = spec.patience ?? m?.detection?.patience ?? 1;
  const refractoryMs =
    spec.refractoryMs ?? (m?.detection?.refractory_s != null ? m.detection.refractory_s * 1000 : 2000);
  if (!(threshold >= 0 && threshold <= 1))
    throw new RangeError(`head "${spec.name}": threshold must be in 0–1, got ${threshold}`);
  if (!Number.isInteger(patience) || patience < 1)
    throw new RangeError(`head "${spec.name}": patience must be an integer ≥ 1`);
  if (!(refractoryMs >= 0)) throw new RangeError(`head "${spec.name}": refractoryMs must be ≥ 0`);
  return {
    name: spec.name,
    threshold,
    patience,
    refractorySteps: Math.round(refractoryMs / (STEP_SECONDS * 1000)),
  };
}

export async function createDetector(opts: CreateDetectorOptions): Promise<Detector> {
  const ort = asOrt(opts.ort);
  const rate = opts.inputSampleRate ?? SAMPLE_RATE;
  if (!Number.isInteger(rate) || rate < 4000 || rate > 768_000) {
    throw new SampleRateError(`inputSampleRate must be an integer between 4,000 and 768,000 Hz, got ${rate}`);
  }
  if (!Array.isArray(opts.heads)) throw new TypeError('createDetector: heads must be an array');
  const names = new Set<string>();
  const resolved = opts.heads.map((spec) => {
    if (!spec || typeof spec.name !== 'string' || spec.name === '')
      throw new TypeError('every head needs a name');
    if (names.has(spec.name)) throw new TypeError(`two heads are named "${spec.name}"`);
    names.add(spec.name);
    return resolveHead(spec);
  });
  // Hash checks before loading anything.
  await Promise.all(
    opts.heads.map(async (spec) => {
      const expected = spec.manifest?.model_sha256;
      if (expected && spec.model instanceof Uint8Array) {
        const actual = await sha256Hex(spec.model);
        if (actual !== expected.toLowerCase()) throw new ModelHashError(spec.name, expected, actual);
      }
    }),
  );
  const loaded: { dispose(): Promise<void> }[] = [];
  try {
    const ownsFrontend = !isFrontend(opts.frontend);
    const frontend = isFrontend(opts.frontend)
      ? opts.frontend
      : await createFrontend({ ort, models: opts.frontend, threads: opts.threads });
    if (ownsFrontend) loaded.push(frontend);
    if (frontend.disposed) throw new DisposedError('the front end');
    const running: RunningHead[] = [];
    for (let i = 0; i < opts.heads.length; i++) {
      const spec = opts.heads[i];
      const owned = spec.model instanceof Uint8Array;
      const head = owned
        ? await loadHead(ort, spec.model as Uint8Array, { threads: opts.threads, name: spec.name })
        : (spec.model as Head);
      if (owned) loaded.push(head);
      running.push({ ...resolved[i], head, owned, rules: new RuleState({ ...resolved[i] }) });
    }
    let vad: Vad | null = null;
    if (opts.vad) {
      vad = await loadVad(ort, opts.vad.model, { threads: opts.threads });
      loaded.push(vad);
    }
    // Gate threshold: the option, else the first manifest that sets detection.vad_threshold, else 0.5.
    const fromManifest = opts.heads
      .map((h) => h.manifest?.detection?.vad_threshold)
      .find((v) => typeof v === 'number');
    const vadThreshold = opts.vad?.threshold ?? fromManifest ?? 0.5;
    return new DetectorImpl(frontend, ownsFrontend, running, vad, vadThreshold, rate);
  } catch (err) {
    await Promise.all(loaded.map((x) => x.dispose().catch(() => undefined)));
    throw err;
  }
}

/**
 * Scores 16 kHz audio with several heads exactly as the streaming detector would (steps 1 … K, the audio
 * right-padded to a whole step with the −72 dBFS noise floor, like batch mode): a feature stream fed in slices,
 * so memory stays bounded for hours of audio. Returns one Float32Array of K scores per head.
 */
export async function scoreHeads(
  frontend: Frontend,
  heads: readonly Head[],
  pcm16k: Int16Array | Float32Array,
  opts: { pad?: (samples: number) => Float32Array } = {},
): Promise<Float32Array[]> {
  const K = frontend.stepsFor(pcm16k.length);
  const out = heads.map(() => new Float32Array(K));
  const stream = frontend.createStream();
  try {
    const buf = new Float32Array(SLICE_SAMPLES);
    for (let pos = 0; pos < K * STEP_SAMPLES; pos += SLICE_SAMPLES) {
      const n = Math.min(SLICE_SAMPLES, K * STEP_SAMPLES - pos);
      const have = Math.max(0, Math.min(n, pcm16k.length - pos));
      writeInt16Magnitudes(pcm16k.subarray(pos, pos + have), buf);
      if (have < n) {
        const pad = opts.pad ? opts.pad(n - have) : noiseFloor(n - have);
        for (let i = have; i < n; i++) buf[i] = floatToInt16Magnitude(pad[i - have]);
      }
      const f = await stream.pushMagnitudes(buf.subarray(0, n));
      const scores = await Promise.all(heads.map((h) => h.scoreWindows(f.windows, f.count)));
      for (let h = 0; h < heads.length; h++) out[h].set(scores[h], f.firstStep - 1);
    }
  } finally {
    stream.dispose();
  }
  return out;
}

/** scoreHeads for one head. */
export async function scoreClip(
  frontend: Frontend,
  head: Head,
  pcm16k: Int16Array | Float32Array,
  opts: { pad?: (samples: number) => Float32Array } = {},
): Promise<Float32Array> {
  return (await scoreHeads(frontend, [head], pcm16k, opts))[0];
}
