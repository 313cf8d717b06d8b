import type { Worker } from 'node:worker_threads';
import { resample } from '@violawake/detector';
import { startTsWorker } from '../worker-thread.ts';

interface Job {
  resolve: (x: Float32Array) => void;
  reject: (e: Error) => void;
}

/**
 * Resampling off the main thread (the detector's resampler costs ≈ 5–10 ms per second of audio, the largest share of
 * synthesis CPU in this process). Workers register tsx and import `resample-worker.ts`, which works under vitest,
 * tsx and `node --import tsx`. Workers are unreferenced while idle; any worker failure falls back to the main thread.
 * Results are identical to `resample()` on the main thread.
 */
export class ResamplePool {
  private workers: Array<{ w: Worker; pending: Map<number, Job> }> = [];
  private next = 0;
  private id = 1;
  private broken = false;

  constructor(private readonly size = 2) {}

  private start(): void {
    if (this.workers.length || this.broken) return;
    try {
      const entry = new URL('./resample-worker.ts', import.meta.url);
      for (let i = 0; i < this.size; i++) {
        const w = startTsWorker(entry);
        const slot = { w, pending: new Map<number, Job>() };
        w.on('message', (m: { id?: number; out?: Float32Array; error?: string; ready?: boolean }) => {
          if (m.id === undefined) return;
          const job = slot.pending.get(m.id);
          if (!job) return;
          slot.pending.delete(m.id);
          if (slot.pending.size === 0) w.unref();
          if (m.out) job.resolve(m.out);
          else job.reject(new Error(m.error ?? 'resample failed'));
        });
        const fail = (err: Error) => {
          this.broken = true;
          for (const j of slot.pending.values()) j.reject(err);
          slot.pending.clear();
        };
        w.on('error', fail);
        w.on('exit', (code) => {
          if (slot.pending.size) fail(new Error(`resample worker exited (${code})`));
          this.workers = this.workers.filter((s) => s !== slot);
        });
        w.unref();
        this.workers.push(slot);
      }
    } catch {
      this.broken = true;
    }
  }

  /** Resamples `samples` in a worker (a copy is sent; `samples` is left untouched). */
  async resample(samples: Float32Array, from: number, to: number): Promise<Float32Array> {
    if (from === to) return samples;
    this.start();
    if (this.broken || this.workers.length === 0) return resample(samples, from, to);
    const slot = this.workers[this.next++ % this.workers.length] as (typeof this.workers)[number];
    const id = this.id++;
    try {
      return await new Promise<Float32Array>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        slot.w.ref();
        const copy = samples.slice(); // the copy is transferred; the caller's array stays usable for the fallback
        slot.w.postMessage({ id, samples: copy, from, to }, [copy.buffer as ArrayBuffer]);
      });
    } catch {
      return resample(samples, from, to);
    }
  }

  async dispose(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((s) => s.w.terminate()));
  }
}
