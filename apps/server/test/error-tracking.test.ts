/**
 * Issue 26: VIOLAWAKE_SENTRY_DSN is wired for real. With the DSN pointing at a local endpoint that speaks Sentry's
 * envelope protocol, an unhandled error of a request (a 500) reaches it through the real SDK (@sentry/node) with the
 * request id, and without the credentials the failure carried (query parameters, the API-key hash, the secret key,
 * the bearer token). Without a DSN nothing is sent.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/core/config.ts';
import { users } from '../src/core/db/schema.ts';
import { createLogger } from '../src/core/logger.ts';
import { type RunningServer, startServer } from '../src/server.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const SECRET_KEY = `sentry-${randomBytes(24).toString('base64url')}`;
const envelopes: { path: string; items: Record<string, unknown>[]; raw: string }[] = [];
let endpoint: http.Server;
let db: TestDatabase;
let server: RunningServer;
let dataDir: string;

beforeAll(async () => {
  endpoint = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const raw = body.toString('utf8');
      const items = raw
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        });
      envelopes.push({ path: req.url ?? '', items, raw });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  const port = (endpoint.address() as AddressInfo).port;
  db = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'vw-sentry-'));
  const config = loadConfig(
    {
      VIOLAWAKE_DATA_DIR: dataDir,
      VIOLAWAKE_HOST: '127.0.0.1',
      VIOLAWAKE_PORT: '0',
      VIOLAWAKE_SECRET_KEY: SECRET_KEY,
      VIOLAWAKE_DB_URL: db.url,
      VIOLAWAKE_SENTRY_DSN: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${port}/42`,
    },
    dataDir,
  );
  server = await startServer({
    config,
    http: true,
    workers: false,
    logger: createLogger({ level: 'silent' }),
  });
  await server.ctx.db.execute(
    sql.raw(`CREATE FUNCTION vw_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
             CREATE TRIGGER vw_refuse_keys BEFORE INSERT ON api_keys FOR EACH ROW EXECUTE FUNCTION vw_refuse();`),
  );
}, 60_000);
afterAll(async () => {
  await server?.close();
  await db?.drop();
  endpoint?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('error tracking through the Sentry SDK', () => {
  it('an unhandled request error reaches the endpoint with its request id and without credentials', async () => {
    const [row] = await server.ctx.db
      .insert(users)
      .values({ email: 'sentry@example.com', passwordHash: 'x', name: 'S', emailVerified: true })
      .returning({ id: users.id, tokenVersion: users.tokenVersion });
    const { token } = await signAccessToken(server.ctx, { id: row!.id, tokenVersion: row!.tokenVersion });
    const res = await fetch(`${server.url}/api/auth/api-keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'tracked key' }),
    });
    expect(res.status).toBe(500);
    const { request_id } = (await res.json()) as { request_id: string };
    const deadline = Date.now() + 20_000;
    while (!envelopes.some((e) => e.raw.includes('refused by the test')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const envelope = envelopes.find((e) => e.raw.includes('refused by the test'));
    expect(envelope, JSON.stringify(envelopes.map((e) => e.path))).toBeDefined();
    expect(envelope!.path.split('?')[0]).toBe('/api/42/envelope/');
    const event = envelope!.items.find((i) => i.exception) as {
      exception: { values: { type: string; value: string }[] };
      tags: Record<string, string>;
      environment: string;
    };
    // the cause chain: Drizzle's query error and the driver's error under it
    const values = event.exception.values.map((v) => v.value);
    expect(values).toHaveLength(2);
    expect(values.join('\n')).toMatch(
      /Failed query[\s\S]*refused by the test|refused by the test[\s\S]*Failed query/,
    );
    expect(event.tags.request_id).toBe(request_id);
    expect(event.environment).toBe('development');
    // the query text is there, its parameters (the key hash, the prefix) are not; nor the secrets
    expect(envelope!.raw).toMatch(/insert into .{0,3}api_keys/);
    expect(envelope!.raw).toContain('params: [REDACTED]');
    expect(envelope!.raw).not.toMatch(/\b[0-9a-f]{64}\b/);
    expect(envelope!.raw).not.toMatch(/vw_[A-Za-z0-9_-]{8,}/);
    expect(envelope!.raw).not.toContain(SECRET_KEY);
    expect(envelope!.raw).not.toContain(token);
  }, 60_000);

  it('a handled error (a 4xx) is not reported', async () => {
    const before = envelopes.length;
    const res = await fetch(`${server.url}/api/auth/me`);
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 1500));
    expect(envelopes.slice(before).filter((e) => e.raw.includes('"exception"'))).toEqual([]);
  });
});
