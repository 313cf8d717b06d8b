/**
 * The whole path on real PostgreSQL with the real engine: register → upload 10 real "computer" clips → start →
 * SSE shows the stages and completes → download the ONNX → the project's detector fires on held-out "computer"
 * clips and not on "snowboy" clips. The engine runs with reduced data volumes (VIOLAWAKE_ENGINE_*_SCALE) to keep CI
 * fast; the benchmark measures the full-size pipeline.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createNodeDetector } from '@violawake/detector/node';
import { readWav } from '@violawake/engine';
import { tfliteFromOnnx } from '@violawake/engine/tflite/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { SHARED_DATA } from './helpers/repo.ts';
import { createUser, type TestUser } from './helpers/users.ts';

const COMPUTER = path.join(SHARED_DATA, 'computer');
const SNOWBOY = path.join(SHARED_DATA, 'snowboy');
const files = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort();

async function readSse(res: Response, onEvent: (e: any) => void): Promise<void> {
  const reader = res.body!.getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += new TextDecoder().decode(value);
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (data) onEvent(JSON.parse(data.slice(6)));
    }
  }
}

async function countDetections(model: Uint8Array, threshold: number, clips: string[]): Promise<number> {
  const detector = await createNodeDetector({ heads: [{ name: 'w', model, threshold }] } as never);
  let fired = 0;
  try {
    for (const file of clips) {
      detector.reset();
      const wav = readWav(new Uint8Array(readFileSync(file)));
      // Two seconds of quiet lead-in so the front end is warm when the word arrives (docs/engine.md §6.8).
      const lead = new Float32Array(2 * wav.sampleRate);
      const tail = new Float32Array(wav.sampleRate);
      const pcm = new Float32Array(lead.length + wav.samples.length + tail.length);
      pcm.set(wav.samples, lead.length);
      const out = await (detector as any).push(pcm);
      if (out.detections.length > 0) fired++;
    }
  } finally {
    await detector.dispose();
  }
  return fired;
}

describe('training end to end with the real engine', () => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startTestServer({
      env: { VIOLAWAKE_ENGINE_BANK_SCALE: '0.02', VIOLAWAKE_ENGINE_SYNTH_SCALE: '0.25' },
    });
    user = await createUser(server, { verified: true });
  });
  afterAll(() => server?.close());

  it('trains "computer" from 10 uploaded clips and the downloaded model detects held-out clips', {
    timeout: 600_000,
  }, async () => {
    const clips = files(COMPUTER);
    const ids: number[] = [];
    for (const f of clips.slice(0, 10)) {
      const form = new FormData();
      form.append('wake_word', 'Computer');
      form.append('file', new Blob([readFileSync(path.join(COMPUTER, f))], { type: 'audio/wav' }), f);
      const res = await fetch(`${server.url}/api/recordings/upload`, {
        method: 'POST',
        headers: user.headers,
        body: form,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as any;
      expect(body.wake_word).toBe('computer');
      ids.push(body.recording_id);
    }
    const start = await fetch(`${server.url}/api/training/start`, {
      method: 'POST',
      headers: { ...user.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ wake_word: 'computer', recording_ids: ids }),
    });
    expect(start.status).toBe(202);
    const { job_id } = (await start.json()) as any;

    const mint = await fetch(`${server.url}/api/auth/download-token`, {
      method: 'POST',
      headers: { ...user.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'training_stream', resource_id: job_id }),
    });
    const { token } = (await mint.json()) as any;
    const stream = await fetch(`${server.url}/api/training/stream/${job_id}?token=${token}`);
    expect(stream.status).toBe(200);
    const events: any[] = [];
    await readSse(stream, (e) => events.push(e));
    const stages = [...new Set(events.map((e) => e.stage))];
    const final = events[events.length - 1];
    expect(final.status, JSON.stringify(final)).toBe('completed');
    expect(stages).toEqual(
      expect.arrayContaining(['preparing', 'synthesizing', 'extracting', 'training', 'evaluating', 'done']),
    );
    expect(final.d_prime).toBeGreaterThan(1);
    expect(['A', 'B', 'C', 'D']).toContain(final.quality_grade);

    const cfg = (await (
      await fetch(`${server.url}/api/models/${final.model_id}/config`, { headers: user.headers })
    ).json()) as any;
    expect(cfg.training_config.input).toEqual({
      name: 'embeddings',
      shape: ['batch', 16, 96],
      dtype: 'float32',
    });
    const dl = await fetch(`${server.url}/api/models/${final.model_id}/download?format=onnx`, {
      headers: user.headers,
    });
    expect(dl.status).toBe(200);
    const model = new Uint8Array(await dl.arrayBuffer());
    expect(model.byteLength).toBeLessThan(500 * 1024);
    // the worker stored the TFLite export of the same head; the manifest carries its SHA-256
    const tfl = await fetch(`${server.url}/api/models/${final.model_id}/download?format=tflite`, {
      headers: user.headers,
    });
    expect(tfl.status).toBe(200);
    const tflite = new Uint8Array(await tfl.arrayBuffer());
    const tfliteSha = createHash('sha256').update(tflite).digest('hex');
    expect(cfg.training_config.tflite_sha256).toBe(tfliteSha);
    expect(createHash('sha256').update(tfliteFromOnnx(model)).digest('hex')).toBe(tfliteSha);

    const heldOut = clips.slice(10, 30).map((f) => path.join(COMPUTER, f));
    const others = files(SNOWBOY)
      .slice(0, 20)
      .map((f) => path.join(SNOWBOY, f));
    const hits = await countDetections(model, cfg.threshold, heldOut);
    const falseHits = await countDetections(model, cfg.threshold, others);
    expect(hits).toBeGreaterThanOrEqual(14); // ≥ 70 % of held-out clips at the calibrated threshold
    expect(falseHits).toBeLessThanOrEqual(2);
    // The takes are kept after training (docs/training.md, "Kept takes"): all ten are still listed, numbered as uploaded.
    const left = (await (
      await fetch(`${server.url}/api/recordings`, { headers: user.headers })
    ).json()) as any[];
    expect(left).toHaveLength(10);
    expect(new Set(left.map((r) => r.id))).toEqual(new Set(ids));
  });
});
