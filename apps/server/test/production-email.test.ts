/**
 * Issue 26 F7: production without email settings used the log provider with auto-verify, silently. Now it refuses
 * to start and says what to set; the log provider in production is an explicit choice
 * (`VIOLAWAKE_EMAIL_PROVIDER=log`) and verifies nobody automatically unless `VIOLAWAKE_EMAIL_AUTO_VERIFY=true`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/core/config.ts';
import { users } from '../src/core/db/schema.ts';
import { startTestServer } from './helpers/app.ts';
import { SERVER_BIN } from './helpers/repo.ts';

const STRONG = 'Zq8vN2pX5rT9wK3mB7cF1hJ4gL6dS0aY-production';
const PROD = { VIOLAWAKE_ENV: 'production', VIOLAWAKE_SECRET_KEY: STRONG };
const tmp = () => mkdtempSync(path.join(tmpdir(), 'vw-prod-email-'));

describe('production email settings', () => {
  it('refuses to load without a provider, naming what to set', () => {
    let err: unknown;
    try {
      loadConfig({ ...PROD }, tmp());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/VIOLAWAKE_ENV=production needs an email provider/);
    expect((err as Error).message).toMatch(
      /VIOLAWAKE_SMTP_URL.*VIOLAWAKE_RESEND_API_KEY.*VIOLAWAKE_EMAIL_PROVIDER=log/,
    );
  });

  it('a real provider: no auto-verify; the explicit log provider: no auto-verify unless asked, with a warning', () => {
    const smtp = loadConfig({ ...PROD, VIOLAWAKE_SMTP_URL: 'smtp://mail.example.com:587' }, tmp());
    expect(smtp).toMatchObject({ emailProvider: 'smtp', emailAutoVerify: false });
    const resend = loadConfig({ ...PROD, VIOLAWAKE_RESEND_API_KEY: 're_0123456789abcdef' }, tmp());
    expect(resend).toMatchObject({ emailProvider: 'resend', emailAutoVerify: false });
    const log = loadConfig({ ...PROD, VIOLAWAKE_EMAIL_PROVIDER: 'log' }, tmp());
    expect(log).toMatchObject({ emailProvider: 'log', emailAutoVerify: false });
    expect(log.warnings.join('\n')).toMatch(/emails are only logged.*stay unverified/);
    const auto = loadConfig(
      { ...PROD, VIOLAWAKE_EMAIL_PROVIDER: 'log', VIOLAWAKE_EMAIL_AUTO_VERIFY: 'true' },
      tmp(),
    );
    expect(auto).toMatchObject({ emailProvider: 'log', emailAutoVerify: true });
    expect(auto.warnings.join('\n')).toMatch(/every new account is verified without proof/);
    // development is unchanged: the log provider verifies automatically
    expect(loadConfig({}, tmp())).toMatchObject({ emailProvider: 'log', emailAutoVerify: true });
  });

  it('violawake serve exits 2 with the message instead of starting', () => {
    const dir = tmp();
    try {
      const r = spawnSync(process.execPath, [SERVER_BIN, 'serve'], {
        cwd: dir,
        env: { PATH: process.env.PATH, ...PROD, VIOLAWAKE_DATA_DIR: dir, VIOLAWAKE_PORT: '0' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('Configuration error: VIOLAWAKE_ENV=production needs an email provider');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('with the explicit log provider in production a new account stays unverified', async () => {
    const server = await startTestServer({
      workers: false,
      env: { ...PROD, VIOLAWAKE_EMAIL_PROVIDER: 'log' },
    });
    try {
      const email = `prod-${randomBytes(4).toString('hex')}@example.com`;
      const res = await fetch(`${server.url}/api/auth/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: 'correct horse battery staple 9', name: 'Prod' }),
      });
      expect(res.status).toBe(201);
      const [row] = await server.ctx.db.select().from(users).where(eq(users.email, email));
      expect(row?.emailVerified).toBe(false);
    } finally {
      await server.close();
    }
  }, 60_000);
});
