/**
 * The engine's view of the front end: one place that adapts `@violawake/detector` (batch embeddings exactly as
 * streaming computes them, the detection rules) for training, evaluation and the CLI.
 */
import { createHash } from 'node:crypto';
import * as detector from '@violawake/detector';
import * as detectorNode from '@violawake/detector/node';
import * as ort from 'onnxruntime-node';
import { EMB_DIM, FIRST_STEP, WARM_ROWS, WINDOW } from '../bank/store.ts';
import { type HeadRunner, loadHeadRunner } from './heads.ts';

export interface EngineRuntime {
  ort: typeof ort;
  melModel: Uint8Array;
  embeddingModel: Uint8Array;
  melSha256: string;
  embeddingSha256: string;
  /** Embedding of an all-1.0 mel window: the ring's initial content (docs/engine.md §2.5). */
  warm: Float32Array;
  frontend: detector.Frontend;
  /** e_1 … e_K for a 16 kHz clip (unit-scale floats), K = ceil(len / 1280), right-padded with the noise floor. */
  embed(pcm16k: Float32Array): Promise<Float32Array>;
  /** The same for long audio (hours), streamed in chunks. */
  embedLong(pcm16k: Float32Array, chunkSteps?: number): Promise<Float32Array>;
  release(): Promise<void>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let shared: Promise<EngineRuntime> | null = null;

/**
 * Opens (once per process) the front end through the detector package. One intra-op thread: on the 2-core benchmark
 * machine two threads were slower for the engine's batches of ≈ 19 embeddings (40 canvases: 2.0 s against 1.4 s).
 */
export function openRuntime(threads = 1): Promise<EngineRuntime> {
  shared ??= (async () => {
    const models = await detectorNode.loadFrontendModels();
    const frontend = await detector.createFrontend({ ort, models, threads });
    return {
      ort,
      frontend,
      melModel: models.mel,
      embeddingModel: models.embedding,
      melSha256: sha(models.mel),
      embeddingSha256: sha(models.embedding),
      warm: frontend.warmupEmbedding,
      async embed(pcm16k) {
        return await frontend.embedClip(pcm16k);
      },
      async embedLong(pcm16k, chunkSteps = 3750) {
        // streaming in chunks keeps memory bounded and gives exactly the batch features (parity, §2.6)
        const stream = frontend.createStream();
        const K = Math.ceil(pcm16k.length / 1280);
        const out = new Float32Array(K * EMB_DIM);
        let o = 0;
        const chunk = chunkSteps * 1280;
        for (let s = 0; s < K * 1280; s += chunk) {
          let piece = pcm16k.subarray(s, Math.min(s + chunk, pcm16k.length));
          if (s + chunk >= K * 1280 && piece.length % 1280 !== 0) {
            const padded = new Float32Array(Math.ceil(piece.length / 1280) * 1280);
            padded.set(piece);
            padded.set(detector.noiseFloor(padded.length - piece.length), piece.length);
            piece = padded;
          }
          const f = await stream.push(piece);
          out.set(f.embeddings, o);
          o += f.embeddings.length;
        }
        stream.dispose();
        return out;
      },
      async release() {
        await frontend.dispose();
        shared = null;
      },
    } satisfies EngineRuntime;
  })();
  return shared;
}

/** Rows [warm × 15, e_1 … e_K]: the window ending at step k starts at row k − 1. */
export function withWarmPrefix(emb: Float32Array, warm: Float32Array): Float32Array {
  const out = new Float32Array(emb.length + WARM_ROWS * EMB_DIM);
  for (let r = 0; r < WARM_ROWS; r++) out.set(warm, r * EMB_DIM);
  out.set(emb, WARM_ROWS * EMB_DIM);
  return out;
}

/** Scores for every step k = 1 … K of a prefixed row buffer (as streaming reports them). */
export async function scoreAllSteps(head: HeadRunner, prefixed: Float32Array): Promise<Float32Array> {
  const steps = prefixed.length / EMB_DIM - WARM_ROWS;
  const starts = new Int32Array(Math.max(0, steps));
  for (let i = 0; i < starts.length; i++) starts[i] = i;
  return head.scoreWindows(prefixed, starts);
}

export interface Rules {
  threshold: number;
  patience?: number;
  refractorySteps?: number;
}

/**
 * Step indices (0-based: index i is step k = i + 1) at which the detection rules fire, through the detector's one
 * implementation (docs/engine.md §5).
 */
export function fireSteps(scores: Float32Array, rules: Rules): number[] {
  const res = detector.detectFirings(scores, {
    threshold: rules.threshold,
    patience: rules.patience ?? 1,
    refractorySteps: rules.refractorySteps ?? 25,
    warmupSteps: FIRST_STEP - 1,
  });
  return Array.from(res as ArrayLike<number>);
}

/** Maximum score over steps k ≥ 10 (clip score, docs/engine.md §8.2). */
export function clipScore(scores: Float32Array): number {
  let m = 0;
  for (let i = FIRST_STEP - 1; i < scores.length; i++) if ((scores[i] as number) > m) m = scores[i] as number;
  return m;
}

export { loadHeadRunner, WINDOW };
