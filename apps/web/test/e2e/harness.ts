/**
 * Browser-test harness: Debian Chromium through playwright-core (fake microphone from a WAV file), the real server
 * as a child process (`test/e2e/server-process.mjs` = `violawake serve`, fresh PostgreSQL database, temp data dir,
 * free port) serving a fresh `vite build` of the console, and console-error collection.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Browser, type ConsoleMessage, chromium, type Page } from 'playwright-core';
import { findSpeech } from '../../src/audio/checks.ts';
import { decodeWav, encodeWav } from '../../src/audio/wav.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const webRoot = path.resolve(import.meta.dirname, '../..');
export const repoRoot = path.resolve(webRoot, '../..');
export const dataDir = path.resolve(repoRoot, '../shared/data/picovoice-dev');
export const artifactsDir = path.join(webRoot, 'test/artifacts');

function newestMtime(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Builds the console into apps/web/dist when any source is newer than the last build. Test files run in parallel,
 * so the build holds a directory lock (mkdir is atomic) and the others wait for it.
 */
export async function buildWeb(): Promise<void> {
  const lock = path.join(tmpdir(), 'violawake-web-build.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`could not take ${lock}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    const built = path.join(webRoot, 'dist/index.html');
    const sources = Math.max(
      newestMtime(path.join(webRoot, 'src')),
      newestMtime(path.join(webRoot, 'public')),
      newestMtime(path.join(repoRoot, 'packages/detector/src')),
      statSync(path.join(webRoot, 'index.html')).mtimeMs,
      statSync(path.join(webRoot, 'vite.config.ts')).mtimeMs,
    );
    if (existsSync(built) && statSync(built).mtimeMs > sources) return;
    const r = spawnSync(
      process.execPath,
      [path.join(webRoot, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'],
      {
        cwd: webRoot,
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function launch(fakeAudioFile?: string): Promise<Browser> {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
  ];
  if (fakeAudioFile) args.push(`--use-file-for-fake-audio-capture=${fakeAudioFile}`);
  return chromium.launch({ executablePath: CHROMIUM, args, headless: true });
}

export interface ConsoleLog {
  errors: string[];
}

/** Records console errors and uncaught page errors; `allow` filters expected ones (e.g. a deliberate 401). */
export function watchConsole(page: Page, allow: RegExp[] = []): ConsoleLog {
  const log: ConsoleLog = { errors: [] };
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return;
    const text = `${msg.text()} @ ${msg.location().url}`;
    if (!allow.some((re) => re.test(text))) log.errors.push(text);
  });
  page.on('pageerror', (err) => log.errors.push(`pageerror: ${err.message}`));
  return log;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

function wavFiles(word: 'computer' | 'snowboy'): string[] {
  const dir = path.join(dataDir, word);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * A fake-microphone file: the phrase of each chosen clip (found with the console's own `findSpeech`) followed by
 * silence, so every `period` seconds the microphone says the word once. Chromium loops the file.
 */
export function makeFakeMicFile(
  name: string,
  word: 'computer' | 'snowboy',
  from: number,
  count: number,
  period = 1.6,
): string {
  mkdirSync(artifactsDir, { recursive: true });
  const periodSamples = Math.round(period * 16000);
  const parts: Int16Array[] = [];
  for (const file of wavFiles(word).slice(from, from + count)) {
    const wav = decodeWav(readFileSync(file));
    const seg = findSpeech(wav.samples, wav.sampleRate, 0.05, 0.3);
    if (!seg) continue;
    const phrase = wav.samples.slice(seg.start, Math.min(seg.end, seg.start + periodSamples - 8000));
    const slot = new Int16Array(periodSamples);
    slot.set(phrase, 0);
    parts.push(slot);
  }
  const total = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    total.set(p, o);
    o += p.length;
  }
  // A real microphone is never digitally silent: add a deterministic noise floor around −66 dBFS.
  let seed = 12345;
  for (let i = 0; i < total.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    total[i] = Math.max(-32768, Math.min(32767, total[i] + Math.round((seed / 0x7fffffff - 0.5) * 30)));
  }
  const out = path.join(artifactsDir, `${name}.wav`);
  writeFileSync(out, Buffer.from(encodeWav(total, 16000)));
  return out;
}

const PG_ADMIN_URL = process.env.VIOLAWAKE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export interface RunningServer {
  url: string;
  /** The server's VIOLAWAKE_DATA_DIR (the log email provider writes messages to its mail/ folder). */
  dataDir: string;
  /** The server's own PostgreSQL database (tests seed rows in it). */
  dbUrl: string;
  /** The local storage root (VIOLAWAKE_STORAGE_DIR). */
  storageDir: string;
  logFile: string;
  /** Null while the process runs; how it ended otherwise. */
  exit(): string | null;
  /** Whether a route exists on this server (anything but 404 "Not Found" for the method). */
  has(method: string, route: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Starts `violawake serve` (API + workers) on a free port with its own database and data directory. */
export async function startServer(
  name: string,
  env: Record<string, string> = {},
  opts: { keepEngineCache?: boolean } = {},
): Promise<RunningServer> {
  mkdirSync(artifactsDir, { recursive: true });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vw-web-'));
  // The engine caches synthetic speech and lexicons under <data dir>/engine; a journey that trains keeps them in
  // a persistent data dir outside the repository so reruns do not regenerate them; storage stays per run.
  const serverDataDir = opts.keepEngineCache ? path.join(tmpdir(), 'violawake-web-e2e-engine-data') : dataDir;
  mkdirSync(serverDataDir, { recursive: true });
  const dbName = `vwweb_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(PG_ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const port = await freePort();
  const logFile = path.join(artifactsDir, `${name}-server.log`);
  const logStream = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, [path.join(webRoot, 'test/e2e/server-process.mjs')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      VIOLAWAKE_DATA_DIR: serverDataDir,
      VIOLAWAKE_STORAGE_DIR: path.join(dataDir, 'storage'),
      VIOLAWAKE_TMP_DIR: path.join(dataDir, 'tmp'),
      VIOLAWAKE_HOST: '127.0.0.1',
      VIOLAWAKE_PORT: String(port),
      VIOLAWAKE_DB_URL: dbUrl.toString(),
      VIOLAWAKE_SECRET_KEY: 'web-browser-test-secret-key-0123456789abcdef',
      VIOLAWAKE_EMAIL_PROVIDER: 'log',
      VIOLAWAKE_LOG_LEVEL: 'info',
      // no VIOLAWAKE_CONSOLE_BASE_URL: email links must default to the address the console is served on
      VIOLAWAKE_CORS_ORIGINS: `http://127.0.0.1:${port}`,
      // no background bank build: a page test must not start a full-scale build (a test may turn it on)
      VIOLAWAKE_BANK_PREBUILD: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(logStream);
  child.stderr?.pipe(logStream);
  const url = `http://127.0.0.1:${port}`;
  let closing = false;
  let exited = false;
  let exitInfo: string | null = null;
  child.once('exit', (code, signal) => {
    exited = true;
    exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (!closing) console.warn(`the test server ${exitInfo} while the test was running; see ${logFile}`);
  });
  const close = async () => {
    if (!exited) {
      closing = true;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    }
    await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) {
      await close();
      throw new Error(`the server exited during start-up; see ${logFile}`);
    }
    try {
      const res = await fetch(`${url}/api/health/ready`);
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`the server did not become ready; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    dataDir: serverDataDir,
    dbUrl: dbUrl.toString(),
    storageDir: path.join(dataDir, 'storage'),
    logFile,
    exit: () => exitInfo,
    async has(method: string, route: string) {
      const res = await fetch(url + route, {
        method,
        headers: { 'Content-Type': 'application/json' },
        body: method === 'GET' ? undefined : '{}',
      });
      if (res.status !== 404) return true;
      const body = (await res.json().catch(() => ({}))) as { detail?: unknown };
      return body.detail !== 'Not Found';
    },
    close,
  };
}

const readRepo = (rel: string) => {
  const file = path.join(repoRoot, rel);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

/** Whether the engine's training pipeline (`trainWakeWord` in packages/engine/src/pipeline/train.ts) exists. */
export function hasTrainingPipeline(): boolean {
  return /export\s+(async\s+)?function\s+trainWakeWord\b/.test(
    readRepo('packages/engine/src/pipeline/train.ts'),
  );
}
