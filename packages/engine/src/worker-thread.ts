/**
 * Starting the engine's TypeScript worker threads. The bootstrap registers tsx's loader inside the worker and then
 * imports the TypeScript entry, which works under vitest, tsx and `node --import tsx`. Without tsx installed the
 * entry is started directly and relies on the loader flags the worker inherits from the process.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

let tsxApiUrl: string | null | undefined;
function tsxRegisterUrl(): string | null {
  if (tsxApiUrl === undefined) {
    try {
      const req = createRequire(import.meta.url);
      // the ESM build of tsx's API (its package `exports` hand CommonJS to require.resolve)
      const cjs = req.resolve('tsx/esm/api');
      tsxApiUrl = pathToFileURL(cjs.replace(/index\.cjs$/, 'index.mjs')).href;
    } catch {
      tsxApiUrl = null;
    }
  }
  return tsxApiUrl;
}

/** Starts a worker thread running the TypeScript module `entry`. */
export function startTsWorker(entry: URL, options: WorkerOptions = {}): Worker {
  const tsx = tsxRegisterUrl();
  if (!tsx) return new Worker(entry, options);
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}
