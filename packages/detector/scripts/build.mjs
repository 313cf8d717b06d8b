#!/usr/bin/env node
/**
 * Builds the publishable package (docs/formats.md, "@violawake/detector as a package"):
 *   node scripts/build.mjs             dist/: ES2022 JavaScript + .d.ts from src/ (tsc, tsconfig.build.json)
 *   node scripts/build.mjs --prepack   the build, then package.json takes its `publishConfig` fields (exports to
 *                                      dist/ with types/import conditions, main, types); the original is kept
 *   node scripts/build.mjs --postpack  restores the original package.json (the workspace resolves src/)
 * `npm pack` and `npm publish` run the last two through the prepack/postpack scripts, so the tarball's package.json
 * points at dist/ while the monorepo keeps developing against the TypeScript sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkgPath = join(root, 'package.json');
const backup = join(root, 'package.json.workspace');
const mode = process.argv[2];

function build() {
  const dist = join(root, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const tsc = createRequire(pkgPath).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // tsc rewrites the relative `.ts` specifiers of the JavaScript it emits, not those of the declarations
  for (const f of readdirSync(dist)) {
    if (!f.endsWith('.d.ts')) continue;
    const file = join(dist, f);
    const src = readFileSync(file, 'utf8');
    writeFileSync(file, src.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2'));
  }
  for (const f of readdirSync(dist)) {
    if (/\.(d\.ts|js)$/.test(f) && /['"]\.{1,2}\/[^'"]+\.ts['"]/.test(readFileSync(join(dist, f), 'utf8')))
      throw new Error(`dist/${f} still imports a .ts file`);
  }
}

if (mode === '--postpack') {
  if (existsSync(backup)) renameSync(backup, pkgPath);
} else {
  build();
  if (mode === '--prepack') {
    const original = readFileSync(pkgPath, 'utf8');
    const pkg = JSON.parse(original);
    if (!pkg.publishConfig?.exports) throw new Error('package.json has no publishConfig.exports');
    if (!existsSync(backup)) writeFileSync(backup, original);
    const { exports, main, types, ...rest } = pkg.publishConfig;
    const published = { ...pkg, exports, main, types };
    if (Object.keys(rest).length) published.publishConfig = rest;
    else delete published.publishConfig;
    writeFileSync(pkgPath, `${JSON.stringify(published, null, 2)}\n`);
  }
}
