/**
 * Worker-thread entry: trains one candidate on windows read from a SharedArrayBuffer and posts progress and the
 * result. Started by `startCandidateWorker` (index.ts) through a tiny bootstrap that registers tsx first, so it
 * runs under vitest, tsx and `node --import tsx` alike.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isEngineError } from '../eval/errors.ts';
import { trainCandidate } from './candidate.ts';
import type { WorkerInput, WorkerMessage } from './protocol.ts';

const input = workerData as WorkerInput;
const port = parentPort;
if (!port) throw new Error('train/worker.ts must run in a worker thread');
const post = (m: WorkerMessage) => port.postMessage(m);

try {
  const d = input.data;
  const stop = new Int32Array(input.stopFlag);
  const result = trainCandidate(
    {
      embeddings: new Float32Array(input.embeddings, input.embeddingsOffset, input.embeddingsLength),
      starts: d.starts,
      labels: d.labels,
      pools: d.pools,
      groups: d.groups,
      kinds: d.kinds,
      weights: d.weights,
    },
    input.split,
    input.options,
    {
      onEpoch: (p) => post({ type: 'progress', progress: p }),
      shouldStop: () => Atomics.load(stop, 0) !== 0,
    },
  );
  post({ type: 'done', result });
} catch (e) {
  post({
    type: 'error',
    code: isEngineError(e) ? e.code : 'internal',
    message: e instanceof Error ? e.message : String(e),
    details: isEngineError(e) ? e.details : {},
  });
}
