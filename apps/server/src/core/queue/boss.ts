/**
 * pg-boss on the service's own database, for both drivers: it runs its SQL through our connection (pool or PGlite),
 * so the embedded default needs no other service and PostgreSQL deployments share one queue across processes.
 */
import PgBoss from 'pg-boss';
import type { Database } from '../db/client.ts';
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

/** `true` when the queue's tables answer. */
export async function queueReachable(database: Database): Promise<boolean> {
  const r = await database.query<{ t: string | null }>(`SELECT to_regclass('pgboss.job')::text AS t`);
  return Boolean(r.rows[0]?.t);
}
