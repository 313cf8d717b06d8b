/**
 * The design the code cites lives in the repository (docs/api.md, docs/engine.md, docs/data-model.md): every
 * `docs/<file>.md §<n>` reference in sources, tests and docs names a section that exists, and nothing cites the
 * design documents outside the repository (`../shared/spec`, a bare `api.md §` or `engine.md §`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SKIP = new Set([
  'node_modules',
  'dist',
  '.git',
  'data',
  'test-results',
  '.cache',
  'results',
  'screenshots',
]);
const EXT = /\.(ts|tsx|mjs|js|md|sql)$/;

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files(p, out);
    else if (EXT.test(e.name) && !e.name.endsWith('generated.ts')) out.push(p);
  }
  return out;
}

/** Section numbers (`1`, `4.11`) of a design document's `##`/`###` headings. */
function sections(doc: string): Set<string> {
  const text = readFileSync(path.join(ROOT, 'docs', doc), 'utf8');
  return new Set([...text.matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1]!));
}

const DOCS = {
  api: sections('api.md'),
  engine: sections('engine.md'),
  'data-model': sections('data-model.md'),
};
// a reference and the section list that follows it: "docs/api.md §2.8, §4.1–§4.3 and §4.15"
const REF = /docs\/(api|engine|data-model)\.md`? ((?:§\d+(?:\.\d+)?(?:[–-]§?\d+(?:\.\d+)?)?(?:, | and )?)+)/g;
// outside the repository: the old spec folder, or a design file named without its docs/ folder
const OUTSIDE = /\.\.\/shared\/spec|(?<![\w/`.-])`?(?:api|engine)\.md`? ?§/;

describe('design references', () => {
  const all = files(ROOT).map((f) => ({ rel: path.relative(ROOT, f), text: readFileSync(f, 'utf8') }));

  it('scans the sources, tests and docs', () => {
    expect(all.length).toBeGreaterThan(300);
    expect(DOCS.api.has('4.5') && DOCS.engine.has('6.8') && DOCS['data-model'].has('2')).toBe(true);
  });

  it('point at sections that exist in docs/', () => {
    const broken: string[] = [];
    let count = 0;
    for (const { rel, text } of all) {
      for (const m of text.matchAll(REF)) {
        for (const sec of m[2]!.match(/\d+(?:\.\d+)?/g) ?? []) {
          count++;
          if (!DOCS[m[1] as keyof typeof DOCS].has(sec)) broken.push(`${rel}: docs/${m[1]}.md §${sec}`);
        }
      }
    }
    expect(count).toBeGreaterThan(100);
    expect(broken).toEqual([]);
  });

  it('never cite the design outside the repository', () => {
    const outside = all
      .filter(({ rel }) => rel !== 'apps/server/test/docs-references.test.ts')
      .flatMap(({ rel, text }) =>
        text
          .split('\n')
          .map((line, i) => ({ line, i }))
          .filter(({ line }) => OUTSIDE.test(line))
          .map(({ line, i }) => `${rel}:${i + 1}: ${line.trim()}`),
      );
    expect(outside).toEqual([]);
  });
});
