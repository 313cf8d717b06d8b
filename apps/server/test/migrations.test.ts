import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/core/db/client.ts';
import { MIGRATIONS_FOLDER, runMigrations } from '../src/core/db/migrate.ts';

const MIGRATION_COUNT: number = JSON.parse(
  readFileSync(path.join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8'),
).entries.length;

import { createTestDatabase, DRIVERS, type TestDatabase } from './helpers/db.ts';
import { freePort, spawnServe } from './helpers/spawn.ts';

const TABLES = [
  'users',
  'api_keys',
  'revoked_tokens',
  'download_tokens',
  'email_outbox',
  'recordings',
  'training_jobs',
  'trained_models',
  'subscriptions',
  'usage_records',
  'processed_stripe_events',
  'circuit_breakers',
  'teams',
  'team_members',
  'team_invitations',
];

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c().catch(() => {});
});

describe.each(DRIVERS)('migrations on %s', (driver) => {
  it('apply to an empty database, and re-running them is a no-op', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'vw-mig-'));
    let db: TestDatabase | null = null;
    if (driver === 'postgres') db = await createTestDatabase();
    cleanups.push(async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await db?.drop();
    });
    const database = await openDatabase({ dbUrl: db?.url ?? null, dataDir });
    try {
      const first = await runMigrations(database);
      expect(first.applied).toBe(MIGRATION_COUNT);
      const second = await runMigrations(database);
      expect(second.applied).toBe(0);
      const tables = await database.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(TABLES));
      // Constraints of the data model hold on this driver.
      await database.query(
        `INSERT INTO users (email, password_hash, name) VALUES ('a@example.com', 'h', 'A')`,
      );
      await expect(
        database.query(`INSERT INTO users (email, password_hash, name) VALUES ('B@example.com', 'h', 'B')`),
      ).rejects.toThrow(/users_email_lower/);
      const user = (await database.query<{ id: number }>('SELECT id FROM users')).rows[0]!;
      expect(typeof user.id).toBe('number');
      await database.query(`INSERT INTO teams (name, owner_id) VALUES ('T', $1)`, [user.id]);
      await database.query(
        `INSERT INTO training_jobs (user_id, wake_word, recording_ids, priority, usage_period_start) VALUES ($1, 'hey', '{1,2}', 0, now())`,
        [user.id],
      );
      await expect(
        database.query(
          `INSERT INTO training_jobs (user_id, wake_word, recording_ids, priority, usage_period_start) VALUES ($1, 'hey', '{1}', 5, now())`,
          [user.id],
        ),
      ).rejects.toThrow(/training_jobs_priority_check/);
      // Deleting a user cascades through every table without a foreign-key error.
      await database.query('DELETE FROM users WHERE id = $1', [user.id]);
      expect((await database.query('SELECT 1 FROM teams')).rows).toHaveLength(0);
    } finally {
      await database.close();
    }
  });
});

function waitReady(url: string, child: ChildProcess, timeoutMs: number, log: () => string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (child.exitCode !== null)
        return reject(new Error(`server exited with ${child.exitCode}; its output:\n${log().slice(-4000)}`));
      try {
        const res = await fetch(`${url}/api/health/ready`);
        if (res.status === 200) return resolve(Date.now() - started);
      } catch {
        /* not listening yet */
      }
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`not ready in time; its output:\n${log().slice(-4000)}`));
      setTimeout(tick, 200);
    };
    void tick();
  });
}

describe('two servers started at the same moment on one empty PostgreSQL database', {
  timeout: 150_000,
}, () => {
  it('both come up and the migrations run once', async () => {
    const db = await createTestDatabase();
    const children: ChildProcess[] = [];
    const dirs: string[] = [];
    cleanups.push(async () => {
      for (const c of children) c.kill('SIGKILL');
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      await db.drop();
    });
    const ports = [await freePort()];
    while (ports.length < 2) {
      const p = await freePort();
      if (p !== ports[0]) ports.push(p);
    }
    const logs: string[] = ['', ''];
    ports.forEach((port, i) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'vw-two-'));
      dirs.push(dir);
      const child = spawnServe({ dbUrl: db.url, dataDir: dir, port });
      child.stdout!.on('data', (d) => (logs[i] += d));
      child.stderr!.on('data', (d) => (logs[i] += d));
      children.push(child);
    });
    await Promise.all(
      ports.map((p, i) => waitReady(`http://127.0.0.1:${p}`, children[i]!, 120_000, () => logs[i]!)),
    );
    // Log lines are written asynchronously: wait until both start-up lines arrived.
    for (let i = 0; i < 100 && !logs.every((l) => l.includes('database migrated')); i++)
      await new Promise((r) => setTimeout(r, 100));
    const applied = logs.map((l) => {
      const line = l.split('\n').find((x) => x.includes('database migrated'));
      return line ? JSON.parse(line).applied : null;
    });
    expect(applied.sort()).toEqual([0, MIGRATION_COUNT]);
    const check = await openDatabase({ dbUrl: db.url, dataDir: dirs[0]! });
    try {
      const n = await check.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations',
      );
      expect(n.rows[0]!.n).toBe(MIGRATION_COUNT);
    } finally {
      await check.close();
    }
    for (const c of children) c.kill('SIGTERM');
    const codes = await Promise.all(
      children.map((c) => new Promise<number | null>((r) => c.once('exit', (code) => r(code)))),
    );
    expect(codes, logs.map((l) => l.slice(-3000)).join('\n---\n')).toEqual([0, 0]);
  });
});
