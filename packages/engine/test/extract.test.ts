import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readWavFile16k } from '../src/audio/wav.ts';
import { EMB_DIM } from '../src/bank/store.ts';
import { CANVAS_ROWS } from '../src/pipeline/canvas.ts';
import { canvasFeatures, ExtractPool } from '../src/pipeline/extract.ts';
import { openRuntime } from '../src/pipeline/runtime.ts';

const dev = new URL('../../../../shared/data/picovoice-dev/', import.meta.url);

describe('ExtractPool', () => {
  const pools: ExtractPool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('gives worker threads the same canvases and embeddings as the calling thread, in any order', async () => {
    const dir = new URL('computer/', dev);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.wav'))
      .sort()
      .slice(0, 3);
    const clips = await Promise.all(files.map((f) => readWavFile16k(new URL(f, dir).pathname)));
    const tasks = clips.flatMap((audio, i) => [
      { audio, id: 2 * i, label: 1 as const, seed: 7 },
      { audio, id: 2 * i + 1, label: 0 as const, seed: 7 },
    ]);
    const rt = await openRuntime();
    const local = [];
    for (const t of tasks) local.push(await canvasFeatures(rt, t));
    const localEmb = await rt.embed(clips[0] as Float32Array);

    const pool = new ExtractPool(2);
    pools.push(pool);
    expect(pool.workers).toBe(2);
    // all at once: the pool spreads them over both workers and answers each promise with its own task
    const [remote, remoteEmb] = await Promise.all([
      Promise.all(tasks.map((t) => pool.canvas(t))),
      pool.embed(clips[0] as Float32Array),
    ]);
    for (const [i, r] of remote.entries()) {
      const l = local[i] as (typeof local)[number];
      expect(r.rows.length).toBe(CANVAS_ROWS * EMB_DIM);
      expect(Buffer.from(r.rows.buffer).equals(Buffer.from(l.rows.buffer))).toBe(true);
      expect(r.windows).toEqual(l.windows);
    }
    expect(remote[1]?.windows).toEqual([0, 1, 2, 3]);
    expect(remote[0]?.windows.length).toBeGreaterThan(0);
    expect(Array.from(remoteEmb)).toEqual(Array.from(localEmb));
  }, 120_000);

  it('runs on the calling thread with one worker or fewer, and rejects after close', async () => {
    const pool = new ExtractPool(1);
    expect(pool.workers).toBe(0);
    const x = new Float32Array(16000).map((_, i) => 0.1 * Math.sin(i / 7));
    const [a, b] = await Promise.all([pool.embed(x), pool.embed(x)]);
    expect(a.length).toBe(13 * EMB_DIM);
    expect(Array.from(a)).toEqual(Array.from(b));
    await pool.close();
    await expect(pool.embed(x)).rejects.toThrow(/closed/);
  }, 60_000);
});
