/// <reference lib="webworker" />
/**
 * Runs @violawake/detector with onnxruntime-web (wasm, single thread, files served by this app under /ort/) on
 * microphone blocks posted by the page, and posts scores back once per 80 ms step (12.5 Hz).
 * onnxruntime-web runs single-threaded (no cross-origin isolation needed) with its .wasm served by this app.
 */
import * as ort from 'onnxruntime-web/wasm';
// Vite copies the runtime's .wasm into the build (hashed asset) and gives its same-origin URL: no CDN, no network.
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import * as detectorModule from '@violawake/detector';
import type { FromWorker, ScorePoint, ToWorker } from './protocol.ts';

declare const self: DedicatedWorkerGlobalScope;

ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, self.location.href).href };
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

/** The part of the engine.md §5 detector this page uses. */
interface StepResult {
  step: number;
  t: number;
  scores: Record<string, number>;
  warmingUp: boolean;
}
interface DetectionResult {
  name: string;
  t: number;
  score: number;
}
interface Detector {
  push(pcm: Float32Array): Promise<unknown> | unknown;
  dispose(): Promise<void> | void;
}
type CreateDetector = (options: Record<string, unknown>) => Promise<Detector>;

function createDetector(options: Record<string, unknown>): Promise<Detector> {
  const factory = (detectorModule as unknown as { createDetector?: CreateDetector }).createDetector;
  if (typeof factory !== 'function') throw new Error('The detector runtime is not available in this build.');
  return factory(options);
}

/** Accepts `{steps, detections}` or `{results, detections}` or a bare array of steps. */
function readPush(result: unknown): { steps: StepResult[]; detections: DetectionResult[] } {
  if (Array.isArray(result)) return { steps: result as StepResult[], detections: [] };
  const r = (result ?? {}) as { steps?: StepResult[]; results?: StepResult[]; detections?: DetectionResult[] };
  return { steps: r.steps ?? r.results ?? [], detections: r.detections ?? [] };
}

let detector: Detector | null = null;
let init: Extract<ToWorker, { type: 'init' }> | null = null;
let threshold = 0.5;
let queue: Promise<void> = Promise.resolve();
let generation = 0;

function post(msg: FromWorker) {
  self.postMessage(msg);
}

async function build(): Promise<void> {
  if (!init) return;
  const previous = detector;
  detector = null;
  await previous?.dispose();
  detector = await createDetector({
    ort,
    frontend: { mel: new Uint8Array(init.mel), embedding: new Uint8Array(init.embedding) },
    heads: [{ name: init.name, model: new Uint8Array(init.head), manifest: init.manifest ?? undefined, threshold }],
    inputSampleRate: init.sampleRate,
  });
}

async function push(pcm: Float32Array, gen: number): Promise<void> {
  if (!detector || gen !== generation || !init) return;
  const result = readPush(await detector.push(pcm));
  const points: ScorePoint[] = result.steps.map((s) => ({
    step: s.step,
    t: s.t,
    score: s.scores?.[init?.name ?? ''] ?? 0,
    warmingUp: s.warmingUp,
  }));
  if (points.length) post({ type: 'scores', points });
  for (const d of result.detections) post({ type: 'detection', t: d.t, score: d.score });
}

function enqueue(task: () => Promise<void>) {
  queue = queue.then(task).catch((err: unknown) => {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === 'init') {
    init = msg;
    threshold = msg.threshold;
    generation++;
    enqueue(async () => {
      await build();
      post({ type: 'ready' });
    });
  } else if (msg.type === 'audio') {
    const gen = generation;
    enqueue(() => push(msg.pcm, gen));
  } else if (msg.type === 'threshold') {
    threshold = msg.value;
    generation++;
    enqueue(build);
  } else if (msg.type === 'stop') {
    generation++;
    enqueue(async () => {
      await detector?.dispose();
      detector = null;
      self.close();
    });
  }
};
