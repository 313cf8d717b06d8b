import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { SERVER_BIN } from './repo.ts';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * `violawake serve` as a real process on 127.0.0.1:`port` with the given database and data dir (plus `env`);
 * stdout and stderr are piped. The working directory is the data dir unless `cwd` is given.
 */
export function spawnServe(o: {
  dbUrl: string;
  dataDir: string;
  port: number;
  env?: Record<string, string>;
  cwd?: string;
}): ChildProcess {
  return spawn(process.execPath, [SERVER_BIN, 'serve'], {
    cwd: o.cwd ?? o.dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      VIOLAWAKE_DB_URL: o.dbUrl,
      VIOLAWAKE_DATA_DIR: o.dataDir,
      VIOLAWAKE_PORT: String(o.port),
      VIOLAWAKE_HOST: '127.0.0.1',
      VIOLAWAKE_BANK_PREBUILD: 'false',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
