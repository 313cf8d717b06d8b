/// <reference lib="webworker" />
/**
 * Runs @violawake/detector with onnxruntime-web on microphone blocks posted by the page and posts the scores
 * back once per 80 ms step (12.5 Hz), plus detections. onnxruntime-web runs single-threaded (no cross-origin
 * isolation needed) with its .wasm served by this app.
 */
import {
  createDetector,
  createFrontend,
  type Detector,
  type Frontend,
  type Head,
  loadHead,
  type ManifestLike,
} from '@violawake/detector';
// Vite copies the runtime's .wasm into the build (hashed asset) and gives its same-origin URL: no CDN, no network.
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import * as ort from 'onnxruntime-web/wasm';
import type { FromWorker, ScorePoint, ToWorker } from './protocol.ts';

declare const self: DedicatedWorkerGlobalScope;

ort.env.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, self.location.href).href };
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

let frontend: Frontend | null = null;
let head: Head | null = null;
let detector: Detector | null = null;
let init: Extract<ToWorker, { type: 'init' }> | null = null;
let threshold = 0.5;
let queue: Promise<void> = Promise.resolve();
let generation = 0;

function post(msg: FromWorker) {
  self.postMessage(msg);
}

/** (Re)creates the detector on the shared front end and head: a threshold change costs no model loading. */
async function build(): Promise<void> {
  if (!init) return;
  const previous = detector;
  detector = null;
  await previous?.dispose();
  if (!frontend) {
    frontend = await createFrontend({
      ort,
      models: { mel: new Uint8Array(init.mel), embedding: new Uint8Array(init.embedding) },
    });
  }
  if (!head) head = await loadHead(ort, new Uint8Array(init.head), { name: init.name });
  detector = await createDetector({
    ort,
    frontend,
    heads: [
      {
        name: init.name,
        model: head,
        manifest: (init.manifest ?? undefined) as ManifestLike | undefined,
        threshold,
      },
    ],
    inputSampleRate: init.sampleRate,
  });
}

async function push(pcm: Float32Array, gen: number): Promise<void> {
  if (!detector || gen !== generation || !init) return;
  const name = init.name;
  const result = await detector.push(pcm);
  const points: ScorePoint[] = result.steps.map((s) => ({
    step: s.step,
    t: s.t,
    score: s.scores[name] ?? 0,
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
    if (msg.value === threshold) return;
    threshold = msg.value;
    generation++;
    enqueue(build);
  } else if (msg.type === 'stop') {
    generation++;
    enqueue(async () => {
      await detector?.dispose();
      await head?.dispose();
      await frontend?.dispose();
      detector = null;
      head = null;
      frontend = null;
      self.close();
    });
  }
};
