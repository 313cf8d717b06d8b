/**
 * The API as a product (docs/api.md): walks `/api/openapi.json` and calls every operation without credentials. An
 * operation that answers 401 (or the admin routes' 403) must declare `security`; every operation has a summary; the
 * upload, the downloads and the SSE stream declare what they really take.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';

type Operation = {
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: any }> };
  parameters?: { name: string; in: string }[];
  operationId?: string;
};
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
};

let server: TestServer;
let doc: Doc;
beforeAll(async () => {
  server = await startTestServer({ workers: false });
  const res = await fetch(`${server.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
});
afterAll(() => server?.close());

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
function operations(): { path: string; method: string; op: Operation }[] {
  const out: { path: string; method: string; op: Operation }[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) if (item[m]) out.push({ path: p, method: m, op: item[m]! });
  }
  return out;
}

describe('OpenAPI document', () => {
  it('lists the routes of every domain', () => {
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThan(40);
    for (const p of [
      '/api/recordings/upload',
      '/api/jobs',
      '/api/models/{model_id}/download',
      '/api/auth/login',
    ]) {
      expect(paths).toContain(p);
    }
  });

  it('gives every operation a summary', () => {
    const missing = operations()
      .filter(({ op }) => !op.summary || op.summary.trim().length < 5)
      .map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    expect(missing).toEqual([]);
  });

  it('declares security on every operation that refuses an anonymous caller, with known schemes', async () => {
    const schemes = Object.keys(doc.components.securitySchemes);
    const undeclared: string[] = [];
    const unknownScheme: string[] = [];
    let refused = 0;
    for (const { path, method, op } of operations()) {
      for (const req of op.security ?? []) {
        for (const name of Object.keys(req))
          if (!schemes.includes(name)) unknownScheme.push(`${path} ${name}`);
      }
      const url = server.url + path.replace(/\{[^}]+\}/g, '1');
      const hasBody = method !== 'get' && method !== 'delete';
      const res = await fetch(url, {
        method: method.toUpperCase(),
        headers: hasBody ? { 'Content-Type': 'application/json' } : {},
        body: hasBody ? '{}' : undefined,
        redirect: 'manual',
      });
      await res.body?.cancel();
      // 503 only where a provider is not configured (billing without Stripe); never another 5xx.
      expect([500, 501, 502, 504], `${method} ${path}`).not.toContain(res.status);
      if (res.status === 401 || res.status === 403) {
        refused++;
        if (!op.security || op.security.length === 0) undeclared.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(unknownScheme).toEqual([]);
    expect(undeclared).toEqual([]);
    expect(refused).toBeGreaterThan(30);
  });

  it('documents the recording upload as multipart with its fields', () => {
    const op = doc.paths['/api/recordings/upload']!.post!;
    const schema = op.requestBody!.content['multipart/form-data']!.schema;
    expect(schema.required).toEqual(expect.arrayContaining(['file', 'wake_word']));
    expect(schema.properties.file).toMatchObject({ type: 'string', format: 'binary' });
    expect(schema.properties.wake_word.type).toBe('string');
    expect(op.security).toEqual([{ bearer: [] }]);
  });

  it('declares both ways to authenticate a download or an event stream', () => {
    const both = [{ bearer: [] }, { downloadToken: [] }];
    for (const p of ['/api/models/{model_id}/download', '/api/training/stream/{job_id}']) {
      const op = doc.paths[p]!.get!;
      expect(op.security, p).toEqual(both);
    }
    // @fastify/swagger documents the query `token` through this scheme (and drops it from the parameters).
    expect(doc.components.securitySchemes.downloadToken).toMatchObject({
      type: 'apiKey',
      in: 'query',
      name: 'token',
    });
  });

  it('has one training endpoint and documents the other as its alias', () => {
    const jobs = doc.paths['/api/jobs']!.post!;
    const alias = doc.paths['/api/training/start']!.post!;
    expect(jobs.description ?? '').not.toMatch(/alias/i);
    expect(alias.description).toMatch(/alias of `?POST \/api\/jobs`?/i);
    expect(alias.requestBody).toEqual(jobs.requestBody);
  });
});
