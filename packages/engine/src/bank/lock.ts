/**
 * A cross-process file lock (docs/engine.md §6.7): `open(path, 'wx')` creates the lock file exclusively; the holder writes
 * its pid. A lock whose holder is no longer alive (same host) is considered stale and taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';

export interface FileLock {
  path: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AcquireOptions {
  /** Give up after this many milliseconds (default: wait forever). */
  timeoutMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once when the lock is found held by another live process. */
  onWait?: (holderPid: number) => void;
}

export async function acquireLock(path: string, opts: AcquireOptions = {}): Promise<FileLock> {
  const start = Date.now();
  const poll = opts.pollMs ?? 200;
  let notified = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    } catch {
      continue; // released between our attempts
    }
    if (Number.isNaN(holder) && Date.now() - start < 2000) {
      // the holder created the file but has not written its pid yet
    } else if (!alive(holder)) {
      await rm(path, { force: true });
      continue;
    } else if (!notified) {
      notified = true;
      opts.onWait?.(holder);
    }
    if (opts.timeoutMs !== undefined && Date.now() - start > opts.timeoutMs) {
      throw new Error(`timed out waiting for lock ${path} (held by pid ${holder})`);
    }
    await sleep(poll);
  }
}
