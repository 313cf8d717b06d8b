/**
 * The model page's "Use it" tabs in Chromium against the real server, for a trained model (the small "computer" MLP
 * head of packages/detector/test/fixtures/computer-model, stored as the training worker stores a model): every tab
 * shows the shared generator's snippet for the model's one name (the user's second "computer" model, so
 * "computer-v2"), Home Assistant names the .tflite in /share/openwakeword, and the Node tab's text, copied from the
 * page, runs as pasted with plain node against the packed @violawake/detector (installed offline into an empty
 * project): one detection on a real "computer" recording. The browser snippet is the generator's, which
 * packages/detector/test/package.test.ts bundles with Vite and runs in Chromium.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type SnippetModel, usageSnippets } from '@violawake/engine/artifacts/snippets';
import { tfliteFromOnnx } from '@violawake/engine/tflite/index';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installProject, packDetector } from '../../../packages/detector/test/helpers/pack.ts';
import { decodeWav } from '../src/audio/wav.ts';
import {
  buildWeb,
  dataDir,
  hasChromium,
  launch,
  type RunningServer,
  repoRoot,
  startServer,
  watchConsole,
} from './e2e/harness.ts';

const fixture = path.join(repoRoot, 'packages/detector/test/fixtures/computer-model');
const onnx = readFileSync(path.join(fixture, 'computer.onnx'));
const manifest = JSON.parse(readFileSync(path.join(fixture, 'computer.json'), 'utf8'));
const TOKEN_KEY = 'violawake.token';

describe.skipIf(!hasChromium)('model page: the "Use it" snippets', () => {
  let server: RunningServer;
  let browser: Browser;
  let token = '';
  let userId = 0;
  const ids: number[] = [];
  let work = '';

  /** A trained model as the worker stores it: ONNX, TFLite and manifest objects, and the row. */
  async function storeModel(db: pg.Client, ageDays: number): Promise<number> {
    const tflite = tfliteFromOnnx(onnx);
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const r = await db.query<{ id: string }>(
      `INSERT INTO trained_models (user_id, wake_word, storage_key, manifest_key, size_bytes, threshold, d_prime, eer, auc,
         miss_rate_at_target, target_fa_per_hour, quality_grade, metrics, config_json, created_at)
       VALUES ($1, 'computer', 'tmp-' || gen_random_uuid(), 'tmpj-' || gen_random_uuid(), $2, $3, $4, $5, $6, $7, $8,
         $9, $10::jsonb, $11::jsonb, now() - make_interval(days => $12)) RETURNING id`,
      [
        userId,
        onnx.length,
        manifest.threshold,
        manifest.metrics.d_prime,
        manifest.metrics.eer,
        manifest.metrics.auc,
        manifest.metrics.miss_rate_at_target,
        manifest.metrics.target_fa_per_hour,
        manifest.metrics.quality_grade,
        JSON.stringify({ tflite: { sha256: sha(tflite), size_bytes: tflite.length } }),
        JSON.stringify({ ...manifest, metrics: undefined }),
        ageDays,
      ],
    );
    const id = Number(r.rows[0]!.id);
    const dir = path.join(server.storageDir, 'models', String(userId));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${id}.onnx`), onnx);
    writeFileSync(path.join(dir, `${id}.tflite`), tflite);
    writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ ...manifest, model_id: id }));
    await db.query('UPDATE trained_models SET storage_key = $1, manifest_key = $2 WHERE id = $3', [
      `models/${userId}/${id}.onnx`,
      `models/${userId}/${id}.json`,
      id,
    ]);
    return id;
  }

  beforeAll(async () => {
    await buildWeb();
    server = await startServer('model-page');
    const res = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: 'Snippet Tester',
        email: `snippets-${Date.now()}@example.com`,
        password: 'a long enough password',
      }),
    });
    expect(res.status).toBe(201);
    const auth = (await res.json()) as { token: string; user: { id: number } };
    token = auth.token;
    userId = auth.user.id;
    const db = new pg.Client({ connectionString: server.dbUrl });
    await db.connect();
    try {
      ids.push(await storeModel(db, 2), await storeModel(db, 1));
    } finally {
      await db.end();
    }
    browser = await launch();
    work = mkdtempSync(path.join(tmpdir(), 'vw-model-page-'));
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('shows the generated snippets for the model name, and the Node tab runs as pasted', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(([key, value]) => localStorage.setItem(key, value), [
      TOKEN_KEY,
      token,
    ] as const);
    const page = await context.newPage();
    const log = watchConsole(page);
    await page.goto(`${server.url}/models/${ids[1]}`);
    await page.getByRole('heading', { name: 'Use it' }).waitFor();
    const model: SnippetModel = {
      name: 'computer-v2',
      wakeWord: 'computer',
      threshold: manifest.threshold,
      tflite: true,
    };
    const shown: Record<string, string> = {};
    for (const s of usageSnippets(model)) {
      await page.getByRole('tab', { name: s.label }).click();
      shown[s.id] = (await page.getByTestId('snippet').textContent()) ?? '';
      expect(shown[s.id], s.id).toBe(s.code);
    }
    expect(shown['home-assistant']).toContain('computer-v2.tflite');
    expect(shown['home-assistant']).toContain('/share/openwakeword');
    expect(shown['python-tflite']).toContain(
      'wakeword_models=["computer-v2.tflite"], inference_framework="tflite"',
    );
    expect(log.errors).toEqual([]);
    await context.close();

    // the Node tab, as copied from the page, with the model's downloads under their names
    const project = installProject(packDetector(work), ['onnxruntime-node']);
    try {
      for (const format of ['onnx', 'json']) {
        const dl = await fetch(`${server.url}/api/models/${ids[1]}/download?format=${format}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        expect(dl.headers.get('content-disposition')).toBe(`attachment; filename="computer-v2.${format}"`);
        writeFileSync(path.join(project.dir, `computer-v2.${format}`), Buffer.from(await dl.arrayBuffer()));
      }
      writeFileSync(path.join(project.dir, 'detect.mjs'), shown.node);
      const clip = decodeWav(
        readFileSync(path.join(dataDir, 'computer', '40b31a38-11b7-44dd-89bf-b035b45a9e3c.wav')),
      );
      const pcm = new Int16Array(clip.samples.length + 32_000);
      pcm.set(clip.samples, 16_000);
      for (let i = 0; i < pcm.length; i++)
        if (i < 16_000 || i >= 16_000 + clip.samples.length) pcm[i] = ((i * 7919) % 9) - 4;
      const r = spawnSync(process.execPath, ['detect.mjs'], {
        cwd: project.dir,
        input: Buffer.from(pcm.buffer),
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^computer-v2 at \d+\.\d\d s \(score \d\.\d\d\)$/);
    } finally {
      rmSync(project.dir, { recursive: true, force: true });
    }
  }, 600_000);
});
