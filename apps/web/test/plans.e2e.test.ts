/**
 * Self-hosted plans in Chromium against the real server (docs/billing.md "Self-hosted plans"): without Stripe the
 * pricing and billing pages offer no checkout, upgrade or portal buttons; and the record page tells a user whose
 * monthly trainings are used up before the first take, with the recording controls off.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildWeb, hasChromium, launch, screenshot, startServer, watchConsole } from './e2e/harness.ts';

if (!hasChromium)
  console.warn('SKIPPED apps/web plans tests: /usr/bin/chromium is absent (apt-get install -y chromium).');

/** The machine is shared: give the pages time to load. */
const SLOW = { timeout: 20_000, interval: 200 };

async function register(url: string, email: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery', name: 'Quota Tester' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function signIn(page: Page, url: string, email: string, next: string) {
  await page.goto(`${url}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(new RegExp(`${next.replace('/', '\\/')}$`));
}

describe.skipIf(!hasChromium)('plans without Stripe, in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    await buildWeb();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows no checkout or upgrade buttons when billing is not configured', async () => {
    const server = await startServer('plans-no-stripe', { VIOLAWAKE_ROLE: 'api' });
    onTestFinished(() => server.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    onTestFinished(() => context.close());
    const page = await context.newPage();
    const log = watchConsole(page);
    const email = `plans-${Date.now()}@example.com`;
    await register(server.url, email);
    await signIn(page, server.url, email, '/pricing');
    await expect.poll(() => page.getByTestId('self-hosted-note').count(), SLOW).toBe(1);
    expect(await page.getByTestId('self-hosted-note').textContent()).toMatch(/does not take payments/);
    // Every plan shows the server's limit (unlimited by default) and none can be chosen or bought.
    await expect.poll(() => page.getByText('Unlimited', { exact: true }).count(), SLOW).toBe(4);
    expect(await page.getByRole('link', { name: /^Choose / }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Contact us' }).count()).toBe(0);
    await screenshot(page, 'pricing-self-hosted');

    await page.goto(`${server.url}/billing`);
    await expect.poll(() => page.getByTestId('self-hosted-note').count(), SLOW).toBe(1);
    await expect.poll(() => page.locator('.stat-value').first().textContent(), SLOW).toBe('0 / unlimited');
    expect(await page.getByRole('button', { name: /^(Start|Switch to) / }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Upgrade' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Manage subscription/ }).count()).toBe(0);
    await screenshot(page, 'billing-self-hosted');
    expect(log.errors).toEqual([]);
  }, 180_000);

  it('tells a user with no trainings left before the first take', async () => {
    // API only (no workers), so the one submitted job stays queued and charged.
    const server = await startServer('plans-quota', {
      VIOLAWAKE_ROLE: 'api',
      VIOLAWAKE_MONTHLY_TRAININGS: 'free=1',
    });
    onTestFinished(() => server.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    onTestFinished(() => context.close());
    const page = await context.newPage();
    const log = watchConsole(page);
    const email = `quota-${Date.now()}@example.com`;
    const token = await register(server.url, email);
    await signIn(page, server.url, email, '/record');
    // One training left: the form is open and says nothing about the quota.
    await page.getByLabel('Wake word or phrase').fill('hey quota');
    await expect
      .poll(() => page.getByRole('button', { name: 'Continue to recording' }).isEnabled())
      .toBe(true);
    expect(await page.getByTestId('quota-message').count()).toBe(0);

    const job = await fetch(`${server.url}/api/jobs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ wake_word: 'hey jarvis', recording_ids: [], text_only: true }),
    });
    expect(job.status).toBe(202);

    await page.goto(`${server.url}/record`);
    await expect.poll(() => page.getByTestId('quota-message').count(), SLOW).toBe(1);
    expect(await page.getByTestId('quota-message').textContent()).toMatch(
      /^You have used all 1 trainings this month\. Ask the administrator of this server to raise the limit/,
    );
    await page.getByLabel('Wake word or phrase').fill('hey quota');
    expect(await page.getByRole('button', { name: 'Continue to recording' }).isDisabled()).toBe(true);
    // The text-only path is closed too, and no take was recorded.
    await page.getByLabel(/From text only/).check();
    expect(await page.getByRole('button', { name: 'Train from text' }).isDisabled()).toBe(true);
    expect(await page.getByRole('list', { name: 'Takes' }).count()).toBe(0);
    await screenshot(page, 'record-quota-used');
    expect(log.errors).toEqual([]);
  }, 180_000);
});
