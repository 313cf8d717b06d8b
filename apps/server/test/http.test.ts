import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/core/config.ts';
import { HttpError } from '../src/core/http/errors.ts';
import { createLogger } from '../src/core/logger.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';

/** The real app on a real database, plus a few probe routes that exercise the conventions. */
describe('HTTP conventions', () => {
  let server: TestServer;
  let app: FastifyInstance;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    server = await startTestServer({ driver: 'pglite' });
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const ctx = { ...server.ctx, logger: createLogger({ level: 'info', destination: sink }) };
    app = await buildApp(ctx, { serveWeb: false });
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.post(
      '/api/probe/body',
      {
        schema: {
          body: z.object({
            email: z.email(),
            name: z.string().min(1).max(5),
            count: z.number().int().min(1).max(10).optional(),
            tags: z.array(z.string()).min(1).max(2).optional(),
            tier: z.enum(['developer', 'business']).optional(),
          }),
        },
      },
      async (req) => ({ ok: true, name: req.body.name }),
    );
    r.get(
      '/api/probe/items/:id',
      { schema: { params: z.object({ id: z.coerce.number().int().min(1) }) } },
      async (req) => ({
        id: req.params.id,
      }),
    );
    r.get('/api/probe/boom', async () => {
      throw new Error('secret internal detail /etc/passwd');
    });
    r.get('/api/probe/teapot', async () => {
      throw new HttpError(409, 'Already there', { 'Retry-After': '7' });
    });
    r.post('/api/probe/login', async (req) => ({ got: Boolean(req.body) }));
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await server?.close();
  });

  it('reuses a valid X-Request-ID and replaces an invalid one, on every response', async () => {
    const ok = await app.inject({ url: '/api/health/live', headers: { 'x-request-id': 'abc.DEF-1:2_3' } });
    expect(ok.headers['x-request-id']).toBe('abc.DEF-1:2_3');
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon']) {
      const res = await app.inject({ url: '/api/nothing-here', headers: { 'x-request-id': bad } });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
      expect(res.statusCode).toBe(404);
    }
  });

  it('answers unknown routes and methods with JSON details', async () => {
    const nf = await app.inject({ url: '/api/does-not-exist' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ detail: 'Not Found' });
    const na = await app.inject({ method: 'DELETE', url: '/api/health/ready' });
    expect(na.statusCode).toBe(405);
    expect(na.json()).toEqual({ detail: 'Method Not Allowed' });
  });

  it('reports schema errors as 422 with loc, msg and a stable type', async () => {
    const missing = await app.inject({ method: 'POST', url: '/api/probe/body', payload: { name: 'ab' } });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().detail).toEqual([
      { loc: ['body', 'email'], msg: 'Field required', type: 'missing' },
    ]);

    const types = await app.inject({
      method: 'POST',
      url: '/api/probe/body',
      payload: { email: 'not-an-email', name: '', count: 99, tags: [], tier: 'gold' },
    });
    expect(types.statusCode).toBe(422);
    const byField = Object.fromEntries(types.json().detail.map((d: any) => [d.loc.slice(1).join('.'), d]));
    expect(byField.email).toMatchObject({ type: 'value_error', msg: 'value is not a valid email address' });
    expect(byField.name.type).toBe('string_too_short');
    expect(byField.count.type).toBe('less_than_equal');
    expect(byField.tags.type).toBe('list_too_short');
    expect(byField.tier.type).toBe('enum');
    const long = await app.inject({
      method: 'POST',
      url: '/api/probe/body',
      payload: { email: 'a@b.co', name: 'toolong', tags: ['a', 'b', 'c'] },
    });
    const longTypes = long
      .json()
      .detail.map((d: any) => d.type)
      .sort();
    expect(longTypes).toEqual(['list_too_long', 'string_too_long']);

    const path = await app.inject({ url: '/api/probe/items/0' });
    expect(path.statusCode).toBe(422);
    expect(path.json().detail[0]).toMatchObject({ loc: ['path', 'id'], type: 'greater_than_equal' });

    const json = await app.inject({
      method: 'POST',
      url: '/api/probe/body',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    expect(json.statusCode).toBe(422);
    expect(json.json().detail[0]).toMatchObject({ loc: ['body'], type: 'json_invalid' });
  });

  it('hides unhandled errors behind a 500 with the request id, and logs the stack', async () => {
    const res = await app.inject({ url: '/api/probe/boom', headers: { 'x-request-id': 'req-500' } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ detail: 'Internal server error', request_id: 'req-500' });
    expect(res.body).not.toContain('passwd');
    const logged = lines.find((l) => l.request_id === 'req-500' && l.message === 'unhandled error') as any;
    expect(logged?.err?.stack).toContain('secret internal detail');
    const handled = await app.inject({ url: '/api/probe/teapot' });
    expect(handled.statusCode).toBe(409);
    expect(handled.json()).toEqual({ detail: 'Already there' });
    expect(handled.headers['retry-after']).toBe('7');
  });

  it('writes one JSON request.complete line per request with its request id, none for probes', async () => {
    lines.length = 0;
    await app.inject({
      url: '/api/does-not-exist',
      headers: { 'x-request-id': 'log-check', authorization: 'Bearer sekrit' },
    });
    await app.inject({ url: '/api/health/ready' });
    const complete = lines.filter((l) => l.message === 'request.complete');
    expect(complete).toHaveLength(1);
    expect(complete[0]).toMatchObject({
      level: 'info',
      logger: 'violawake',
      request_id: 'log-check',
      status: 404,
    });
    expect(typeof complete[0]!.timestamp).toBe('string');
    expect(JSON.stringify(lines)).not.toContain('sekrit');
  });

  it('redacts credential-like fields in structured logs', async () => {
    lines.length = 0;
    app.log.info(
      { password: 'p@ss', nested: { api_key: 'vw_x', note: 'fine' }, authorization: 'Bearer t' },
      'probe',
    );
    const line = lines.find((l) => l.message === 'probe') as any;
    expect(line.password).toBe('[REDACTED]');
    expect(line.nested).toEqual({ api_key: '[REDACTED]', note: 'fine' });
    expect(line.authorization).toBe('[REDACTED]');
  });

  it('sets the security headers, no HSTS outside production, no-store under /api/auth', async () => {
    const res = await app.inject({ url: '/api/health/live' });
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'strict-origin-when-cross-origin',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    });
    expect(res.headers['strict-transport-security']).toBeUndefined();
    const auth = await app.inject({ url: '/api/auth/anything' });
    expect(auth.headers['cache-control']).toBe('no-store');
    const docs = await app.inject({ url: '/api/docs/' });
    expect(docs.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('allows exactly the configured CORS origins and exposes the documented headers', async () => {
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/api/probe/body',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(pre.headers['access-control-allow-credentials']).toBe('true');
    expect(String(pre.headers['access-control-allow-headers'])).toContain('X-Request-ID');
    const get = await app.inject({ url: '/api/health/live', headers: { origin: 'http://localhost:5173' } });
    expect(String(get.headers['access-control-expose-headers'])).toBe(
      'X-Request-ID, X-Upgrade-URL, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Content-Disposition',
    );
    const evil = await app.inject({ url: '/api/health/live', headers: { origin: 'https://evil.example' } });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses JSON bodies over 1 MiB with 413', async () => {
    const big = JSON.stringify({ email: 'a@b.co', name: 'x', pad: 'y'.repeat(1024 * 1024) });
    const res = await app.inject({
      method: 'POST',
      url: '/api/probe/login',
      headers: { 'content-type': 'application/json' },
      payload: big,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ detail: 'Request body too large' });
  });

  it('serves the OpenAPI document and the docs page, with redirects from the old paths', async () => {
    const doc = await app.inject({ url: '/api/openapi.json' });
    expect(doc.statusCode).toBe(200);
    const spec = doc.json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/api/health', '/api/health/ready', '/api/probe/body']),
    );
    expect(
      spec.paths['/api/probe/body'].post.requestBody.content['application/json'].schema.required,
    ).toContain('email');
    expect((await app.inject({ url: '/api/docs/' })).statusCode).toBe(200);
    const old = await app.inject({ url: '/openapi.json' });
    expect(old.statusCode).toBe(308);
    expect(old.headers.location).toBe('/api/openapi.json');
    expect((await app.inject({ url: '/docs' })).headers.location).toBe('/api/docs');
  });
});

describe('production mode', () => {
  it('adds HSTS and can switch the docs off', async () => {
    const server = await startTestServer({ driver: 'postgres' });
    try {
      const cfg = loadConfig(
        {
          VIOLAWAKE_ENV: 'production',
          VIOLAWAKE_SECRET_KEY: 'Zq8vN2pX5rT9wK3mB7cF1hJ4gL6dS0aY',
          VIOLAWAKE_DB_URL: server.dbUrl!,
          VIOLAWAKE_DATA_DIR: server.dataDir,
          VIOLAWAKE_DOCS_ENABLED: 'false',
          VIOLAWAKE_EMAIL_PROVIDER: 'log',
        },
        server.dataDir,
      );
      const app = await buildApp({ ...server.ctx, config: cfg }, { serveWeb: false });
      const res = await app.inject({ url: '/api/health/live' });
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect((await app.inject({ url: '/api/openapi.json' })).statusCode).toBe(404);
      await app.close();
    } finally {
      await server.close();
    }
  });
});
