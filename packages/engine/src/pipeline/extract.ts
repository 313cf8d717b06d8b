/**
 * Feature extraction for training and evaluation (docs/engine.md §6.8, §8.2), spread over worker threads.
 *
 * Almost all of a job's extraction time is the embedding model (≈ 1–1.5 ms per embedding, ≈ 20 per canvas), and one
 * onnxruntime session on one intra-op thread is the fastest way to run its small batches (docs/engine.md), so the
 * pool runs one single-thread front end per worker and gives each worker whole canvases (augmentation included).
 * Every result depends only on the task (seed, item id, audio), never on the worker that computed it, so a job's
 * features — and its model bytes — are the same for any pool size.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { RandomSource } from '../audio/random.ts';
import { Rand } from '../audio/random.ts';
import { AUGMENT_CONFIG, augmentPlaced, augmentUtterance, USER_VOICE_CONFIG } from '../augment/index.ts';
import { EMB_DIM } from '../bank/store.ts';
import { music } from '../negatives/music.ts';
import { NOISE_KINDS, noise } from '../negatives/noise.ts';
import { deriveRng } from '../rng.ts';
import { startTsWorker } from '../worker-thread.ts';
import { CANVAS_ROWS, fitLength, placeOnCanvas, SR } from './canvas.ts';
import { type EngineRuntime, openRuntime } from './runtime.ts';

/** One word-level utterance to place on an augmented canvas. */
export interface CanvasTask {
  audio: Float32Array;
  /** Item id: with the seed, it decides every random choice of the canvas. */
  id: number;
  label: 0 | 1;
  seed: number;
  /** The user's own recording as a positive: wider speed and pitch changes (USER_VOICE_CONFIG). */
  userVoice?: boolean;
}

export interface CanvasFeatures {
  /** e_10 … e_28 of the canvas (19 × 96). */
  rows: Float32Array;
  /** Training windows j (W_{25+j}): those containing the whole utterance for positives, 0 … 3 for negatives. */
  windows: number[];
}

function bedGenerator(length: number, rng: RandomSource): Float32Array {
  const r = new Rand(rng);
  const sec = length / SR;
  const sub = deriveRng(r.int(0, 0x7fffffff), 'bed', 0);
  return r.chance(0.5) ? music(sec, sub) : noise(r.pick(NOISE_KINDS), sec, sub);
}

/** Augments an utterance, places it on a canvas (§6.8) and embeds the canvas. */
export async function canvasFeatures(rt: EngineRuntime, task: CanvasTask): Promise<CanvasFeatures> {
  const r = new Rand(deriveRng(task.seed, 'canvas', task.id));
  const config = task.userVoice ? USER_VOICE_CONFIG : AUGMENT_CONFIG;
  const pre = augmentUtterance(
    task.audio,
    deriveRng(r.int(0, 0x7fffffff), 'aug-pre', task.id),
    undefined,
    config,
  );
  const placed = placeOnCanvas(fitLength(pre), {
    rng: deriveRng(r.int(0, 0x7fffffff), 'place', task.id),
    bed: bedGenerator,
  });
  const canvas = augmentPlaced(
    placed.canvas,
    deriveRng(r.int(0, 0x7fffffff), 'aug-post', task.id),
    { region: [placed.start, placed.end] },
    config,
  );
  const emb = await rt.frontend.embedClip(canvas, { firstStep: 10 });
  return {
    rows: emb.slice(0, CANVAS_ROWS * EMB_DIM),
    windows: task.label === 1 ? placed.windows : [0, 1, 2, 3],
  };
}

export type PoolRequest =
  | { id: number; type: 'canvas'; task: CanvasTask }
  | { id: number; type: 'embed'; pcm: Float32Array; firstStep?: number };
/** Asks a worker to end its thread after the request in progress. */
export type PoolStop = { type: 'stop' };
export type PoolReply =
  | { id: number; canvas?: CanvasFeatures; embedding?: Float32Array; error?: undefined }
  | { id: number; error: string };

/** Computes one request with a front end (the worker's, or the main thread's when there are no workers). */
export async function handleRequest(rt: EngineRuntime, req: PoolRequest): Promise<PoolReply> {
  if (req.type === 'canvas') return { id: req.id, canvas: await canvasFeatures(rt, req.task) };
  return { id: req.id, embedding: await rt.frontend.embedClip(req.pcm, { firstStep: req.firstStep }) };
}

interface Pending {
  req: PoolRequest;
  resolve: (r: PoolReply) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Pending>;
}

/** Requests kept in flight per worker: one computing, one queued, so a worker never waits for the main thread. */
const IN_FLIGHT = 2;

/** Default number of extraction workers: one per core, at most 4. */
export function defaultExtractWorkers(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/**
 * A pool of worker threads, each with its own front end. With `size` ≤ 1 (or when a worker cannot start) requests
 * run on the calling thread's front end instead; results are the same either way.
 */
export class ExtractPool {
  private slots: Slot[] = [];
  private queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size = defaultExtractWorkers()) {
    if (size <= 1) return;
    const entry = new URL('./extract-worker.ts', import.meta.url);
    for (let i = 0; i < size; i++) {
      const slot: Slot = { worker: startTsWorker(entry), inFlight: new Map() };
      slot.worker.on('message', (m: PoolReply) => {
        const p = slot.inFlight.get(m.id);
        if (!p) return;
        slot.inFlight.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m);
        this.pump();
      });
      const lost = (err: Error) => {
        if (!this.slots.includes(slot)) return;
        this.slots = this.slots.filter((s) => s !== slot);
        // a worker that failed to start or died: its requests run elsewhere
        const orphans = [...slot.inFlight.values()];
        slot.inFlight.clear();
        if (this.closed) for (const p of orphans) p.reject(err);
        else this.queue.unshift(...orphans);
        this.pump();
      };
      slot.worker.on('error', lost);
      slot.worker.on('exit', (code) => lost(new Error(`extraction worker exited (${code})`)));
      this.slots.push(slot);
    }
  }

  /** Number of worker threads (0: everything runs on the calling thread). */
  get workers(): number {
    return this.slots.length;
  }

  canvas(task: CanvasTask): Promise<CanvasFeatures> {
    return this.submit({ id: 0, type: 'canvas', task }).then((r) => (r as { canvas: CanvasFeatures }).canvas);
  }

  /** e_1 … e_K of a clip, as `EngineRuntime.embed` (from e_firstStep on when given). */
  embed(pcm: Float32Array, firstStep?: number): Promise<Float32Array> {
    return this.submit({ id: 0, type: 'embed', pcm, ...(firstStep ? { firstStep } : {}) }).then(
      (r) => (r as { embedding: Float32Array }).embedding,
    );
  }

  private submit(req: PoolRequest): Promise<PoolReply> {
    if (this.closed) return Promise.reject(new Error('extraction pool closed'));
    return new Promise<PoolReply>((resolve, reject) => {
      this.queue.push({ req: { ...req, id: this.nextId++ }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    if (this.slots.length === 0) {
      // no workers: one request at a time on this thread
      const next = this.queue.shift();
      if (next) void this.runLocal(next);
      return;
    }
    for (;;) {
      const free = this.slots
        .filter((s) => s.inFlight.size < IN_FLIGHT)
        .sort((a, b) => a.inFlight.size - b.inFlight.size)[0];
      const next = free && this.queue.shift();
      if (!free || !next) return;
      free.inFlight.set(next.req.id, next);
      free.worker.postMessage(next.req);
    }
  }

  private localBusy = false;
  private async runLocal(p: Pending): Promise<void> {
    if (this.localBusy) {
      this.queue.unshift(p);
      return;
    }
    this.localBusy = true;
    try {
      p.resolve(await handleRequest(await openRuntime(), p.req));
    } catch (err) {
      p.reject(err as Error);
    } finally {
      this.localBusy = false;
      this.pump();
    }
  }

  /** Stops the workers; requests still pending are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('extraction pool closed');
    for (const p of this.queue) p.reject(err);
    this.queue = [];
    const slots = this.slots;
    this.slots = [];
    for (const s of slots) for (const p of s.inFlight.values()) p.reject(err);
    await Promise.all(slots.map((s) => stopWorker(s.worker)));
  }
}

/** Time a worker gets to finish the request in progress after 'stop' before it is terminated. */
export const STOP_GRACE_MS = 5000;

/**
 * Lets a worker end its own thread after its current request; `terminate()` only when it does not within the grace
 * period (terminating a thread inside an onnxruntime call can abort the process with an uncaught native error).
 */
export async function stopWorker(worker: Worker): Promise<void> {
  if (worker.threadId < 0) return; // already ended
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ type: 'stop' } satisfies PoolStop);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
  });
  if ((await Promise.race([exited, late])) === 'late') await worker.terminate();
  clearTimeout(timer);
}
