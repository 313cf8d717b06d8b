/**
 * Real `violawake` processes for crash and topology tests: spawn `serve`, `serve --no-workers` or `worker` with an
 * environment, keep their output, wait for readiness, stop them with a signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT, SERVER_BIN } from './repo.ts';
import { freePort } from './spawn.ts';

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Base URL when the process serves HTTP. */
  url: string | null;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnViolawake(
  name: string,
  args: string[],
  env: Record<string, string>,
  opts: { http?: boolean; readyMs?: number } = {},
): Promise<Proc> {
  const port = opts.http === false ? 0 : await freePort();
  const child = spawn(process.execPath, [SERVER_BIN, ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      // no background bank build unless a test asks for one (as helpers/app.ts and helpers/spawn.ts)
      VIOLAWAKE_BANK_PREBUILD: 'false',
      VIOLAWAKE_HOST: '127.0.0.1',
      VIOLAWAKE_PORT: String(port),
      // a worker has no readiness probe: its 'workers started' line (info) is the signal
      VIOLAWAKE_LOG_LEVEL: opts.http === false ? 'info' : 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = opts.http === false ? null : `http://127.0.0.1:${port}`;
  const proc: Proc = {
    name,
    child,
    url,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill(signal);
      }),
  };
  if (url) await waitReady(proc, opts.readyMs ?? 120_000);
  else await waitForOutput(proc, /workers started/, opts.readyMs ?? 120_000);
  return proc;
}

/** Until `/api/health/ready` answers 200 (a cold start compiles the sources with tsx: slow on a loaded machine). */
export async function waitReady(p: Proc, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}):\n${p.output()}`);
    const ok = await fetch(`${p.url}/api/health/ready`, { signal: AbortSignal.timeout(5000) }).then(
      async (r) => {
        last = `${r.status} ${(await r.text()).slice(0, 300)}`;
        return r.status === 200;
      },
      (e: unknown) => {
        last = String(e);
        return false;
      },
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${p.name} not ready after ${ms} ms: ${last}\n${p.output().slice(-3000)}`);
}

export async function waitForOutput(p: Proc, re: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(p.output())) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}):\n${p.output()}`);
    if (Date.now() > deadline)
      throw new Error(`${p.name}: no ${re} after ${ms} ms:\n${p.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let lastErr: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastErr ? `: ${lastErr}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Register (development: verified at once by the log provider) and log in over HTTP; returns auth headers. */
export async function registerAndLogin(url: string, email: string): Promise<Record<string, string>> {
  const password = 'correct horse battery staple 9';
  const reg = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, name: 'Crash' }),
  });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const login = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  return { Authorization: `Bearer ${token}` };
}
