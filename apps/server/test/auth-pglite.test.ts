/**
 * The account flows on the embedded database (PGlite): registration with the log provider's saved verification
 * email, verification, login, API keys, logout, lockout, download tokens and account deletion.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeDownloadToken } from '../src/auth/tokens.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser } from './helpers/users.ts';

let server: TestServer;

async function call(method: string, p: string, opts: { body?: unknown; token?: string; ip?: string } = {}) {
  const headers: Record<string, string> = { 'X-Forwarded-For': opts.ip ?? '192.0.2.1' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${server.url}${p}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : null, headers: res.headers };
}

async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  server = await startTestServer({
    driver: 'pglite',
    env: { VIOLAWAKE_EMAIL_AUTO_VERIFY: 'false', VIOLAWAKE_TRUSTED_PROXY_COUNT: '1' },
  });
});
afterAll(async () => {
  await server?.close();
});

describe('accounts on PGlite', () => {
  it('registers, verifies through the saved email, signs in and out, uses an API key and a download token', async () => {
    const reg = await call('POST', '/api/auth/register', {
      body: { email: 'Embedded@Example.com', password: 'embedded pw', name: 'Em' },
    });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({ email: 'embedded@example.com', email_verified: false });
    const dir = path.join(server.dataDir, 'mail');
    const file = await waitFor(
      () => existsSync(dir) && readdirSync(dir).find((f) => f.endsWith('-verify_email.txt')),
    );
    const text = readFileSync(path.join(dir, file), 'utf8');
    expect(text).toContain('To: embedded@example.com');
    const token = /verify-email\?token=([A-Za-z0-9._-]+)/.exec(text)![1]!;
    expect((await call('POST', '/api/auth/verify-email', { body: { token } })).status).toBe(200);
    expect((await call('GET', '/api/auth/me', { token: reg.body.token })).body.email_verified).toBe(true);

    const login = await call('POST', '/api/auth/login', {
      body: { email: 'embedded@example.com', password: 'embedded pw' },
    });
    expect(login.status).toBe(200);
    const key = await call('POST', '/api/auth/api-keys', {
      token: login.body.token,
      body: { name: 'pglite' },
    });
    expect(key.status).toBe(201);
    expect((await call('GET', '/api/auth/me', { token: key.body.key })).status).toBe(200);
    expect((await call('POST', '/api/auth/logout', { token: login.body.token })).status).toBe(200);
    expect((await call('GET', '/api/auth/me', { token: login.body.token })).status).toBe(401);
    expect((await call('GET', '/api/auth/me', { token: reg.body.token })).status).toBe(200);

    const [m] = (
      await server.ctx.database.query<{ id: number }>(
        `INSERT INTO trained_models (user_id, wake_word, storage_key, manifest_key, size_bytes) VALUES ($1, 'w', 'models/x/1.onnx', 'models/x/1.json', 1) RETURNING id`,
        [reg.body.user.id],
      )
    ).rows;
    const dl = await call('POST', '/api/auth/download-token', {
      token: key.body.key,
      body: { action: 'model_download', resource_id: m!.id },
    });
    expect(dl.status).toBe(200);
    expect(await consumeDownloadToken(server.ctx, dl.body.token, 'model_download', m!.id)).toBe(
      reg.body.user.id,
    );
    await expect(
      consumeDownloadToken(server.ctx, dl.body.token, 'model_download', m!.id),
    ).rejects.toMatchObject({ statusCode: 401 });

    expect((await call('DELETE', '/api/auth/account', { token: reg.body.token })).status).toBe(200);
    expect((await call('GET', '/api/auth/me', { token: key.body.key })).status).toBe(401);
    const left = await server.ctx.database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM trained_models',
    );
    expect(left.rows[0]!.n).toBe(0);
  });

  it('locks an account after five failures', async () => {
    const u = await createUser(server, { password: 'pglite lock' });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push(
        (
          await call('POST', '/api/auth/login', {
            body: { email: u.email, password: 'wrong one!' },
            ip: `192.0.2.${10 + i}`,
          })
        ).status,
      );
    expect(codes).toEqual([401, 401, 401, 401, 423]);
  });
});
