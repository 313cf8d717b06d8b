/**
 * A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temporary directory, trust auth, 127.0.0.1 and a
 * free port), for tests that stop or restart the server: the shared one on 5432 is never touched. As root the
 * cluster runs as the `postgres` user (initdb refuses root).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './spawn.ts';

function pgBin(name: string): string {
  for (const v of ['17', '16', '15', '14', '13']) {
    const p = `/usr/lib/postgresql/${v}/bin/${name}`;
    if (existsSync(p)) return p;
  }
  return name;
}

export interface OwnPostgres {
  url: string;
  port: number;
  /** `pg_ctl restart`; `immediate` is a crash (no checkpoint, every session cut). */
  restart(mode?: 'fast' | 'immediate'): void;
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  /** Stop and delete the cluster. */
  destroy(): void;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const root = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'vw-own-pg-'));
  const data = path.join(dir, 'data');
  if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), -1);
  const run = (bin: string, args: string[]) =>
    root
      ? execFileSync('runuser', ['-u', 'postgres', '--', pgBin(bin), ...args], {
          stdio: 'pipe',
          timeout: 120_000,
        })
      : execFileSync(pgBin(bin), args, { stdio: 'pipe', timeout: 120_000 });
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = () => run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', 'start']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    restart(mode = 'immediate') {
      run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-m', mode, '-w', 'restart']);
    },
    stop(mode = 'fast') {
      run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
    },
    destroy() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
