/**
 * Accounts and authentication (docs/api.md §1.2, §2.2, §2.3, §4.1, §4.2, §4.15) against a real server on PostgreSQL.
 * The server trusts one proxy, so each test sends its own X-Forwarded-For address and the per-IP limits of one test
 * do not leak into the next; the clock is a ManualClock (lockout, expiry).
 */
import { createHash, randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireVerified, userForDownload, VERIFY_REQUIRED } from '../src/auth/guard.ts';
import { API_KEY_LIMIT } from '../src/auth/service.ts';
import { consumeDownloadToken, mintDownloadToken, signJwt } from '../src/auth/tokens.ts';
import { ManualClock } from '../src/core/clock.ts';
import { installErrorHandlers } from '../src/core/http/errors.ts';
import { getStorage } from '../src/core/storage/index.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser } from './helpers/users.ts';

let server: TestServer;
const clock = new ManualClock(new Date());
let ipCounter = 0;
/** A fresh client address for a test (the server trusts one proxy). */
const freshIp = () => `198.51.100.${++ipCounter}`;

interface Res {
  status: number;
  body: any;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string>; ip?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = { 'X-Forwarded-For': opts.ip ?? '203.0.113.250', ...opts.headers };
  if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

async function q<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await server.ctx.database.query<T>(text, params)).rows;
}

/** The newest outbox payload token of a template for a user (workers are off in this suite, so it is still there). */
async function outboxToken(userId: number, template: string): Promise<string> {
  const rows = await q<{ payload: { token: string } }>(
    'SELECT payload FROM email_outbox WHERE user_id = $1 AND template = $2 ORDER BY id DESC LIMIT 1',
    [userId, template],
  );
  expect(rows[0]?.payload.token).toBeTypeOf('string');
  return rows[0]!.payload.token;
}

async function register(email: string, password = 'correct horse battery', name = 'Ada') {
  return call('POST', '/api/auth/register', { body: { email, password, name }, ip: freshIp() });
}

const INVALID = { detail: 'Invalid or expired token' };
const NOT_AUTH = { detail: 'Not authenticated' };

beforeAll(async () => {
  server = await startTestServer({
    driver: 'postgres',
    clock,
    workers: false,
    env: { VIOLAWAKE_TRUSTED_PROXY_COUNT: '1', VIOLAWAKE_EMAIL_AUTO_VERIFY: 'false' },
  });
});
afterAll(async () => {
  await server?.close();
});

describe('register', () => {
  it('creates an unverified account (201), normalizes the email and queues one verification email', async () => {
    const res = await register('  Grace.Hopper@Example.COM ', 'correct horse battery', '  Grace  ');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      token_type: 'bearer',
      user: { email: 'grace.hopper@example.com', name: 'Grace', email_verified: false },
    });
    expect(res.body.token.split('.')).toHaveLength(3);
    const expires = Date.parse(res.body.expires_at);
    expect(expires - clock.now().getTime()).toBeGreaterThan(2 * 3600_000 - 5000);
    expect(expires - clock.now().getTime()).toBeLessThanOrEqual(2 * 3600_000 + 1000);
    expect(res.body.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const [row] = await q<{ password_hash: string; email_verified: boolean }>(
      'SELECT password_hash, email_verified FROM users WHERE id = $1',
      [res.body.user.id],
    );
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row!.email_verified).toBe(false);
    const mails = await q('SELECT template, to_address FROM email_outbox WHERE user_id = $1', [
      res.body.user.id,
    ]);
    expect(mails).toEqual([{ template: 'verify_email', to_address: 'grace.hopper@example.com' }]);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('answers 409 for an address that exists in any letter case', async () => {
    expect((await register('dup@example.com')).status).toBe(201);
    const again = await register('DUP@example.com ');
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ detail: 'Email already registered' });
  });

  it('validates email, password and name with 422 items', async () => {
    const bad = await register('not-an-email');
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]).toMatchObject({
      loc: ['body', 'email'],
      msg: 'value is not a valid email address',
      type: 'value_error',
    });
    const short = await register('short@example.com', 'seven77');
    expect(short.status).toBe(422);
    expect(short.body.detail[0]).toMatchObject({ loc: ['body', 'password'], type: 'string_too_short' });
    const long = await register('long@example.com', 'x'.repeat(129));
    expect(long.body.detail[0]).toMatchObject({ loc: ['body', 'password'], type: 'string_too_long' });
    expect((await register('blank@example.com', 'correct horse', '   ')).body.detail[0]).toMatchObject({
      loc: ['body', 'name'],
      type: 'string_too_short',
    });
    expect((await register('ctl@example.com', 'correct horse', 'a\u0007b')).status).toBe(422);
    const missing = await call('POST', '/api/auth/register', {
      body: { email: 'm@example.com' },
      ip: freshIp(),
    });
    expect(missing.body.detail).toContainEqual({
      loc: ['body', 'password'],
      msg: 'Field required',
      type: 'missing',
    });
    expect((await register(`${'a'.repeat(250)}@example.com`)).status).toBe(422);
  });
});

describe('login and tokens', () => {
  it('signs in (200) with a case-insensitive email and answers 401 for a wrong password or unknown email', async () => {
    await register('login@example.com', 'the right password');
    const ok = await call('POST', '/api/auth/login', {
      body: { email: 'LOGIN@example.com', password: 'the right password' },
      ip: freshIp(),
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      token_type: 'bearer',
      user: { email: 'login@example.com', email_verified: false },
    });
    const wrong = await call('POST', '/api/auth/login', {
      body: { email: 'login@example.com', password: 'the wrong password' },
      ip: freshIp(),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ detail: 'Invalid email or password' });
    const unknown = await call('POST', '/api/auth/login', {
      body: { email: 'nobody@example.com', password: 'the right password' },
      ip: freshIp(),
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ detail: 'Invalid email or password' });
    expect(
      (await call('POST', '/api/auth/login', { body: { email: 'login@example.com' }, ip: freshIp() })).status,
    ).toBe(422);
  });

  it('access tokens carry typ, jti, ver, sub, iat and a 2 h exp', async () => {
    const u = await createUser(server);
    const [, payload] = u.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: String(u.id), typ: 'access', ver: 0 });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.exp - claims.iat).toBe(7200);
  });

  it('GET /me returns UserOut; missing or unusable credentials are 401 with WWW-Authenticate', async () => {
    const u = await createUser(server, { email: 'Me@Example.com', name: 'Me' });
    const me = await call('GET', '/api/auth/me', { token: u.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: u.id,
      email: 'me@example.com',
      name: 'Me',
      email_verified: true,
      created_at: expect.stringMatching(/Z$/),
    });

    const variants: Record<string, string>[] = [
      {},
      { Authorization: 'Basic abc' },
      { Authorization: 'Bearer ' },
      { Authorization: 'Bearer' },
    ];
    for (const headers of variants) {
      const r = await call('GET', '/api/auth/me', { headers });
      expect(r.status).toBe(401);
      expect(r.body).toEqual(NOT_AUTH);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    const key = new TextEncoder().encode('test-secret-key-for-the-test-suite-0123456789');
    const now = Math.floor(clock.now().getTime() / 1000);
    const base = { sub: String(u.id), ver: 0, jti: '6f1c1f5e-8b7e-4c55-9a0e-0b6a2b1f7c11' };
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ ...base, typ: 'access', iat: now, exp: now + 600 }),
    ).toString('base64url')}.`;
    const otherKey = await new SignJWT({ ...base, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode('another-secret-key-another-secret-key-xx'));
    const hs512 = await new SignJWT({ ...base, typ: 'access' })
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(key);
    const noTyp = await new SignJWT({ ...base })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .setSubject(String(u.id))
      .sign(key);
    const staleVer = await new SignJWT({ ...base, typ: 'access', ver: 7 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(String(u.id))
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .setJti(base.jti)
      .sign(key);
    const ghost = await new SignJWT({ ...base, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('987654321')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .setJti(base.jti)
      .sign(key);
    for (const token of [
      'garbage',
      'a.b.c',
      unsigned,
      otherKey,
      hs512,
      noTyp,
      staleVer,
      ghost,
      'vw_notarealkey',
    ]) {
      const r = await call('GET', '/api/auth/me', { token });
      expect(r.status, token).toBe(401);
      expect(r.body).toEqual(INVALID);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('expires access tokens after two hours (30 s skew tolerated)', async () => {
    const u = await createUser(server);
    clock.advance(2 * 3600_000 + 10_000);
    expect((await call('GET', '/api/auth/me', { token: u.token })).status).toBe(200);
    clock.advance(25_000);
    const r = await call('GET', '/api/auth/me', { token: u.token });
    expect(r.status).toBe(401);
    expect(r.body).toEqual(INVALID);
  });

  it('refuses every non-access token type as a Bearer credential', async () => {
    const reg = await register('types@example.com', 'types password');
    const userId = reg.body.user.id;
    const verifyToken = await outboxToken(userId, 'verify_email');
    await call('POST', '/api/auth/forgot-password', { body: { email: 'types@example.com' }, ip: freshIp() });
    const resetToken = await outboxToken(userId, 'password_reset');
    const downloadToken = await mintDownloadToken(server.ctx, server.ctx.db, userId, 'model_download', 1);
    const inviteToken = randomBytes(32).toString('base64url'); // team invitations are random tokens, like downloads
    const otherTyp = (await signJwt(server.ctx, 'verify_email', userId, 600, { ver: 0 })).token;
    for (const token of [verifyToken, resetToken, downloadToken, inviteToken, otherTyp]) {
      const r = await call('GET', '/api/auth/me', { token });
      expect(r.status).toBe(401);
      expect(r.body).toEqual(INVALID);
    }
    // The access token of the same user still works.
    expect((await call('GET', '/api/auth/me', { token: reg.body.token })).status).toBe(200);
  });
});

describe('logout', () => {
  it('revokes only the token used (200), which then answers 401', async () => {
    const u = await createUser(server);
    const second = await call('POST', '/api/auth/login', {
      body: { email: u.email, password: u.password },
      ip: freshIp(),
    });
    const out = await call('POST', '/api/auth/logout', { token: u.token });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ message: 'Logged out' });
    expect((await call('GET', '/api/auth/me', { token: u.token })).body).toEqual(INVALID);
    expect((await call('GET', '/api/auth/me', { token: second.body.token })).status).toBe(200);
    const [row] = await q<{ n: number }>('SELECT count(*)::int AS n FROM revoked_tokens WHERE user_id = $1', [
      u.id,
    ]);
    expect(row!.n).toBe(1);
    expect((await call('POST', '/api/auth/logout')).status).toBe(401);
  });

  it('logout with an API key is 400; logout-all (200) kills every access token but not API keys', async () => {
    const u = await createUser(server);
    const key = (await call('POST', '/api/auth/api-keys', { token: u.token, body: { name: 'ci' } })).body.key;
    const byKey = await call('POST', '/api/auth/logout', { token: key });
    expect(byKey.status).toBe(400);
    expect(byKey.body).toEqual({ detail: 'API keys are revoked with DELETE /api/auth/api-keys/{id}' });
    const second = await call('POST', '/api/auth/login', {
      body: { email: u.email, password: u.password },
      ip: freshIp(),
    });
    const all = await call('POST', '/api/auth/logout-all', { token: u.token });
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ message: 'Signed out on all devices' });
    expect((await call('GET', '/api/auth/me', { token: u.token })).status).toBe(401);
    expect((await call('GET', '/api/auth/me', { token: second.body.token })).status).toBe(401);
    expect((await call('GET', '/api/auth/me', { token: key })).status).toBe(200);
    const fresh = await call('POST', '/api/auth/login', {
      body: { email: u.email, password: u.password },
      ip: freshIp(),
    });
    expect((await call('GET', '/api/auth/me', { token: fresh.body.token })).status).toBe(200);
  });
});

describe('legacy bcrypt hashes', () => {
  it('accepts a bcrypt hash from the original console (with the SHA-256 pre-hash above 72 bytes) and rehashes to argon2id', async () => {
    const { default: bcrypt } = await import('bcryptjs');
    const long = `${'ü'.repeat(40)} long password`; // 95 bytes in UTF-8
    for (const password of ['short legacy pw', long]) {
      const input =
        Buffer.byteLength(password) > 72 ? createHash('sha256').update(password).digest('hex') : password;
      const u = await createUser(server);
      await q('UPDATE users SET password_hash = $1 WHERE id = $2', [bcrypt.hashSync(input, 4), u.id]);
      const wrong = await call('POST', '/api/auth/login', {
        body: { email: u.email, password: 'not the password' },
        ip: freshIp(),
      });
      expect(wrong.status).toBe(401);
      const ok = await call('POST', '/api/auth/login', { body: { email: u.email, password }, ip: freshIp() });
      expect(ok.status).toBe(200);
      const [row] = await q<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [
        u.id,
      ]);
      expect(row!.password_hash).toMatch(/^\$argon2id\$/);
      expect(
        (await call('POST', '/api/auth/login', { body: { email: u.email, password }, ip: freshIp() })).status,
      ).toBe(200);
    }
  });
});

describe('lockout', () => {
  it('locks after 5 consecutive failures for 15 minutes (423 + Retry-After) and unlocks on the clock', async () => {
    const u = await createUser(server, { password: 'lockout password' });
    const attempt = (password: string) =>
      call('POST', '/api/auth/login', { body: { email: u.email, password }, ip: freshIp() });
    for (let i = 0; i < 4; i++) expect((await attempt('wrong password!')).status).toBe(401);
    const locked = await attempt('wrong password!');
    expect(locked.status).toBe(423);
    expect(locked.body).toEqual({ detail: 'Account temporarily locked. Try again later.' });
    expect(locked.headers.get('retry-after')).toBe('900');
    // The right password does not help while locked; the remaining time counts down.
    clock.advance(5 * 60_000);
    const still = await attempt('lockout password');
    expect(still.status).toBe(423);
    expect(Number(still.headers.get('retry-after'))).toBe(600);
    clock.advance(10 * 60_000 + 1000);
    const ok = await attempt('lockout password');
    expect(ok.status).toBe(200);
    const [row] = await q<{ failed_login_count: number; locked_until: Date | null }>(
      'SELECT failed_login_count, locked_until FROM users WHERE id = $1',
      [u.id],
    );
    expect(row).toEqual({ failed_login_count: 0, locked_until: null });
  });

  it('a success resets the counter; wrong current passwords of change-password do not count', async () => {
    const u = await createUser(server, { password: 'counter password' });
    const attempt = (password: string) =>
      call('POST', '/api/auth/login', { body: { email: u.email, password }, ip: freshIp() });
    for (let i = 0; i < 4; i++) expect((await attempt('wrong password!')).status).toBe(401);
    expect((await attempt('counter password')).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await attempt('wrong password!')).status).toBe(401);
    const wrongCurrent = await call('POST', '/api/auth/change-password', {
      token: u.token,
      body: { current_password: 'nope', new_password: 'whatever123' },
    });
    expect(wrongCurrent.status).toBe(401);
    expect(wrongCurrent.body).toEqual({ detail: 'Current password is incorrect' });
    expect((await attempt('counter password')).status).toBe(200);
  });
});

describe('email verification', () => {
  it('verifies with the emailed token (idempotent), queues welcome once; bad tokens 400; unknown user 404', async () => {
    const reg = await register('verify@example.com', 'verify password');
    const id = reg.body.user.id;
    const token = await outboxToken(id, 'verify_email');
    const ok = await call('POST', '/api/auth/verify-email', { body: { token }, ip: freshIp() });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ message: 'Email verified successfully' });
    expect((await call('POST', '/api/auth/verify-email', { body: { token }, ip: freshIp() })).status).toBe(
      200,
    );
    const me = await call('GET', '/api/auth/me', { token: reg.body.token });
    expect(me.body.email_verified).toBe(true);
    const welcome = await q('SELECT dedupe_key FROM email_outbox WHERE user_id = $1 AND template = $2', [
      id,
      'welcome',
    ]);
    expect(welcome).toEqual([{ dedupe_key: `welcome:${id}` }]);

    const bad = await call('POST', '/api/auth/verify-email', {
      body: { token: 'not-a-token' },
      ip: freshIp(),
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual(INVALID);
    const accessAsVerify = await call('POST', '/api/auth/verify-email', {
      body: { token: reg.body.token },
      ip: freshIp(),
    });
    expect(accessAsVerify.status).toBe(400);
    expect(
      (await call('POST', '/api/auth/verify-email', { body: { token: '' }, ip: freshIp() })).status,
    ).toBe(422);
    const ghost = (await signJwt(server.ctx, 'verify_email', 987654321, 600, { email: 'ghost@example.com' }))
      .token;
    const nf = await call('POST', '/api/auth/verify-email', { body: { token: ghost }, ip: freshIp() });
    expect(nf.status).toBe(404);
    expect(nf.body).toEqual({ detail: 'User not found' });
    // Expired after 48 h.
    const later = await register('verify-late@example.com');
    const lateToken = await outboxToken(later.body.user.id, 'verify_email');
    clock.advance(48 * 3600_000 + 60_000);
    expect(
      (await call('POST', '/api/auth/verify-email', { body: { token: lateToken }, ip: freshIp() })).status,
    ).toBe(400);
  });

  it('resend-verification: sent, deduplicated per minute, already verified, limited 3/hour per user', async () => {
    const reg = await register('resend@example.com');
    const token = reg.body.token;
    clock.advance(60_000);
    const r1 = await call('POST', '/api/auth/resend-verification', { token });
    expect(r1.status).toBe(200);
    expect(r1.body).toEqual({ message: 'Verification email sent' });
    expect(r1.headers.get('ratelimit-limit')).toBe('3');
    expect(r1.headers.get('ratelimit-remaining')).toBe('2');
    expect((await call('POST', '/api/auth/resend-verification', { token })).status).toBe(200);
    const rows = await q('SELECT id FROM email_outbox WHERE user_id = $1 AND template = $2', [
      reg.body.user.id,
      'verify_email',
    ]);
    expect(rows).toHaveLength(2); // register + one per UTC minute
    expect((await call('POST', '/api/auth/resend-verification', { token })).status).toBe(200);
    const limited = await call('POST', '/api/auth/resend-verification', { token });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ detail: 'Rate limit exceeded' });
    const verified = await createUser(server);
    const already = await call('POST', '/api/auth/resend-verification', { token: verified.token });
    expect(already.body).toEqual({ message: 'Email already verified' });
  });

  it('VER routes answer 403 to unverified users', async () => {
    const app = Fastify();
    installErrorHandlers(app);
    app.get('/guarded', { preHandler: [requireVerified(server.ctx)] }, async (req) => ({ id: req.user!.id }));
    await app.ready();
    try {
      const unverified = await createUser(server, { verified: false });
      const verified = await createUser(server);
      const denied = await app.inject({ url: '/guarded', headers: unverified.headers });
      expect(denied.statusCode).toBe(403);
      expect(denied.json()).toEqual({ detail: VERIFY_REQUIRED });
      expect(VERIFY_REQUIRED).toBe(
        'Verify your email address to access recording, training, and billing features.',
      );
      const allowed = await app.inject({ url: '/guarded', headers: verified.headers });
      expect(allowed.json()).toEqual({ id: verified.id });
      expect((await app.inject({ url: '/guarded' })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe('DL credentials (header or single-use query token)', () => {
  it('a present header wins, an invalid header is 401 even with a valid query token, the query token works once', async () => {
    const app = Fastify();
    installErrorHandlers(app);
    app.get('/dl/:id', async (req) => {
      const id = Number((req.params as { id: string }).id);
      return userForDownload(server.ctx, req, 'model_download', id);
    });
    await app.ready();
    try {
      const u = await createUser(server);
      const other = await createUser(server);
      const token = await mintDownloadToken(server.ctx, server.ctx.db, u.id, 'model_download', 77);
      const bad = await app.inject({
        url: `/dl/77?token=${token}`,
        headers: { authorization: 'Bearer nonsense' },
      });
      expect(bad.statusCode).toBe(401);
      expect(bad.json()).toEqual(INVALID);
      const header = await app.inject({ url: `/dl/77?token=${token}`, headers: other.headers });
      expect(header.json()).toEqual({ userId: other.id, via: 'header' });
      const query = await app.inject({ url: `/dl/77?token=${token}` });
      expect(query.json()).toEqual({ userId: u.id, via: 'download_token' });
      const reused = await app.inject({ url: `/dl/77?token=${token}` });
      expect(reused.statusCode).toBe(401);
      expect(reused.json()).toEqual(INVALID);
      const none = await app.inject({ url: '/dl/77' });
      expect(none.statusCode).toBe(401);
      expect(none.json()).toEqual(NOT_AUTH);
      expect(none.headers['www-authenticate']).toBe('Bearer');
    } finally {
      await app.close();
    }
  });
});

describe('password reset and change', () => {
  it('forgot-password answers the same for any address and sends one email per minute', async () => {
    const u = await createUser(server, { email: 'forgot@example.com' });
    const ip = freshIp();
    const a = await call('POST', '/api/auth/forgot-password', { body: { email: 'FORGOT@example.com' }, ip });
    const b = await call('POST', '/api/auth/forgot-password', { body: { email: 'forgot@example.com' }, ip });
    const c = await call('POST', '/api/auth/forgot-password', {
      body: { email: 'nobody-here@example.com' },
      ip,
    });
    for (const r of [a, b, c]) {
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ message: 'If an account exists for that email, a reset link has been sent.' });
    }
    const rows = await q('SELECT id FROM email_outbox WHERE user_id = $1 AND template = $2', [
      u.id,
      'password_reset',
    ]);
    expect(rows).toHaveLength(1);
    expect((await call('POST', '/api/auth/forgot-password', { body: { email: 'x' }, ip })).status).toBe(422);
  });

  it('reset-password sets the password once, revokes sessions and clears a lockout', async () => {
    const u = await createUser(server, { password: 'old password 1' });
    for (let i = 0; i < 5; i++)
      await call('POST', '/api/auth/login', {
        body: { email: u.email, password: 'bad password' },
        ip: freshIp(),
      });
    await call('POST', '/api/auth/forgot-password', { body: { email: u.email }, ip: freshIp() });
    const token = await outboxToken(u.id, 'password_reset');
    const ok = await call('POST', '/api/auth/reset-password', {
      body: { token, password: 'new password 2' },
      ip: freshIp(),
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ message: 'Password reset successfully' });
    expect((await call('GET', '/api/auth/me', { token: u.token })).status).toBe(401);
    const again = await call('POST', '/api/auth/reset-password', {
      body: { token, password: 'new password 3' },
      ip: freshIp(),
    });
    expect(again.status).toBe(400);
    expect(again.body).toEqual(INVALID);
    const oldPw = await call('POST', '/api/auth/login', {
      body: { email: u.email, password: 'old password 1' },
      ip: freshIp(),
    });
    expect(oldPw.status).toBe(401);
    const newPw = await call('POST', '/api/auth/login', {
      body: { email: u.email, password: 'new password 2' },
      ip: freshIp(),
    });
    expect(newPw.status).toBe(200);
    expect(
      (
        await call('POST', '/api/auth/reset-password', {
          body: { token: 'junk', password: 'new password 4' },
          ip: freshIp(),
        })
      ).status,
    ).toBe(400);
    expect(
      (await call('POST', '/api/auth/reset-password', { body: { token, password: 'short' }, ip: freshIp() }))
        .status,
    ).toBe(422);
    const ghost = (await signJwt(server.ctx, 'reset_password', 987654321, 600, { ver: 0 })).token;
    const nf = await call('POST', '/api/auth/reset-password', {
      body: { token: ghost, password: 'new password 5' },
      ip: freshIp(),
    });
    expect(nf.status).toBe(404);
    expect(nf.body).toEqual({ detail: 'User not found' });
  });

  it('change-password returns a fresh token and revokes the others', async () => {
    const u = await createUser(server, { password: 'change me please' });
    const res = await call('POST', '/api/auth/change-password', {
      token: u.token,
      body: { current_password: 'change me please', new_password: 'changed password' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      message: 'Password changed successfully',
      expires_at: expect.any(String),
    });
    expect((await call('GET', '/api/auth/me', { token: u.token })).status).toBe(401);
    expect((await call('GET', '/api/auth/me', { token: res.body.token })).status).toBe(200);
    const login = await call('POST', '/api/auth/login', {
      body: { email: u.email, password: 'changed password' },
      ip: freshIp(),
    });
    expect(login.status).toBe(200);
    const bad = await call('POST', '/api/auth/change-password', {
      token: res.body.token,
      body: { current_password: 'x', new_password: 'short' },
    });
    expect(bad.status).toBe(422);
  });
});

describe('API keys', () => {
  it('creates (201, shown once, stored hashed), lists, authenticates and deletes (204) keys', async () => {
    const u = await createUser(server);
    const created = await call('POST', '/api/auth/api-keys', {
      token: u.token,
      body: { name: '  laptop  ' },
    });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^vw_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ name: 'laptop', prefix: key.slice(0, 11), last_used_at: null });
    const [row] = await q<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [
      created.body.id,
    ]);
    expect(row!.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
    const dump = JSON.stringify(await q('SELECT * FROM api_keys'));
    expect(dump).not.toContain(key);

    const me = await call('GET', '/api/auth/me', { token: key });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(u.id);
    const list = await call('GET', '/api/auth/api-keys', { token: u.token });
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toEqual({
      id: created.body.id,
      name: 'laptop',
      prefix: key.slice(0, 11),
      created_at: created.body.created_at,
      last_used_at: expect.stringMatching(/Z$/),
    });
    expect(list.body[0].key).toBeUndefined();

    const other = await createUser(server);
    const foreign = await call('DELETE', `/api/auth/api-keys/${created.body.id}`, { token: other.token });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ detail: 'API key not found' });
    const del = await call('DELETE', `/api/auth/api-keys/${created.body.id}`, { token: u.token });
    expect(del.status).toBe(204);
    expect((await call('GET', '/api/auth/me', { token: key })).body).toEqual(INVALID);
    expect((await call('DELETE', `/api/auth/api-keys/${created.body.id}`, { token: u.token })).status).toBe(
      404,
    );
    expect((await call('DELETE', '/api/auth/api-keys/abc', { token: u.token })).status).toBe(422);
    expect((await call('POST', '/api/auth/api-keys', { token: u.token, body: { name: '   ' } })).status).toBe(
      422,
    );
  });

  it('refuses a 26th key (409) and limits creation to 10 an hour', async () => {
    const u = await createUser(server);
    for (let i = 0; i < API_KEY_LIMIT - 1; i++) {
      await q(`INSERT INTO api_keys (user_id, name, prefix, key_hash) VALUES ($1, $2, 'vw_test', $3)`, [
        u.id,
        `k${i}`,
        createHash('sha256').update(`k${i}-${u.id}`).digest('hex'),
      ]);
    }
    expect(
      (await call('POST', '/api/auth/api-keys', { token: u.token, body: { name: 'last' } })).status,
    ).toBe(201);
    const full = await call('POST', '/api/auth/api-keys', { token: u.token, body: { name: 'too many' } });
    expect(full.status).toBe(409);
    expect(full.body).toEqual({ detail: 'API key limit reached' });

    const v = await createUser(server);
    const codes: number[] = [];
    for (let i = 0; i < 11; i++)
      codes.push(
        (await call('POST', '/api/auth/api-keys', { token: v.token, body: { name: `n${i}` } })).status,
      );
    expect(codes.slice(0, 10).every((c) => c === 201)).toBe(true);
    expect(codes[10]).toBe(429);
  });
});

describe('download tokens', () => {
  async function insertModel(ownerId: number, teamId: number | null = null): Promise<number> {
    const id = randomBytes(4).toString('hex');
    const [m] = await q<{ id: number }>(
      `INSERT INTO trained_models (user_id, team_id, wake_word, storage_key, manifest_key, size_bytes)
       VALUES ($1, $2, 'hey viola', $3, $4, 100) RETURNING id`,
      [ownerId, teamId, `models/${ownerId}/${id}.onnx`, `models/${ownerId}/${id}.json`],
    );
    return m!.id;
  }

  it('mints single-use tokens for visible models and own jobs; 404 otherwise', async () => {
    const owner = await createUser(server);
    const member = await createUser(server);
    const stranger = await createUser(server);
    const [team] = await q<{ id: number }>(
      `INSERT INTO teams (name, owner_id) VALUES ('t', $1) RETURNING id`,
      [owner.id],
    );
    await q(
      `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, 'owner', now()), ($1, $3, 'member', now())`,
      [team!.id, owner.id, member.id],
    );
    const shared = await insertModel(owner.id, team!.id);
    const privateModel = await insertModel(owner.id);
    const mint = (token: string, action: string, resource_id: number) =>
      call('POST', '/api/auth/download-token', { token, body: { action, resource_id } });

    const res = await mint(member.token, 'model_download', shared);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ token: expect.any(String), expires_in_seconds: 60 });
    expect(res.headers.get('ratelimit-limit')).toBe('60');
    const nf = await mint(member.token, 'model_download', privateModel);
    expect(nf.status).toBe(404);
    expect(nf.body).toEqual({ detail: 'Model not found' });
    expect((await mint(stranger.token, 'model_download', shared)).status).toBe(404);
    expect((await mint(owner.token, 'model_download', privateModel)).status).toBe(200);
    const job = await mint(owner.token, 'training_stream', 999999);
    expect(job.status).toBe(404);
    expect(job.body).toEqual({ detail: 'Training job not found' });
    expect((await mint(owner.token, 'something_else', shared)).status).toBe(422);
    expect((await mint(owner.token, 'model_download', 0)).status).toBe(422);

    // Consumed once, for the right action and resource only, and refused as a session.
    expect((await call('GET', '/api/auth/me', { token: res.body.token })).status).toBe(401);
    await expect(
      consumeDownloadToken(server.ctx, res.body.token, 'training_stream', shared),
    ).rejects.toMatchObject({ statusCode: 401 });
    await expect(
      consumeDownloadToken(server.ctx, res.body.token, 'model_download', privateModel),
    ).rejects.toMatchObject({ statusCode: 401 });
    expect(await consumeDownloadToken(server.ctx, res.body.token, 'model_download', shared)).toBe(member.id);
    await expect(
      consumeDownloadToken(server.ctx, res.body.token, 'model_download', shared),
    ).rejects.toMatchObject({
      statusCode: 401,
      detail: 'Invalid or expired token',
    });
    // Expires after 60 s.
    const late = await mint(owner.token, 'model_download', privateModel);
    clock.advance(61_000);
    await expect(
      consumeDownloadToken(server.ctx, late.body.token, 'model_download', privateModel),
    ).rejects.toMatchObject({ statusCode: 401 });
  });
});

describe('account deletion', () => {
  it('deletes the user and everything that references it (200), never tripping a foreign key', async () => {
    const u = await createUser(server);
    const friend = await createUser(server);
    const id = u.id;
    const key = (await call('POST', '/api/auth/api-keys', { token: u.token, body: { name: 'k' } })).body.key;
    await call('POST', '/api/auth/logout', {
      token: (
        await call('POST', '/api/auth/login', {
          body: { email: u.email, password: u.password },
          ip: freshIp(),
        })
      ).body.token,
    });
    await mintDownloadToken(server.ctx, server.ctx.db, id, 'model_download', 1);
    const [rec] = await q<{ id: number }>(
      `INSERT INTO recordings (user_id, wake_word, filename, storage_key, source_format, duration_s, size_bytes)
       VALUES ($1, 'hey viola', 'x.wav', $2, 'wav', 1.0, 100) RETURNING id`,
      [id, `recordings/${id}/1.wav`],
    );
    const [model] = await q<{ id: number }>(
      `INSERT INTO trained_models (user_id, wake_word, storage_key, manifest_key, size_bytes) VALUES ($1, 'hey viola', $2, $3, 10) RETURNING id`,
      [id, `models/${id}/1.onnx`, `models/${id}/1.json`],
    );
    await q(
      `INSERT INTO training_jobs (user_id, wake_word, recording_ids, priority, model_id, usage_period_start) VALUES ($1, 'hey viola', ARRAY[$2::bigint], 0, $3, now())`,
      [id, rec!.id, model!.id],
    );
    await q(`INSERT INTO subscriptions (user_id) VALUES ($1)`, [id]);
    await q(
      `INSERT INTO usage_records (user_id, action, period_start, count) VALUES ($1, 'training_job', now(), 1)`,
      [id],
    );
    await q(`INSERT INTO circuit_breakers (user_id) VALUES ($1)`, [id]);
    // A team the user owns (with the friend in it and the friend's model shared to it) and a team the user joined.
    const [owned] = await q<{ id: number }>(
      `INSERT INTO teams (name, owner_id) VALUES ('mine', $1) RETURNING id`,
      [id],
    );
    const [joined] = await q<{ id: number }>(
      `INSERT INTO teams (name, owner_id) VALUES ('theirs', $1) RETURNING id`,
      [friend.id],
    );
    await q(
      `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, 'owner', now()), ($1, $3, 'member', now())`,
      [owned!.id, id, friend.id],
    );
    await q(
      `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, 'owner', now()), ($1, $3, 'member', now())`,
      [joined!.id, friend.id, id],
    );
    const [friendModel] = await q<{ id: number }>(
      `INSERT INTO trained_models (user_id, team_id, wake_word, storage_key, manifest_key, size_bytes) VALUES ($1, $2, 'hi', $3, $4, 10) RETURNING id`,
      [friend.id, owned!.id, `models/${friend.id}/9.onnx`, `models/${friend.id}/9.json`],
    );
    await q(
      `INSERT INTO team_invitations (team_id, email, role, token_hash, invited_by, expires_at, accepted_at, accepted_by)
       VALUES ($1, 'someone@example.com', 'member', $2, $3, now() + interval '1 day', NULL, NULL),
              ($4, $5, 'member', $6, $7, now() + interval '1 day', now(), $8)`,
      [owned!.id, 'a'.repeat(64), id, joined!.id, u.email, 'b'.repeat(64), friend.id, id],
    );
    await q(
      `INSERT INTO email_outbox (to_address, user_id, template, payload) VALUES ($1, $2, 'welcome', '{}'), ($1, $2, 'welcome', '{}')`,
      [u.email, id],
    );
    await q(
      `UPDATE email_outbox SET status = 'sent' WHERE id = (SELECT min(id) FROM email_outbox WHERE user_id = $1)`,
      [id],
    );

    const storage = getStorage(server.ctx);
    const ownKeys = [`recordings/${id}/1.wav`, `models/${id}/1.onnx`, `models/${id}/1.json`];
    for (const k of [...ownKeys, `models/${friend.id}/9.onnx`])
      await storage.put(k, new Uint8Array([1, 2, 3]));

    const res = await call('DELETE', '/api/auth/account', { token: u.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'Account and associated data deleted.' });
    for (const k of ownKeys) expect(await storage.exists(k), k).toBe(false);
    expect(await storage.exists(`models/${friend.id}/9.onnx`)).toBe(true);
    expect((await call('GET', '/api/auth/me', { token: u.token })).body).toEqual(INVALID);
    expect((await call('GET', '/api/auth/me', { token: key })).body).toEqual(INVALID);
    for (const table of [
      'users WHERE id',
      'api_keys WHERE user_id',
      'revoked_tokens WHERE user_id',
      'download_tokens WHERE user_id',
      'recordings WHERE user_id',
      'trained_models WHERE user_id',
      'training_jobs WHERE user_id',
      'subscriptions WHERE user_id',
      'usage_records WHERE user_id',
      'circuit_breakers WHERE user_id',
      'team_members WHERE user_id',
      'teams WHERE owner_id',
    ]) {
      const [c] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} = $1`, [id]);
      expect(c!.n, table).toBe(0);
    }
    // Unsent outbox rows are gone; the sent one stays, detached.
    expect(await q(`SELECT status, user_id FROM email_outbox WHERE to_address = $1`, [u.email])).toEqual([
      { status: 'sent', user_id: null },
    ]);
    // The friend keeps their model (unshared from the deleted team) and their own team.
    expect(await q(`SELECT team_id FROM trained_models WHERE id = $1`, [friendModel!.id])).toEqual([
      { team_id: null },
    ]);
    expect(await q(`SELECT count(*)::int AS n FROM team_members WHERE team_id = $1`, [joined!.id])).toEqual([
      { n: 1 },
    ]);
    expect(await q(`SELECT accepted_by FROM team_invitations WHERE team_id = $1`, [joined!.id])).toEqual([
      { accepted_by: null },
    ]);
    expect((await call('GET', '/api/auth/me', { token: friend.token })).status).toBe(200);
  });

  it('a failing cleanup step (the payment provider) answers 502 and deletes nothing', async () => {
    const u = await createUser(server);
    const message = 'Could not cancel the subscription with the payment provider. Try again later.';
    const { HttpError } = await import('../src/core/http/errors.ts');
    const step = {
      name: 'test-failing-step',
      before: async (_ctx: unknown, userId: number) => {
        if (userId === u.id) throw new HttpError(502, message);
      },
    };
    server.ctx.accountCleanup.push(step);
    try {
      const res = await call('DELETE', '/api/auth/account', { token: u.token });
      expect(res.status).toBe(502);
      expect(res.body).toEqual({ detail: message });
      expect((await call('GET', '/api/auth/me', { token: u.token })).status).toBe(200);
    } finally {
      server.ctx.accountCleanup.splice(server.ctx.accountCleanup.indexOf(step), 1);
    }
  });
});

describe('OpenAPI', () => {
  it('lists every auth endpoint with its schemas', async () => {
    const doc = (await call('GET', '/api/openapi.json')).body;
    const expected: [string, string][] = [
      ['post', '/api/auth/register'],
      ['post', '/api/auth/login'],
      ['post', '/api/auth/logout'],
      ['post', '/api/auth/logout-all'],
      ['get', '/api/auth/me'],
      ['post', '/api/auth/download-token'],
      ['post', '/api/auth/verify-email'],
      ['post', '/api/auth/resend-verification'],
      ['post', '/api/auth/forgot-password'],
      ['post', '/api/auth/reset-password'],
      ['post', '/api/auth/change-password'],
      ['delete', '/api/auth/account'],
      ['post', '/api/auth/api-keys'],
      ['get', '/api/auth/api-keys'],
      ['delete', '/api/auth/api-keys/{key_id}'],
    ];
    for (const [method, path] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
    }
    const register = doc.paths['/api/auth/register'].post;
    const body = register.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['email', 'password', 'name']));
    expect(body.properties.password).toMatchObject({ minLength: 8, maxLength: 128 });
    expect(register.responses['201'].content['application/json'].schema.properties).toHaveProperty('token');
    expect(doc.paths['/api/auth/me'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/auth/api-keys/{key_id}'].delete.parameters[0]).toMatchObject({
      name: 'key_id',
      in: 'path',
    });
  });
});
