import { resolve } from 'node:path';

/** Data directory of the engine commands: `VIOLAWAKE_DATA_DIR`, else `./data` (the server's default). */
export function engineDataDir(): string {
  return resolve(process.env.VIOLAWAKE_DATA_DIR ?? 'data');
}
