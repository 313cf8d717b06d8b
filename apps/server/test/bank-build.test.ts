/**
 * The negative bank's background build (training/bank-build.ts): a worker-role process builds it at start in a child
 * process, an API-role process on the same database and data dir shows building → ready in /api/health/details and
 * GET /api/training/bank; VIOLAWAKE_BANK_PREBUILD=false builds nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.ts';
import { createLogger } from '../src/core/logger.ts';
import { startServer } from '../src/server.ts';
import { startTestServer } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { createUser } from './helpers/users.ts';

const ADMIN = 'bank-build-admin-token-0123456789';
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('background bank build', () => {
  it('a worker-role start builds the bank; health details show building, then ready', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const dataDir = mkdtempSync(path.join(tmpdir(), 'vw-bank-build-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    // a fresh bank folder (the bank is really built), the shared synthesis cache (the speech is deterministic)
    const synthCache = path.join(tmpdir(), 'violawake-test-engine-cache', 'synth-cache');
    mkdirSync(synthCache, { recursive: true });
    mkdirSync(path.join(dataDir, 'engine'), { recursive: true });
    symlinkSync(synthCache, path.join(dataDir, 'engine', 'synth-cache'), 'dir');
    const env = {
      VIOLAWAKE_DATA_DIR: dataDir,
      VIOLAWAKE_DB_URL: db.url,
      VIOLAWAKE_SECRET_KEY: 'test-secret-key-for-the-test-suite-0123456789',
      VIOLAWAKE_ADMIN_TOKEN: ADMIN,
      VIOLAWAKE_LOG_LEVEL: 'silent',
      VIOLAWAKE_HOST: '127.0.0.1',
      VIOLAWAKE_PORT: '0',
      VIOLAWAKE_ENGINE_BANK_SCALE: '0.002',
      VIOLAWAKE_SHUTDOWN_GRACE_SECONDS: '5',
    };
    const logger = createLogger({ level: 'silent' });
    const api = await startServer({
      config: loadConfig({ ...env, VIOLAWAKE_ROLE: 'api' }, dataDir),
      http: true,
      workers: false,
      logger,
    });
    cleanups.push(() => api.close());
    const worker = await startServer({
      config: loadConfig({ ...env, VIOLAWAKE_ROLE: 'worker' }, dataDir),
      http: false,
      workers: true,
      logger,
    });
    cleanups.push(() => worker.close());
    const user = await createUser({ ctx: api.ctx } as never);

    const seen: { state: string; done: number | null; total: number | null; eta_s: number | null }[] = [];
    const consoleSeen: string[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const res = await fetch(`${api.url}/api/health/details`, { headers: { 'x-admin-token': ADMIN } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { negative_bank: (typeof seen)[number] & { reason: string | null } };
      seen.push(body.negative_bank);
      // the worker's own (unthrottled) status too: the block counts while it builds
      const own = worker.ctx.bankBuild?.current;
      if (own) seen.push(own);
      const c = await fetch(`${api.url}/api/training/bank`, {
        headers: { Authorization: `Bearer ${user.token}` },
      });
      expect(c.status).toBe(200);
      consoleSeen.push(((await c.json()) as { state: string }).state);
      if (body.negative_bank.state === 'ready' || body.negative_bank.state === 'failed') break;
      if (Date.now() > deadline) throw new Error(`bank not ready: ${JSON.stringify(seen.slice(-3))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.at(-1)?.state === 'ready' || seen.at(-2)?.state === 'ready').toBe(true);
    const building = seen.filter((s) => s.state === 'building');
    expect(building.length).toBeGreaterThan(0);
    const counted = building.filter((s) => s.total !== null);
    expect(counted.length).toBeGreaterThan(0);
    for (const s of counted) {
      expect(s.total).toBeGreaterThanOrEqual(4);
      expect(s.done).toBeGreaterThanOrEqual(0);
      expect(s.done).toBeLessThanOrEqual(s.total as number);
    }
    expect(consoleSeen).toContain('building');
    expect(consoleSeen.at(-1)).toBe('ready');
    // the console route needs a login
    expect((await fetch(`${api.url}/api/training/bank`)).status).toBe(401);
    // a complete bank folder under the key a default job uses, and no build lock or status of a build left behind
    const root = path.join(dataDir, 'engine', 'bank');
    const keys = readdirSync(root).filter((f) => !f.startsWith('.'));
    expect(keys).toHaveLength(1);
    expect(existsSync(path.join(root, keys[0] as string, 'index.json'))).toBe(true);
    expect(existsSync(path.join(root, '.build.lock'))).toBe(false);
    expect(existsSync(path.join(root, '.build-status.json'))).toBe(false);
    // and the held-out bank a job uses (real recordings / the held-out engine), when this machine has its sources
    const heldout = path.join(dataDir, 'engine', 'heldout');
    if (existsSync(heldout)) expect(readdirSync(heldout).some((f) => !f.startsWith('.'))).toBe(true);
  }, 180_000);

  it('VIOLAWAKE_BANK_PREBUILD=false builds nothing', async () => {
    // test servers share one engine cache (helpers/app.ts), where another test's process may have left a status
    // file: what must hold is that this server did not write one
    const sharedStatus = path.join(tmpdir(), 'violawake-test-engine-cache', 'bank-status.json');
    const before = existsSync(sharedStatus) ? statSync(sharedStatus).mtimeMs : null;
    const server = await startTestServer({
      env: { VIOLAWAKE_BANK_PREBUILD: 'false', VIOLAWAKE_ADMIN_TOKEN: ADMIN },
    });
    cleanups.push(() => server.close());
    await new Promise((r) => setTimeout(r, 1500));
    const res = await fetch(`${server.url}/api/health/details`, { headers: { 'x-admin-token': ADMIN } });
    const body = (await res.json()) as { negative_bank: { state: string } };
    expect(body.negative_bank.state).toBe('disabled');
    expect(server.ctx.bankBuild?.current.state).toBe('disabled');
    const status = path.join(server.dataDir, 'engine', 'bank-status.json');
    expect(existsSync(status) ? statSync(status).mtimeMs : null).toBe(before);
  });
});
