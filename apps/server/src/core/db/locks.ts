/**
 * Session-level advisory locks on a pooled connection (PostgreSQL), and a catalog probe. PGlite has one connection
 * and one process: the lock functions just run `fn` there (callers that must not overlap within the process keep
 * their own guard).
 */
import type { Database } from './client.ts';

/** Run `fn` holding advisory lock `key` (waits for it). */
export async function withAdvisoryLock<T>(database: Database, key: number, fn: () => Promise<T>): Promise<T> {
  if (database.driver === 'pglite') return fn();
  const client = await database.pool!.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [key]);
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  } finally {
    client.release();
  }
}

/** Run `fn` holding advisory lock `key` if it is free; `{ locked: false }` when another session holds it. */
export async function tryWithAdvisoryLock<T>(
  database: Database,
  key: number,
  fn: () => Promise<T>,
): Promise<{ locked: true; value: T } | { locked: false }> {
  if (database.driver === 'pglite') return { locked: true, value: await fn() };
  const client = await database.pool!.connect();
  try {
    const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
    if (!got.rows[0]?.ok) return { locked: false };
    try {
      return { locked: true, value: await fn() };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  } finally {
    client.release();
  }
}

/** Whether a table exists (e.g. `pgboss.job` once pg-boss has installed its schema). */
export async function tableExists(database: Database, qualifiedName: string): Promise<boolean> {
  const r = await database.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualifiedName]);
  return Boolean(r.rows[0]?.t);
}
