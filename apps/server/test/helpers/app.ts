/**
 * A real server for tests: fresh database (PostgreSQL or PGlite), temporary data dir, HTTP on 127.0.0.1 with a
 * free port, the real lifecycle of `startServer`. Environment overrides go through `env` (VIOLAWAKE_* names).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../src/core/clock.ts';
import { loadConfig } from '../../src/core/config.ts';
import type { AppContext } from '../../src/core/context.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer } from '../../src/server.ts';
import { createTestDatabase, type Driver, type TestDatabase } from './db.ts';

export interface TestServer {
  ctx: AppContext;
  app: FastifyInstance;
  url: string;
  dataDir: string;
  dbUrl: string | null;
  driver: Driver;
  close(): Promise<void>;
}

export interface TestServerOptions {
  driver?: Driver;
  env?: Record<string, string>;
  clock?: Clock;
  workers?: boolean;
  /** Reuse an existing database (e.g. a second process on the same database). */
  database?: TestDatabase;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const driver = opts.driver ?? 'postgres';
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vw-test-'));
  // The engine's negative bank and synthesis cache are deterministic and safe to share (file lock + atomic
  // rename): every test server reuses one cache instead of rebuilding it.
  const engineCache = path.join(tmpdir(), 'violawake-test-engine-cache');
  mkdirSync(engineCache, { recursive: true });
  symlinkSync(engineCache, path.join(dataDir, 'engine'), 'dir');
  const ownDb = driver === 'postgres' && !opts.database ? await createTestDatabase() : null;
  const database = opts.database ?? ownDb;
  const env: Record<string, string> = {
    VIOLAWAKE_DATA_DIR: dataDir,
    VIOLAWAKE_HOST: '127.0.0.1',
    VIOLAWAKE_PORT: '0',
    VIOLAWAKE_SECRET_KEY: 'test-secret-key-for-the-test-suite-0123456789',
    VIOLAWAKE_LOG_LEVEL: process.env.VIOLAWAKE_TEST_LOG ?? 'silent',
    VIOLAWAKE_SHUTDOWN_GRACE_SECONDS: '5',
    // no background bank build unless a test asks for one (bank-build.test.ts)
    VIOLAWAKE_BANK_PREBUILD: 'false',
    ...(database ? { VIOLAWAKE_DB_URL: database.url } : {}),
    ...opts.env,
  };
  const config = loadConfig(env, dataDir);
  const logger = createLogger({ level: config.logLevel });
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer({
      config,
      http: true,
      workers: opts.workers ?? true,
      logger,
      clock: opts.clock,
    });
  } catch (err) {
    await ownDb?.drop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  return {
    ctx: running.ctx,
    app: running.app!,
    url: running.url!,
    dataDir,
    dbUrl: database?.url ?? null,
    driver,
    async close() {
      if (closed) return;
      closed = true;
      await running.close();
      await ownDb?.drop().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
