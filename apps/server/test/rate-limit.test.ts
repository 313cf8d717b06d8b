/**
 * Rate limiting (docs/api.md §1.5) on real servers: the client address behind 0, 1 and 2 trusted proxies with spoofed
 * X-Forwarded-For entries, the RateLimit-* and Retry-After headers, fixed windows on the injectable clock, the
 * Redis store shared by two processes on one database, and requests passing when Redis is unreachable.
 */
import { randomInt } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.ts';
import type { AppContext } from '../src/core/context.ts';
import { HttpError } from '../src/core/http/errors.ts';
import { clientIp, normalizeIp } from '../src/core/http/rate-limit.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { createUser } from './helpers/users.ts';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers.reverse()) await s.close();
});

async function start(env: Record<string, string>, extra: Parameters<typeof startTestServer>[0] = {}) {
  const s = await startTestServer({
    driver: 'postgres',
    workers: false,
    ...extra,
    env: { ...env, ...extra.env },
  });
  servers.push(s);
  return s;
}

/** One login attempt (an unknown account: 401 until the `login` bucket, 5 per minute, is spent). */
async function login(server: TestServer, xff?: string) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (xff !== undefined) headers['X-Forwarded-For'] = xff;
  const res = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email: 'nobody@example.com', password: 'some password' }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

describe('client address', () => {
  const ctx = (n: number) => ({ config: { trustedProxyCount: n } }) as unknown as AppContext;
  const req = (remote: string, xff?: string) =>
    ({
      socket: { remoteAddress: remote },
      headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
    }) as unknown as FastifyRequest;

  it('takes the N-th X-Forwarded-For entry from the right, the leftmost when there are fewer, the socket otherwise', () => {
    expect(clientIp(ctx(0), req('192.0.2.1', '1.1.1.1, 2.2.2.2'))).toBe('192.0.2.1');
    expect(clientIp(ctx(1), req('192.0.2.1', '1.1.1.1, 2.2.2.2'))).toBe('2.2.2.2');
    expect(clientIp(ctx(2), req('192.0.2.1', '1.1.1.1, 2.2.2.2'))).toBe('1.1.1.1');
    expect(clientIp(ctx(3), req('192.0.2.1', '1.1.1.1, 2.2.2.2'))).toBe('1.1.1.1');
    expect(clientIp(ctx(2), req('192.0.2.1'))).toBe('192.0.2.1');
    expect(clientIp(ctx(1), req('192.0.2.1', ''))).toBe('192.0.2.1');
  });

  it('reduces IPv4-mapped IPv6 to IPv4 and keys IPv6 by its /64', () => {
    expect(normalizeIp('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(normalizeIp('::ffff:cb00:7109')).toBe('203.0.113.9');
    expect(normalizeIp('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(normalizeIp('2001:db8:1:2::1')).toBe(normalizeIp('2001:0db8:0001:0002:ffff:0:0:9'));
    expect(normalizeIp('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(normalizeIp('[2001:db8:1:3::1]:443')).toBe('2001:db8:1:3::/64');
    expect(normalizeIp('198.51.100.7:5555')).toBe('198.51.100.7');
    expect(clientIp(ctx(0), req('::ffff:127.0.0.1'))).toBe('127.0.0.1');
  });
});

describe('limits behind trusted proxies', () => {
  it('0 proxies: keyed by the socket address, spoofed X-Forwarded-For changes nothing', async () => {
    const clock = new ManualClock();
    const s = await start({}, { clock });
    const statuses: number[] = [];
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await login(s, randomIp());
      statuses.push(r.status);
      remaining.push(r.headers.get('ratelimit-remaining'));
      expect(r.headers.get('ratelimit-limit')).toBe('5');
      expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      expect(Number(r.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    clock.advance(20_000);
    const limited = await login(s, randomIp());
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ detail: 'Rate limit exceeded' });
    expect(limited.headers.get('retry-after')).toBe('40');
    expect(limited.headers.get('ratelimit-reset')).toBe('40');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    // Invalid bodies count too (the limiter runs before validation) and still get 429.
    const invalid = await fetch(`${s.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(invalid.status).toBe(429);
    // The fixed window ends 60 s after the first counted request.
    clock.advance(40_001);
    expect((await login(s)).status).toBe(401);
  });

  it('1 proxy: the rightmost entry is the client; entries the client wrote to the left are ignored', async () => {
    const s = await start({ VIOLAWAKE_TRUSTED_PROXY_COUNT: '1' });
    const client = '192.0.2.10';
    for (let i = 0; i < 5; i++) expect((await login(s, `${randomIp()}, ${client}`)).status).toBe(401);
    expect((await login(s, `${randomIp()}, ${randomIp()}, ${client}`)).status).toBe(429);
    expect((await login(s, client)).status).toBe(429);
    // Another client behind the same proxy has its own bucket; no header at all falls back to the socket (loopback).
    expect((await login(s, `${client}, 192.0.2.11`)).status).toBe(401);
    expect((await login(s)).status).toBe(401);
    // IPv6 clients share a bucket per /64.
    for (let i = 0; i < 5; i++) expect((await login(s, `2001:db8:5:6::${i + 1}`)).status).toBe(401);
    expect((await login(s, '2001:db8:5:6:ffff::9')).status).toBe(429);
    expect((await login(s, '2001:db8:5:7::1')).status).toBe(401);
  });

  it('2 proxies: the second entry from the right is the client', async () => {
    const s = await start({ VIOLAWAKE_TRUSTED_PROXY_COUNT: '2' });
    const client = '192.0.2.20';
    for (let i = 0; i < 5; i++)
      expect((await login(s, `${randomIp()}, ${client}, 10.1.1.${i + 1}`)).status).toBe(401);
    expect((await login(s, `spoofed, ${client}, 10.9.9.9`)).status).toBe(429);
    // The client's own address moved to the left is not the key.
    expect((await login(s, `${client}, 192.0.2.21, 10.1.1.1`)).status).toBe(401);
    // Fewer entries than proxies: the leftmost entry.
    for (let i = 0; i < 5; i++) expect((await login(s, '192.0.2.30')).status).toBe(401);
    expect((await login(s, '192.0.2.30, 10.0.0.1')).status).toBe(429);
    expect((await login(s, '10.0.0.1, 192.0.2.30')).status).toBe(401);
  });
});

describe('Redis store', () => {
  it('is shared by two processes on one database', async () => {
    const env = { VIOLAWAKE_REDIS_URL: 'redis://127.0.0.1:6379', VIOLAWAKE_TRUSTED_PROXY_COUNT: '1' };
    const db = await createTestDatabase();
    try {
      const a = await start(env, { database: db });
      const b = await start(env, { database: db });
      const client = randomIp(); // fresh per run: Redis outlives the test
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await login(a, client)).status);
      for (let i = 0; i < 2; i++) codes.push((await login(b, client)).status);
      const sixth = await login(b, client);
      expect(codes).toEqual([401, 401, 401, 401, 401]);
      expect(sixth.status).toBe(429);
      expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await login(a, client)).status).toBe(429);
      expect((await login(a, randomIp())).status).toBe(401);
    } finally {
      for (const s of servers.splice(-2)) await s.close();
      await db.drop();
    }
  });

  it('lets requests through (and logs) when Redis is unreachable', async () => {
    const s = await start({ VIOLAWAKE_REDIS_URL: 'redis://127.0.0.1:1' });
    for (let i = 0; i < 8; i++) {
      const r = await login(s);
      expect(r.status).toBe(401);
      expect(r.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});

describe('every auth bucket', () => {
  it('allows exactly its limit per window, counting invalid requests too', async () => {
    const s = await start({ VIOLAWAKE_TRUSTED_PROXY_COUNT: '1' });
    const buckets: { method: string; path: string; limit: number; window: number; user?: boolean }[] = [
      { method: 'POST', path: '/api/auth/register', limit: 100, window: 3600 },
      { method: 'POST', path: '/api/auth/login', limit: 5, window: 60 },
      { method: 'POST', path: '/api/auth/verify-email', limit: 20, window: 300 },
      { method: 'POST', path: '/api/auth/forgot-password', limit: 5, window: 300 },
      { method: 'POST', path: '/api/auth/reset-password', limit: 10, window: 300 },
      { method: 'POST', path: '/api/auth/download-token', limit: 60, window: 60, user: true },
      { method: 'POST', path: '/api/auth/change-password', limit: 10, window: 3600, user: true },
      { method: 'POST', path: '/api/auth/api-keys', limit: 10, window: 3600, user: true },
    ];
    for (const b of buckets) {
      const ip = randomIp();
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Forwarded-For': ip };
      if (b.user) headers.Authorization = `Bearer ${(await createUser(s)).token}`;
      const statuses = new Set<number>();
      for (let i = 0; i < b.limit; i++) {
        const r = await fetch(`${s.url}${b.path}`, { method: b.method, headers, body: '{"invalid": true}' });
        await r.text();
        statuses.add(r.status);
        if (i === 0) {
          expect(r.headers.get('ratelimit-limit'), b.path).toBe(String(b.limit));
          expect(Number(r.headers.get('ratelimit-reset'))).toBe(b.window);
        }
      }
      expect([...statuses], b.path).toEqual([422]);
      const over = await fetch(`${s.url}${b.path}`, { method: b.method, headers, body: '{"invalid": true}' });
      expect(over.status, b.path).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(b.window - 5);
      // A user bucket follows the user, not the address.
      if (b.user) {
        const other = { ...headers, Authorization: `Bearer ${(await createUser(s)).token}` };
        expect(
          (await fetch(`${s.url}${b.path}`, { method: b.method, headers: other, body: '{}' })).status,
        ).toBe(422);
      }
    }
    // resend-verification and account deletion (3/hour per user) have no body: 3 real requests, then 429.
    const u = await createUser(s, { verified: true });
    const resend: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${s.url}/api/auth/resend-verification`, {
        method: 'POST',
        headers: { ...u.headers, 'X-Forwarded-For': randomIp() },
      });
      await r.text();
      resend.push(r.status);
    }
    expect(resend).toEqual([200, 200, 200, 429]);
    // Deletion refused by a cleanup step (as billing does when Stripe fails) so the account survives each attempt.
    const step = {
      name: 'refuse',
      before: async () => {
        throw new HttpError(502, 'no');
      },
    };
    s.ctx.accountCleanup.push(step);
    const del: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${s.url}/api/auth/account`, { method: 'DELETE', headers: u.headers });
      await r.text();
      del.push(r.status);
    }
    s.ctx.accountCleanup.splice(s.ctx.accountCleanup.indexOf(step), 1);
    expect(del).toEqual([502, 502, 502, 429]);
  });
});
