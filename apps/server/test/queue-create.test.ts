/**
 * Queue creation from several database handles at once on a new PostgreSQL database (`ensureQueue`): pg-boss's
 * create_queue deadlocks between two connections creating queues at the same moment (two servers starting together
 * crashed about one start in seven); creations must wait their turn instead. Without the advisory lock this test
 * ends in "deadlock detected" on every run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../src/core/db/client.ts';
import { createLogger } from '../src/core/logger.ts';
import { ensureQueue, type Queue, startQueue } from '../src/core/queue/boss.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe('ensureQueue', { timeout: 120_000 }, () => {
  it('two queue clients creating the same and different queues at once all succeed, each queue once', async () => {
    const db: TestDatabase = await createTestDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), 'vw-queue-'));
    const databases: Database[] = [];
    const bosses: Queue[] = [];
    cleanups.push(async () => {
      for (const b of bosses) await b.stop({ graceful: false, wait: true }).catch(() => {});
      for (const d of databases) await d.close().catch(() => {});
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    });
    const logger = createLogger({ level: 'silent' });
    for (let i = 0; i < 2; i++) {
      const d = await openDatabase({ dbUrl: db.url, dataDir: dir });
      databases.push(d);
    }
    // pg-boss installs its schema under its own lock; start the clients one after the other
    for (const d of databases) bosses.push(await startQueue(d, logger, { supervise: false }));
    const names = Array.from({ length: 6 }, (_, i) => `q${i}`);
    for (let round = 0; round < 5; round++) {
      const batch = names.map((n) => `${n}_${round}`);
      await Promise.all([
        ...batch.map((n) => ensureQueue(databases[0]!, bosses[0]!, n)),
        ...[...batch].reverse().map((n) => ensureQueue(databases[1]!, bosses[1]!, n)),
      ]);
      for (const n of batch) expect(await bosses[0]!.getQueue(n)).toMatchObject({ name: n });
    }
    const rows = await databases[0]!.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.queue WHERE name ~ '^q[0-9]_[0-9]$'`,
    );
    expect(rows.rows[0]!.n).toBe(30);
  });
});
