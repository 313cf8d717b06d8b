/**
 * Where SQL may live (docs/CONVENTIONS.md "Domains"): a domain's `queries.ts` (any `queries.ts` under src/) and the
 * database core `src/core/db/`. Every other source file under apps/server/src is scanned for SQL: `sql` templates,
 * statements run on a database handle (`db.select(`, `tx.insert(`, `.execute(`, `client.query(`…), `execRows(`,
 * value imports of drizzle-orm, and SQL keywords in code (comments are ignored).
 * `PENDING` lists the files not yet moved; it only shrinks: an entry whose file no longer has SQL fails the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Files that still hold SQL until their domain is split (remove the entry in the commit that moves it). */
const PENDING: ReadonlySet<string> = new Set([
  // empty: every file is moved; a new entry needs a reason and an owner
]);

const allowed = (rel: string) => rel.startsWith('core/db/') || path.basename(rel) === 'queries.ts';

/** Remove comments (line and block), keeping strings and template literals as they are. */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  let quote: string | null = null;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (quote) {
      out += c;
      if (c === '\\') {
        out += next ?? '';
        i += 2;
        continue;
      }
      if (c === quote) quote = null;
      i++;
      continue;
    }
    if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? source.length : end + 2;
      out += ' ';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    out += c;
    i++;
  }
  return out;
}

const RULES: { name: string; re: RegExp }[] = [
  { name: 'sql template', re: /\bsql\s*(`|\.raw\s*\(|\.join\s*\(|<)/ },
  {
    name: 'statement on a database handle',
    re: /\b(db|tx|trx|database|client|pool|conn)\s*(\)\s*)?\.\s*(select|selectDistinct|insert|update|delete|execute|query)\s*[(<]/,
  },
  { name: 'execRows', re: /\bexecRows\s*[(<]/ },
  { name: 'drizzle-orm value import', re: /import\s+(?!type\b)[^;]*?from\s+['"]drizzle-orm(\/[^'"]*)?['"]/ },
  {
    name: 'SQL keywords',
    re: /\b(SELECT\s+[\w*"(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|FOR\s+UPDATE|ON\s+CONFLICT|pg_notify|pg_try_advisory)/,
  },
];

/** The rules a source text breaks (after its comments are removed). */
export function sqlFindings(source: string): string[] {
  const code = stripComments(source);
  return RULES.filter((r) => r.re.test(code)).map((r) => r.name);
}

function sourceFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...sourceFiles(path.join(dir, e.name), r));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(r);
  }
  return out;
}

describe('SQL lives only in queries.ts files and the db core', () => {
  it('recognises SQL in its forms, and not in comments or ordinary calls', () => {
    expect(sqlFindings('const r = await db.select().from(users);')).toContain(
      'statement on a database handle',
    );
    expect(sqlFindings('await tx\n  .insert(users)\n  .values(v);')).toContain(
      'statement on a database handle',
    );
    expect(sqlFindings('await ctx.db.execute(q);')).toContain('statement on a database handle');
    expect(sqlFindings("await client.query('SELECT 1');")).toEqual(
      expect.arrayContaining(['statement on a database handle', 'SQL keywords']),
    );
    expect(sqlFindings('const q = sql`SELECT 1`;')).toEqual(expect.arrayContaining(['sql template']));
    expect(sqlFindings('const rows = await execRows<Row>(ctx.db, q);')).toContain('execRows');
    expect(sqlFindings("import { and, eq } from 'drizzle-orm';")).toContain('drizzle-orm value import');
    expect(sqlFindings("const s = 'DELETE FROM users WHERE id = $1';")).toContain('SQL keywords');
    // Not SQL: comments, type-only imports, storage and collection calls, English words.
    expect(
      sqlFindings('// db.select() SELECT id FROM users\n/* sql`x` DELETE FROM t */ const a = 1;'),
    ).toEqual([]);
    expect(sqlFindings("import type { SQL } from 'drizzle-orm';")).toEqual([]);
    expect(sqlFindings('await storage.delete(key); set.delete(1); map.update?.(x);')).toEqual([]);
    expect(sqlFindings("throw new HttpError(404, 'Select a model first');")).toEqual([]);
    expect(sqlFindings("const url = 'https://example.com/x'; // SELECT * FROM t")).toEqual([]);
  });

  it('finds no SQL outside queries.ts and core/db/ (except the pending files)', () => {
    const offenders: string[] = [];
    for (const rel of sourceFiles(SRC)) {
      if (allowed(rel) || PENDING.has(rel)) continue;
      const found = sqlFindings(readFileSync(path.join(SRC, rel), 'utf8'));
      if (found.length > 0) offenders.push(`${rel}: ${found.join(', ')}`);
    }
    expect(offenders).toEqual([]);
  });

  it('lists only pending files that exist and still hold SQL (the list only shrinks)', () => {
    const stale = [...PENDING].filter((rel) => {
      try {
        return sqlFindings(readFileSync(path.join(SRC, rel), 'utf8')).length === 0;
      } catch {
        return true;
      }
    });
    expect(stale).toEqual([]);
  });
});
