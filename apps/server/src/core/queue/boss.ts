/**
 * pg-boss on the service's own database, for both drivers: it runs its SQL through our connection (pool or PGlite),
 * so the embedded default needs no other service and PostgreSQL deployments share one queue across processes.
 */
import PgBoss from 'pg-boss';
import type { Database } from '../db/client.ts';
import { tableExists, withAdvisoryLock } from '../db/locks.ts';
import type { Logger } from '../logger.ts';

export type Queue = PgBoss;

export interface QueueOptions {
  /** Run pg-boss maintenance and cron scheduling in this process (worker roles). */
  supervise: boolean;
}

export async function startQueue(database: Database, logger: Logger, opts: QueueOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    db: database.executor as PgBoss.Db,
    schema: 'pgboss',
    supervise: opts.supervise,
    schedule: opts.supervise,
    migrate: true,
  });
  boss.on('error', (err) => logger.error({ err }, 'queue error'));
  await boss.start();
  return boss;
}

/** Advisory lock held while a queue is created (other keys: 727_001 migrations, 727_002 submissions, 727_003 retention). */
const QUEUE_CREATE_LOCK_KEY = 727_004;
/** Per database handle, the creation in progress (one at a time, so waiting creations do not drain the pool). */
const creating = new WeakMap<Database, Promise<unknown>>();

/**
 * Creates the named queue unless it exists. pg-boss's create_queue (a partition table plus a row in pgboss.queue)
 * deadlocks against another connection's: two servers starting at the same moment on a new database crashed about
 * one start in seven. Creations are therefore one at a time — per database handle by a promise chain, across
 * connections and processes (PostgreSQL) under an advisory lock held on a connection of its own.
 */
export function ensureQueue(
  database: Database,
  boss: PgBoss,
  name: string,
  options?: PgBoss.Queue,
): Promise<void> {
  const create = async () => {
    if (await boss.getQueue(name)) return;
    await boss.createQueue(name, options);
  };
  const run = (creating.get(database) ?? Promise.resolve()).then(() =>
    withAdvisoryLock(database, QUEUE_CREATE_LOCK_KEY, create),
  );
  creating.set(
    database,
    run.catch(() => {}),
  );
  return run;
}

/** `true` when the queue's tables answer. */
export async function queueReachable(database: Database): Promise<boolean> {
  return tableExists(database, 'pgboss.job');
}
