/**
 * The Recordings page in Chromium against the real server (`violawake serve`, real PostgreSQL): kept takes listed
 * per wake word, played, deleted; a new model trained from ticked kept takes; retraining from a take deleted
 * behind the page's back is a clear error that creates no job and keeps the other takes. The takes are real speech
 * (espeak-ng) uploaded through the API; the training pipeline is the server's controllable fixture, so this tests
 * the page and the API, not the engine (docs/training.md, "Kept takes").
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildWeb,
  hasChromium,
  launch,
  type RunningServer,
  repoRoot,
  screenshot,
  startServer,
  watchConsole,
} from './e2e/harness.ts';

/** Page loads share two cores with the server and other suites: a generous poll (vitest's default is 1 s). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

if (!hasChromium) console.warn('SKIPPED recordings page test: /usr/bin/chromium is absent.');

describe.skipIf(!hasChromium)('recordings page in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    await buildWeb();
    server = await startServer('recordings', {
      VIOLAWAKE_TRAINING_PIPELINE_MODULE: path.join(repoRoot, 'apps/server/test/fixtures/fake-pipeline.ts'),
      FAKE_PIPELINE_MS: '300',
    });
    browser = await launch();
    dir = mkdtempSync(path.join(tmpdir(), 'vw-web-takes-'));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  function speak(word: string): Buffer {
    n++;
    const f = path.join(dir, `take${n}.wav`);
    execFileSync('espeak-ng', [
      '-s',
      String(120 + 9 * (n % 7)),
      '-p',
      String(35 + 5 * (n % 8)),
      '-w',
      f,
      word,
    ]);
    return readFileSync(f);
  }

  async function register(name: string): Promise<string> {
    const res = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        email: `${name}-${Date.now()}@example.com`,
        password: 'recordings test password',
        name,
      }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { token: string }).token;
  }

  async function call(token: string, method: string, route: string): Promise<{ status: number; body: any }> {
    const res = await fetch(server.url + route, { method, headers: { Authorization: `Bearer ${token}` } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function upload(token: string, word: string): Promise<number> {
    const form = new FormData();
    form.append('wake_word', word);
    form.append('file', new Blob([new Uint8Array(speak(word))], { type: 'audio/wav' }), 'take.wav');
    const res = await fetch(`${server.url}/api/recordings/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: form,
    });
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body.recording_id;
  }

  it('lists, plays and deletes kept takes per wake word and trains a new model from them', async () => {
    const token = await register('Rita');
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(await upload(token, 'hey nova'));
    await upload(token, 'ok viola');

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript((t) => localStorage.setItem('violawake.token', t), token);
    const page = await context.newPage();
    // The deliberate 404 (training from a deleted take) is logged by Chromium as a failed resource load.
    const log = watchConsole(page, [/status of 404/]);
    await page.goto(`${server.url}/recordings`);
    await poll(() => page.locator('h1').first().textContent()).toBe('Recordings');
    const nova = page.getByRole('region', { name: 'hey nova' });
    const viola = page.getByRole('region', { name: 'ok viola' });
    await poll(() => nova.getByTestId('take-row').count()).toBe(6);
    expect(await viola.getByTestId('take-row').count()).toBe(1);
    expect(await viola.getByRole('button', { name: /Train a new model/ }).isDisabled()).toBe(true);
    await screenshot(page, 'recordings');

    // Play take 1: the stored WAV (fetched with the bearer header) loads into an audio element.
    await nova.getByRole('button', { name: 'Play take 1' }).click();
    const audio = nova.getByLabel('Take 1 audio');
    await poll(() =>
      audio.evaluate((el: HTMLAudioElement) => (Number.isFinite(el.duration) ? el.duration : 0)),
    ).toBeGreaterThan(0.3);

    // Delete take 6 through the page (after the confirmation).
    page.once('dialog', (d) => void d.accept());
    await nova.getByRole('button', { name: 'Delete take 6' }).click();
    await poll(() => nova.getByTestId('take-row').count()).toBe(5);
    expect((await call(token, 'GET', '/api/recordings?wake_word=hey%20nova')).body).toHaveLength(5);
    expect((await call(token, 'GET', `/api/recordings/${ids[5]}/audio`)).status).toBe(404);

    // Take 5 is deleted elsewhere while the page still shows it ticked: training answers a clear error, no job
    // is created, and the page drops the gone take and keeps the other four.
    expect((await call(token, 'DELETE', `/api/recordings/${ids[4]}`)).status).toBe(204);
    await nova.getByRole('button', { name: 'Train a new model from 5 takes' }).click();
    await poll(async () => (await nova.getByRole('alert').textContent()) ?? '').toBe(
      `Recordings not found: ${ids[4]}`,
    );
    await poll(() => nova.getByTestId('take-row').count()).toBe(4);
    expect(await nova.getByRole('button', { name: 'Train a new model from 4 takes' }).isDisabled()).toBe(
      true,
    );
    expect((await call(token, 'GET', '/api/jobs')).body).toEqual([]);

    // One more take, then train from the five kept takes, with take 1 unticked and ticked again.
    ids.push(await upload(token, 'hey nova'));
    await page.reload();
    await poll(() => nova.getByTestId('take-row').count()).toBe(5);
    await nova.getByLabel('Use take 1').uncheck();
    expect(await nova.getByRole('button', { name: 'Train a new model from 4 takes' }).isDisabled()).toBe(
      true,
    );
    await nova.getByLabel('Use take 1').check();
    await nova.getByRole('button', { name: 'Train a new model from 5 takes' }).click();
    await page.waitForURL(/\/training\/\d+$/);
    const jobId = Number(new URL(page.url()).pathname.split('/').pop());
    const end = Date.now() + 60_000;
    let job = (await call(token, 'GET', `/api/jobs/${jobId}`)).body;
    while (!['completed', 'failed', 'cancelled'].includes(job.status) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 300));
      job = (await call(token, 'GET', `/api/jobs/${jobId}`)).body;
    }
    expect(job.status).toBe('completed');
    const stored = await call(token, 'GET', '/api/recordings?wake_word=hey%20nova');
    expect(stored.body.map((r: any) => r.id).sort()).toEqual([ids[0], ids[1], ids[2], ids[3], ids[6]].sort());

    // After training the takes are still on the page, ready for another model.
    await page.goto(`${server.url}/recordings`);
    await poll(() => nova.getByTestId('take-row').count()).toBe(5);
    expect(await nova.getByRole('button', { name: 'Train a new model from 5 takes' }).isEnabled()).toBe(true);
    await screenshot(page, 'recordings-after-training');
    expect(log.errors).toEqual([]);
    await context.close();

    // Another account sees none of them.
    const other = await register('Otto');
    const ctx2 = await browser.newContext();
    await ctx2.addInitScript((t) => localStorage.setItem('violawake.token', t), other);
    const page2 = await ctx2.newPage();
    await page2.goto(`${server.url}/recordings`);
    await poll(() => page2.getByText('No recordings yet.').count()).toBe(1);
    expect((await call(other, 'DELETE', `/api/recordings/${ids[0]}`)).status).toBe(404);
    await ctx2.close();
  }, 240_000);
});
