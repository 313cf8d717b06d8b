/**
 * Issue 26 F4: a NUL byte (which PostgreSQL refuses in text and jsonb) in any free-text field answers a clear 422
 * `{"detail": …}` naming the field, never a 5xx. The list of fields is derived from `/api/openapi.json`, so a new
 * route or field is covered without touching this file: every string in every JSON body (nested objects and arrays
 * included), every string query and path parameter, and the upload's multipart text fields.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandlers } from '../src/core/http/errors.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser, type TestUser } from './helpers/users.ts';

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minimum?: number;
  minLength?: number;
  minItems?: number;
  $ref?: string;
};
type Operation = {
  requestBody?: { content: Record<string, { schema: Schema }> };
  parameters?: { name: string; in: string; schema?: Schema; required?: boolean }[];
};
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

const NUL = 'wake\u0000word';
const ADMIN_TOKEN = 'nul-test-admin-token-0123456789abcdef';
let server: TestServer;
let user: TestUser;
let doc: Doc;

beforeAll(async () => {
  server = await startTestServer({ workers: false, env: { VIOLAWAKE_ADMIN_TOKEN: ADMIN_TOKEN } });
  user = await createUser(server);
  const res = await fetch(`${server.url}/api/openapi.json`);
  doc = (await res.json()) as Doc;
}, 60_000);
afterAll(() => server?.close());

function resolve(s: Schema): Schema {
  if (s.$ref) return resolve(doc.components?.schemas?.[s.$ref.split('/').pop()!] ?? {});
  if (s.allOf) return resolve(Object.assign({}, ...s.allOf.map(resolve)));
  const alt = s.anyOf ?? s.oneOf;
  if (alt) return resolve(alt.find((a) => resolve(a).type !== 'null') ?? alt[0]!);
  return s;
}

function typeOf(s: Schema): string | undefined {
  return Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
}

/** A value that satisfies the schema (enough to reach the field under test). */
function sample(raw: Schema): unknown {
  const s = resolve(raw);
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) out[k] = sample(s.properties?.[k] ?? {});
      return out;
    }
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items ?? {}));
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return false;
    default:
      if (s.format === 'email') return 'someone@example.com';
      if (s.format === 'uuid') return randomUUID();
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
  }
}

/** Every path to a string inside the schema, with a body carrying NUL there. */
function stringPaths(raw: Schema, at: (string | number)[] = [], depth = 0): (string | number)[][] {
  if (depth > 6) return [];
  const s = resolve(raw);
  const t = typeOf(s);
  if (t === 'string' || (!t && !s.properties && !s.items && s.enum === undefined)) return s.enum ? [] : [at];
  if (t === 'object' || s.properties) {
    return Object.entries(s.properties ?? {}).flatMap(([k, v]) => stringPaths(v, [...at, k], depth + 1));
  }
  if (t === 'array' && s.items) return stringPaths(s.items, [...at, 0], depth + 1);
  return [];
}

function withValue(body: unknown, schema: Schema, at: (string | number)[], value: unknown): unknown {
  if (at.length === 0) return value;
  const s = resolve(schema);
  const [head, ...rest] = at;
  if (typeof head === 'number') {
    const arr = Array.isArray(body) && body.length ? [...body] : [sample(s.items ?? {})];
    arr[0] = withValue(arr[0], s.items ?? {}, rest, value);
    return arr;
  }
  const obj = { ...((body as Record<string, unknown>) ?? {}) };
  const child = s.properties?.[head!] ?? {};
  obj[head!] = withValue(obj[head!] ?? sample(child), child, rest, value);
  return obj;
}

interface Case {
  label: string;
  method: string;
  url: string;
  init: RequestInit;
  field: string;
}

function cases(): Case[] {
  const out: Case[] = [];
  const auth = { Authorization: `Bearer ${user.token}`, 'X-Admin-Token': ADMIN_TOKEN };
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params = op.parameters ?? [];
      const pathValue = (name: string, nul: boolean) => {
        if (nul) return encodeURIComponent(NUL);
        const p = params.find((x) => x.in === 'path' && x.name === name);
        return encodeURIComponent(String(sample(p?.schema ?? {})));
      };
      const urlWith = (nulParam: string | null, query: Record<string, string> = {}) => {
        const p = route.replace(/\{([^}]+)\}/g, (_, n: string) => pathValue(n, n === nulParam));
        const q = new URLSearchParams(query).toString();
        return `${server.url}${p}${q ? `?${q}` : ''}`;
      };
      const json = op.requestBody?.content?.['application/json']?.schema;
      const baseBody = json ? sample(json) : undefined;
      const baseInit = (): RequestInit => ({
        method: method.toUpperCase(),
        headers: { ...auth, ...(json ? { 'Content-Type': 'application/json' } : {}) },
        ...(json ? { body: JSON.stringify(baseBody) } : {}),
      });
      for (const p of params) {
        const s = resolve(p.schema ?? {});
        if (typeOf(s) !== 'string' || s.enum) continue;
        if (p.in === 'path') {
          out.push({
            label: `${method} ${route} path ${p.name}`,
            method,
            url: urlWith(p.name),
            init: baseInit(),
            field: p.name,
          });
        } else if (p.in === 'query') {
          out.push({
            label: `${method} ${route} query ${p.name}`,
            method,
            url: urlWith(null, { [p.name]: NUL }),
            init: baseInit(),
            field: p.name,
          });
        }
      }
      if (json) {
        for (const at of stringPaths(json)) {
          const body = withValue(baseBody, json, at, NUL);
          out.push({
            label: `${method} ${route} body ${at.join('.')}`,
            method,
            url: urlWith(null),
            init: { ...baseInit(), body: JSON.stringify(body) },
            field: String(at[at.length - 1]),
          });
        }
      }
      const multipart = op.requestBody?.content?.['multipart/form-data']?.schema;
      if (multipart) {
        const m = resolve(multipart);
        for (const [name, raw] of Object.entries(m.properties ?? {})) {
          const f = resolve(raw);
          if (typeOf(f) !== 'string' || f.format === 'binary') continue;
          out.push({
            label: `${method} ${route} multipart ${name}`,
            method,
            url: urlWith(null),
            init: () => {
              const form = new FormData();
              for (const [other, o] of Object.entries(m.properties ?? {})) {
                const os = resolve(o);
                if (os.format === 'binary') form.append(other, new Blob([new Uint8Array(64)]), 'take.wav');
                else if (other === name) form.append(other, NUL);
                else if (other !== 'take') form.append(other, String(sample(os)));
              }
              return { method: method.toUpperCase(), headers: auth, body: form };
            },
            field: name,
          } as unknown as Case);
        }
      }
    }
  }
  return out;
}

describe('NUL bytes in free-text fields', () => {
  it('the OpenAPI document yields the free-text fields of every route (teams, keys, wake words, names …)', () => {
    const labels = cases().map((c) => c.label);
    if (process.env.NUL_TEST_LIST) console.log(labels.join('\n'));
    expect(labels.length).toBeGreaterThan(25);
    for (const expected of [
      /post \/api\/teams body name/,
      /post \/api\/auth\/api-keys body name/,
      /post \/api\/auth\/register body name/,
      /post \/api\/recordings\/upload multipart wake_word/,
      /post \/api\/jobs body wake_word/,
      /\/invite body email/,
      /invitations\/accept body token/,
    ]) {
      expect(
        labels.some((l) => expected.test(l)),
        String(expected),
      ).toBe(true);
    }
  });

  it('every one answers 422 with {"detail": …} naming the field, none a 5xx', async () => {
    const failures: string[] = [];
    for (const c of cases()) {
      const init = typeof c.init === 'function' ? (c.init as () => RequestInit)() : c.init;
      const res = await fetch(c.url, init);
      const text = await res.text();
      let body: { detail?: unknown } = {};
      try {
        body = JSON.parse(text);
      } catch {
        // reported below
      }
      const detail = JSON.stringify(body.detail ?? null);
      if (
        res.status !== 422 ||
        body.detail === undefined ||
        !detail.includes(c.field) ||
        !/NUL/.test(detail)
      ) {
        failures.push(`${c.label}: ${res.status} ${text.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('the answer is exact and nothing is stored', async () => {
    // `\u0000` escaped inside JSON is what a client really sends; the guard sees the decoded character.
    const res = await fetch(`${server.url}/api/teams`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' },
      body: '{"name":"a\\u0000b"}',
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [
        {
          loc: ['body', 'name'],
          msg: 'Text must not contain NUL (\\u0000) characters',
          type: 'string_invalid_character',
        },
      ],
    });
    const rows = await server.ctx.db.execute(sql`SELECT count(*)::int AS n FROM teams`);
    expect((rows as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
  });

  it('a value PostgreSQL refuses anyway (text or jsonb, from a path the guard does not see) is a 422, not a 500', async () => {
    const app = Fastify();
    installErrorHandlers(app);
    app.post('/text', async () => server.ctx.db.execute(sql`SELECT ${'a\u0000b'}::text AS v`));
    app.post('/jsonb', async () => server.ctx.db.execute(sql`SELECT ${'{"a":"\\u0000"}'}::jsonb AS v`));
    for (const url of ['/text', '/jsonb']) {
      const res = await app.inject({ method: 'POST', url });
      expect(res.statusCode, url).toBe(422);
      expect(res.json().detail[0].msg).toMatch(/NUL/);
    }
    await app.close();
  });
});
