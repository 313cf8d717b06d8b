import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readWavFile16k } from '../src/audio/wav.ts';
import { ChunkedStream } from '../src/bank/build.ts';
import { EMB_DIM } from '../src/bank/store.ts';
import { music } from '../src/negatives/music.ts';
import { noise } from '../src/negatives/noise.ts';
import { CANVAS_ROWS } from '../src/pipeline/canvas.ts';
import {
  canvasFeatures,
  ExtractPool,
  type PoolReply,
  type PoolRequest,
  STOP_GRACE_MS,
  stopWorker,
} from '../src/pipeline/extract.ts';
import { openRuntime } from '../src/pipeline/runtime.ts';
import { deriveRng } from '../src/rng.ts';
import { startTsWorker } from '../src/worker-thread.ts';

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

  it('embeds from a later step: a shared prefix plus the tail equals the whole clip (held-out scoring)', async () => {
    const rt = await openRuntime();
    const pre = noise('pink', 2, deriveRng(4, 'pre', 0)).map((v) => v * 0.001);
    const clip = await readWavFile16k(
      new URL('computer/', dev).pathname + readdirSync(new URL('computer/', dev)).sort()[1],
    );
    const padded = new Float32Array(Math.ceil((32000 + clip.length) / 1280) * 1280);
    padded.set(pre.subarray(0, 32000));
    padded.set(clip, 32000);
    const pool = new ExtractPool(2);
    pools.push(pool);
    const [head, tail, whole] = await Promise.all([
      pool.embed(padded.slice(0, 32000)),
      pool.embed(padded, 26),
      rt.embed(padded),
    ]);
    expect(head.length).toBe(25 * EMB_DIM);
    expect(head.length + tail.length).toBe(whole.length);
    let maxDiff = 0;
    [...head, ...tail].forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - (whole[i] as number)));
    });
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
  }, 60_000);

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

describe('stopping an extraction worker', () => {
  it('lets it finish the request in progress, drop the queued ones and end its own thread (exit code 0)', async () => {
    const worker = startTsWorker(new URL('../src/pipeline/extract-worker.ts', import.meta.url));
    const replies: PoolReply[] = [];
    worker.on('message', (m: PoolReply) => replies.push(m));
    const exitCode = new Promise<number>((resolve) => worker.once('exit', resolve));
    const pcm = noise('pink', 20, deriveRng(5, 'stop', 0));
    for (let id = 1; id <= 3; id++) worker.postMessage({ id, type: 'embed', pcm } satisfies PoolRequest);
    const t0 = performance.now();
    await stopWorker(worker);
    // terminate() would have given exit code 1
    expect(await exitCode).toBe(0);
    expect(performance.now() - t0).toBeLessThan(STOP_GRACE_MS);
    expect(replies.length).toBeGreaterThanOrEqual(1);
    expect(replies.length).toBeLessThan(3);
    expect(replies[0]?.id).toBe(1);
    expect(replies[0]?.error).toBeUndefined();
  }, 60_000);
});

describe('a long stream embedded in chunks (negative bank)', () => {
  it('gives the streaming front end’s features, whatever the chunk and push sizes', async () => {
    const rt = await openRuntime();
    // 41 s: speech, music and noise, pushed in uneven pieces
    const speech = await readWavFile16k(
      new URL('computer/', dev).pathname + readdirSync(new URL('computer/', dev)).sort()[0],
    );
    const parts = [
      music(12, deriveRng(3, 'chunk', 0)),
      speech,
      noise('pink', 9, deriveRng(3, 'chunk', 1)),
      speech,
    ];
    const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    const whole = joined.subarray(0, Math.floor(joined.length / 1280) * 1280);
    const ref = await rt.embedLong(whole);
    const pool = new ExtractPool(2);
    try {
      for (const chunkSteps of [37, 100, 1000]) {
        const cs = new ChunkedStream(pool, chunkSteps);
        for (let i = 0; i < whole.length; i += 7777)
          await cs.push(whole.subarray(i, Math.min(whole.length, i + 7777)));
        expect(cs.pendingSamples()).toBe(0);
        const got = (await cs.finish()).flatMap((c) => Array.from(c));
        expect(got.length).toBe(ref.length);
        let maxDiff = 0;
        for (let i = 0; i < got.length; i++)
          maxDiff = Math.max(maxDiff, Math.abs((got[i] as number) - (ref[i] as number)));
        expect(maxDiff).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      await pool.close();
    }
  }, 120_000);
});
