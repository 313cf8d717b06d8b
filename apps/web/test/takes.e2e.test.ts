/**
 * The record page's per-take rejection and the pronunciation preview, in Chromium against the real server
 * (docs/training.md, "Takes the trainer cannot use" and "Pronunciation"):
 * - a fake microphone playing tone bursts: the browser's own checks pass them, the upload's take checks (the
 *   trainer's) refuse them, and the page shows the reason next to the take, marked "Rejected", not counted;
 * - before a text-only job, "Hear it" plays espeak-ng's rendering, a "sounds like" spelling changes it, a bad one
 *   shows the server's 422 detail, and the job request carries the pronunciation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../src/audio/wav.ts';
import {
  artifactsDir,
  buildWeb,
  hasChromium,
  launch,
  type RunningServer,
  screenshot,
  startServer,
  watchConsole,
} from './e2e/harness.ts';

/** 0.5 s of a 440 Hz tone every 2 s over a −66 dBFS noise floor: loud, long enough, not speech. */
function toneMicFile(): string {
  const rate = 16000;
  const total = new Int16Array(rate * 20);
  let seed = 4242;
  for (let i = 0; i < total.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const t = i % (2 * rate);
    const tone = t >= 0.75 * rate && t < 1.25 * rate ? 9000 * Math.sin((2 * Math.PI * 440 * i) / rate) : 0;
    total[i] = Math.round(tone + (seed / 0x7fffffff - 0.5) * 30);
  }
  const out = path.join(artifactsDir, 'mic-tone-bursts.wav');
  writeFileSync(out, Buffer.from(encodeWav(total, rate)));
  return out;
}

async function register(server: RunningServer, who: string): Promise<string> {
  const res = await fetch(`${server.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      email: `${who}-${Date.now()}@example.com`,
      password: 'a long enough password',
      name: who,
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

describe.skipIf(!hasChromium)(
  'record page: takes the trainer cannot use, and the pronunciation preview',
  () => {
    let server: RunningServer;
    const browsers: Browser[] = [];

    beforeAll(async () => {
      await buildWeb();
      server = await startServer('takes', { VIOLAWAKE_ENGINE_BANK_SCALE: '0.02' }, { keepEngineCache: true });
    }, 300_000);

    afterAll(async () => {
      for (const b of browsers) await b.close();
      await server?.close();
    });

    it('shows the upload’s rejection reason next to the take and does not count it', async () => {
      mkdirSync(artifactsDir, { recursive: true });
      const browser = await launch(toneMicFile());
      browsers.push(browser);
      const token = await register(server, 'tones');
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript((t) => localStorage.setItem('violawake.token', t), token);
      const page = await context.newPage();
      const log = watchConsole(page, [/status of 422/]);
      await page.goto(`${server.url}/record`);
      await page.getByLabel('Wake word or phrase').fill('computer');
      await page.getByRole('button', { name: 'Continue to recording' }).click();
      await page.getByRole('button', { name: 'Turn on microphone' }).click();
      await page.getByRole('button', { name: 'Record take 1' }).click();
      const status = page.getByTestId('take-1').locator('.take-status strong');
      await expect
        .poll(async () => (await status.textContent().catch(() => '')) ?? '', { timeout: 30_000 })
        .toMatch(/^(Rejected|Uploaded|Upload failed)$/);
      await screenshot(page, 'record-take-rejected');
      expect(await status.textContent()).toBe('Rejected');
      const error = await page.getByTestId('take-1-error').textContent();
      expect(error).toMatch(/^This take cannot be used for training: /);
      expect(error).toMatch(/does not sound like speech|No speech|too short/);
      // not counted, and the next take to record is this one again
      expect(await page.locator('.train-bar').textContent()).toContain('0 of 10 takes uploaded');
      expect(await page.getByRole('button', { name: 'Record take 1' }).count()).toBe(1);
      // the server kept nothing
      const list = await fetch(`${server.url}/api/recordings`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(await list.json()).toEqual([]);
      expect(log.errors).toEqual([]);
    }, 120_000);

    it('plays the pronunciation, takes a "sounds like" spelling, shows a bad one’s 422 and sends it with the job', async () => {
      const browser = await launch();
      browsers.push(browser);
      const token = await register(server, 'pron');
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript((t) => localStorage.setItem('violawake.token', t), token);
      const page = await context.newPage();
      const log = watchConsole(page, [/status of 422/]);
      await page.goto(`${server.url}/record`);
      await page.getByLabel('Wake word or phrase').fill('Hey Mycroft');
      await page.getByLabel(/From text only/).check();
      const phonemes = page.getByTestId('pronunciation-phonemes');

      await page.getByRole('button', { name: 'Hear it' }).click();
      await expect.poll(async () => (await phonemes.count()) > 0, { timeout: 20_000 }).toBe(true);
      const spelled = (await phonemes.textContent()) ?? '';
      expect(spelled).toMatch(/^Phonemes: /);
      expect(await page.getByLabel('Pronunciation preview').count()).toBe(1);
      const duration = await page
        .getByLabel('Pronunciation preview')
        .evaluate(
          (a: HTMLAudioElement) =>
            new Promise<number>((resolve) =>
              a.readyState >= 1
                ? resolve(a.duration)
                : a.addEventListener('loadedmetadata', () => resolve(a.duration)),
            ),
        );
      expect(duration).toBeGreaterThan(0.3);
      expect(duration).toBeLessThanOrEqual(3.05);

      await page.getByLabel('Sounds like').fill('hey my croft');
      await page.getByRole('button', { name: 'Hear it' }).click();
      await expect
        .poll(async () => (await phonemes.textContent()) ?? '', { timeout: 20_000 })
        .not.toBe(spelled);
      expect(await phonemes.textContent()).toContain('maI');
      await screenshot(page, 'record-pronunciation');

      await page.getByLabel('Sounds like').fill('my<croft>');
      await page.getByRole('button', { name: 'Hear it' }).click();
      await expect
        .poll(
          async () =>
            (await page
              .getByTestId('pronunciation-error')
              .textContent()
              .catch(() => '')) ?? '',
          {
            timeout: 20_000,
          },
        )
        .toMatch(/only letters/);

      await page.getByLabel('Sounds like').fill('hey my croft');
      const request = page.waitForRequest(
        (r) => r.url().endsWith('/api/training/start') && r.method() === 'POST',
      );
      await page.getByRole('button', { name: 'Train from text' }).click();
      const body = JSON.parse((await request).postData() ?? '{}');
      expect(body).toMatchObject({
        wake_word: 'hey mycroft',
        text_only: true,
        pronunciation: { sounds_like: 'hey my croft' },
      });
      await page.waitForURL(/\/training\/\d+$/);
      await page.getByRole('button', { name: 'Cancel training' }).click();
      await expect
        .poll(() => page.locator('.status').first().textContent(), { timeout: 60_000 })
        .toBe('cancelled');
      expect(log.errors).toEqual([]);
    }, 180_000);

    it('offers the languages the installation can train, previews in one and sends it with the job', async () => {
      const browser = await launch();
      browsers.push(browser);
      const token = await register(server, 'lang');
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript((t) => localStorage.setItem('violawake.token', t), token);
      const page = await context.newPage();
      const log = watchConsole(page, []);
      await page.goto(`${server.url}/record`);
      const select = page.getByLabel('Language');
      await expect
        .poll(async () => (await select.locator('option').count()) > 1, { timeout: 20_000 })
        .toBe(true);
      const offered = await select
        .locator('option')
        .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      const listed = (await (await fetch(`${server.url}/api/languages`)).json()) as {
        languages: Array<{ code: string; trainable: boolean }>;
      };
      expect(offered).toEqual(listed.languages.filter((l) => l.trainable).map((l) => l.code));
      expect(offered).toEqual(expect.arrayContaining(['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'ru']));
      await page.getByLabel('Wake word or phrase').fill('Hallo Viola');
      await select.selectOption('de');
      await page.getByLabel(/From text only/).check();
      await page.getByRole('button', { name: 'Hear it' }).click();
      const phonemes = page.getByTestId('pronunciation-phonemes');
      await expect
        .poll(async () => (await phonemes.textContent().catch(() => '')) ?? '', { timeout: 20_000 })
        .toMatch(/h'alo/);
      await screenshot(page, 'record-language');
      const request = page.waitForRequest(
        (r) => r.url().endsWith('/api/training/start') && r.method() === 'POST',
      );
      await page.getByRole('button', { name: 'Train from text' }).click();
      expect(JSON.parse((await request).postData() ?? '{}')).toMatchObject({
        wake_word: 'hallo viola',
        text_only: true,
        language: 'de',
      });
      await page.waitForURL(/\/training\/\d+$/);
      await page.getByRole('button', { name: 'Cancel training' }).click();
      await expect
        .poll(() => page.locator('.status').first().textContent(), { timeout: 60_000 })
        .toBe('cancelled');
      expect(log.errors).toEqual([]);
    }, 180_000);
  },
);
