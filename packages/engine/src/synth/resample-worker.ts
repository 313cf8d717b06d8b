/** Worker thread for `ResamplePool`: resamples with the detector's band-limited resampler. */
import { parentPort } from 'node:worker_threads';
import { resample } from '@violawake/detector';

parentPort?.on('message', (m: { id: number; samples: Float32Array; from: number; to: number }) => {
  try {
    const out = resample(m.samples, m.from, m.to);
    parentPort?.postMessage({ id: m.id, out }, [out.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort?.postMessage({ id: m.id, error: String((err as Error)?.message ?? err) });
  }
});
parentPort?.postMessage({ ready: true });
