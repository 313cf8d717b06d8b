/**
 * trainHead: the trainer's entry point (docs/engine.md §7). Splits the windows (group-aware, stratified by kind), trains
 * the MLP and the CNN concurrently in two worker threads that read the same embeddings through a SharedArrayBuffer,
 * and keeps the candidate with the higher validation pAUC (FPR 0–1 %); within 0.002 the MLP wins.
 */
import type { Worker } from 'node:worker_threads';
import { cancelledError, EngineError } from '../eval/errors.ts';
import { startTsWorker } from '../worker-thread.ts';
import { type CandidateOptions, type CandidateResult, exchangeBytes, trainCandidate } from './candidate.ts';
import { type Split, splitWindows, validateWindowSet } from './data.ts';
import type { WorkerInput, WorkerMessage } from './protocol.ts';
import type { Architecture, TrainedHead, TrainOptions, TrainProgress, WindowSet } from './types.ts';

export type { CandidateOptions, CandidateResult } from './candidate.ts';
export { epochCap, MAC_BUDGET, MAX_EPOCHS, trainCandidate } from './candidate.ts';
export { PoolSampler, splitWindows, validateWindowSet } from './data.ts';
export * from './types.ts';

/** Within this pAUC margin the MLP wins (less arithmetic at run time). */
export const PAUC_TIE_MARGIN = 0.002;

/** Starts a worker running `train/worker.ts`. */
export function startTrainWorker(workerData: WorkerInput): Worker {
  return startTsWorker(new URL('./worker.ts', import.meta.url), { workerData });
}

function toShared(e: Float32Array): { buffer: SharedArrayBuffer; offset: number; length: number } {
  if (e.buffer instanceof SharedArrayBuffer)
    return { buffer: e.buffer, offset: e.byteOffset, length: e.length };
  const buffer = new SharedArrayBuffer(e.byteLength);
  new Float32Array(buffer).set(e);
  return { buffer, offset: 0, length: e.length };
}

function runInWorker(
  data: WindowSet,
  shared: { buffer: SharedArrayBuffer; offset: number; length: number },
  split: Split,
  options: CandidateOptions,
  stopFlag: SharedArrayBuffer,
  onProgress: (p: TrainProgress) => void,
): Promise<CandidateResult> {
  const { embeddings: _e, ...rest } = data;
  const worker = startTrainWorker({
    embeddings: shared.buffer,
    embeddingsOffset: shared.offset,
    embeddingsLength: shared.length,
    data: rest,
    split,
    options,
    stopFlag,
  });
  return new Promise<CandidateResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') {
        try {
          onProgress(m.progress);
        } catch {
          // a failing progress callback must not break training
        }
      } else if (m.type === 'done') finish(() => resolve(m.result));
      else finish(() => reject(new EngineError(m.code, m.message, m.details)));
    });
    worker.on('error', (e) =>
      finish(() =>
        reject(
          new EngineError('internal', 'A training worker failed.', { message: e.message }, { cause: e }),
        ),
      ),
    );
    worker.on('exit', (code) =>
      finish(() => reject(new EngineError('internal', `A training worker exited early (code ${code}).`))),
    );
  });
}

function toHead(winner: CandidateResult, all: CandidateResult[]): TrainedHead {
  const alternatives = all.filter((c) => c !== winner).map((c) => toHead(c, [c]));
  return {
    arch: winner.arch,
    tensors: winner.tensors,
    params: winner.params,
    bestEpoch: winner.bestEpoch,
    epochs: winner.epochs,
    valLoss: winner.valLoss,
    valPauc: winner.valPauc,
    weightsSource: winner.weightsSource,
    ...(alternatives.length > 0 ? { alternatives } : {}),
    candidates: all.map((c) => ({
      arch: c.arch,
      valLoss: c.valLoss,
      valPauc: c.valPauc,
      bestEpoch: c.bestEpoch,
      epochs: c.epochs,
    })),
  };
}

/** The architecture choice: higher validation pAUC; within PAUC_TIE_MARGIN the MLP. */
export function chooseCandidate(results: CandidateResult[]): CandidateResult {
  const mlp = results.find((r) => r.arch === 'mlp');
  const tcn = results.find((r) => r.arch === 'tcn');
  if (!mlp || !tcn) return results[0];
  return tcn.valPauc > mlp.valPauc + PAUC_TIE_MARGIN ? tcn : mlp;
}

/** Extra numbers of the last training run in this process (for the benchmark and the README's speed notes). */
export interface TrainStats {
  candidates: { arch: Architecture; seconds: number; macs: number; epochs: number; gflops: number }[];
  seconds: number;
}
let lastStats: TrainStats | null = null;
export function lastTrainStats(): TrainStats | null {
  return lastStats;
}

export async function trainHead(data: WindowSet, opts: TrainOptions): Promise<TrainedHead> {
  const t0 = performance.now();
  if (opts.signal?.aborted) throw cancelledError();
  validateWindowSet(data);
  const split = splitWindows(data, opts.seed);
  const archs: Architecture[] = opts.arch === 'auto' ? ['mlp', 'tcn'] : [opts.arch];
  const options = (arch: Architecture): CandidateOptions => ({
    arch,
    seed: opts.seed,
    maxEpochs: opts.maxEpochs,
    loss: opts.loss,
  });
  const progress = (p: TrainProgress) => opts.onProgress?.(p);
  let results: CandidateResult[];
  const threads = opts.threads ?? 2;
  if (threads <= 0) {
    results = archs.map((arch) =>
      trainCandidate(data, split, options(arch), {
        onEpoch: progress,
        shouldStop: () => opts.signal?.aborted === true,
      }),
    );
  } else {
    const stopFlag = new SharedArrayBuffer(4);
    const stop = new Int32Array(stopFlag);
    const onAbort = () => Atomics.store(stop, 0, 1);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const shared = toShared(data.embeddings);
      const run = (arch: Architecture) =>
        runInWorker(data, shared, split, options(arch), stopFlag, progress).catch((e: unknown) => {
          Atomics.store(stop, 0, 1); // stop the other candidate too
          throw e;
        });
      if (archs.length === 1 && threads >= 2 && opts.dataParallel === true) {
        // one candidate, data-parallel over two workers (gradients summed in a fixed order)
        const arch = archs[0];
        const exchange = new SharedArrayBuffer(exchangeBytes(arch));
        const rank = (r: 0 | 1) =>
          runInWorker(
            data,
            shared,
            split,
            { ...options(arch), parallel: { rank: r, exchange } },
            stopFlag,
            r === 0 ? progress : () => {},
          ).catch((e: unknown) => {
            Atomics.store(stop, 0, 1);
            throw e;
          });
        const [r0] = await Promise.all([rank(0), rank(1)]);
        results = [r0];
      } else if (threads >= archs.length) results = await Promise.all(archs.map(run));
      else {
        results = [];
        for (const arch of archs) results.push(await run(arch));
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (opts.signal?.aborted) throw cancelledError();
  }
  lastStats = {
    seconds: (performance.now() - t0) / 1000,
    candidates: results.map((r) => ({
      arch: r.arch,
      seconds: r.seconds,
      macs: r.macs,
      epochs: r.epochs,
      gflops: (2 * r.macs) / r.seconds / 1e9,
    })),
  };
  return toHead(chooseCandidate(results), results);
}
