import { spawn } from 'node:child_process';

export interface ProcResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program without a shell; resolves with its exit code and output (never rejects on exit code). */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { input?: string; signal?: AbortSignal; timeoutMs?: number; cwd?: string } = {},
): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 60_000,
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 10_000) err += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

const whichCache = new Map<string, Promise<boolean>>();

/** True when `cmd` is an executable on PATH. */
export function onPath(cmd: string): Promise<boolean> {
  let p = whichCache.get(cmd);
  if (!p) {
    p = (async () => {
      const { access, constants } = await import('node:fs/promises');
      const { delimiter, join } = await import('node:path');
      for (const dir of (process.env.PATH ?? '').split(delimiter)) {
        if (!dir) continue;
        try {
          await access(join(dir, cmd), constants.X_OK);
          return true;
        } catch {}
      }
      return false;
    })();
    whichCache.set(cmd, p);
  }
  return p;
}

/** Runs `fn` over items with at most `limit` in flight; results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
