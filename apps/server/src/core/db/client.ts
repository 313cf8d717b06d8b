/**
 * Database access for both drivers: PostgreSQL (node-postgres pool) when VIOLAWAKE_DB_URL is set, else an embedded
 * PGlite database in <DATA_DIR>/pgdata. Both are exposed as the same drizzle database type plus a few raw helpers
 * (queries, LISTEN/NOTIFY, the pg-boss adapter).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A drizzle database or transaction handle. */
export type DbOrTx = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'execute' | 'query'> & {
  execute: Db['execute'];
};

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** What pg-boss needs to run its SQL: `{ executeSql(text, values) }`. */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount?: number }>;
}

export interface Database {
  driver: 'postgres' | 'pglite';
  db: Db;
  /** Raw parameterized query outside any transaction. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Adapter for pg-boss (multi-statement text without parameters is allowed). */
  executor: SqlExecutor;
  /** LISTEN on a channel; returns an unsubscribe function. */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /** `SELECT 1` within the timeout, else throws. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  /** PGlite instance (embedded mode only). */
  pglite?: PGlite;
  /** node-postgres pool (PostgreSQL mode only). */
  pool?: pg.Pool;
}

// bigint (int8) as JS number: ids stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

/** Rows of a drizzle `execute()` result, whatever the driver. */
export function rowsOf<T = Record<string, unknown>>(result: unknown): T[] {
  const r = result as { rows?: T[] };
  return Array.isArray(r.rows) ? r.rows : (result as T[]);
}

/** Affected-row count of a drizzle `execute()` result, whatever the driver. */
export function rowCountOf(result: unknown): number {
  const r = result as { rowCount?: number | null; affectedRows?: number; rows?: unknown[] };
  if (typeof r.rowCount === 'number') return r.rowCount;
  if (typeof r.affectedRows === 'number') return r.affectedRows;
  return r.rows?.length ?? 0;
}

/** Run raw SQL on a drizzle db or transaction and return its rows. */
export async function execRows<T = Record<string, unknown>>(db: DbOrTx, query: SQL): Promise<T[]> {
  return rowsOf<T>(await db.execute(query));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export interface DatabaseOptions {
  dbUrl: string | null;
  dataDir: string;
  poolMax?: number;
  /** PGlite only: in-memory database (tests). */
  inMemory?: boolean;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.dbUrl ? openPostgres(opts.dbUrl, opts.poolMax ?? 10) : openPglite(opts);
}

async function openPostgres(url: string, poolMax: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolMax, connectionTimeoutMillis: 5000 });
  // A client that loses its connection must not crash the process: the pool handles idle ones ('error' on the
  // pool), and every client gets its own listener for the time it is checked out (a transaction waiting on
  // storage or Stripe when PostgreSQL restarts: without it node-postgres emits an unhandled 'error' and the process
  // dies). Its next query then fails, the transaction rolls back and the pool drops the client.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  const listeners: (() => Promise<void>)[] = [];
  return {
    driver: 'postgres',
    db,
    pool,
    async query<T>(text: string, params?: unknown[]) {
      const r = await pool.query(text, params as unknown[] | undefined);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    executor: {
      async executeSql(text, values) {
        const r = await pool.query(text, values && values.length > 0 ? values : undefined);
        const last = Array.isArray(r) ? r[r.length - 1] : r;
        return { rows: last?.rows ?? [], rowCount: last?.rowCount ?? 0 };
      },
    },
    async listen(channel, onMessage) {
      // One connection per channel. When it drops (PostgreSQL restarted, the session was killed) it is opened
      // again with backoff and LISTENs again; notifications sent meanwhile are lost, which every caller covers by
      // polling (streams re-read at each heartbeat, the worker re-checks cancels, the outbox polls).
      let closed = false;
      let current: pg.Client | null = null;
      let delay = 250;
      let timer: NodeJS.Timeout | null = null;
      const open = async (): Promise<void> => {
        const client = new pg.Client({ connectionString: url });
        client.on('error', () => {});
        try {
          await client.connect();
          client.on('notification', (msg) => {
            if (msg.channel === channel) onMessage(msg.payload ?? '');
          });
          await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        } catch (err) {
          await client.end().catch(() => {});
          throw err;
        }
        if (closed) {
          await client.end().catch(() => {});
          return;
        }
        current = client;
        client.once('end', () => {
          if (current === client) current = null;
          if (!closed) retry();
        });
      };
      const retry = () => {
        if (closed || timer) return;
        timer = setTimeout(() => {
          timer = null;
          open().then(
            () => {
              delay = 250;
            },
            () => {
              delay = Math.min(delay * 2, 5000);
              retry();
            },
          );
        }, delay);
        timer.unref();
      };
      await open();
      const unlisten = async () => {
        closed = true;
        if (timer) clearTimeout(timer);
        const i = listeners.indexOf(unlisten);
        if (i >= 0) listeners.splice(i, 1);
        const c = current;
        current = null;
        await c?.end().catch(() => {});
      };
      listeners.push(unlisten);
      return unlisten;
    },
    async notify(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(pool.query('SELECT 1'), timeoutMs, 'database ping');
    },
    async close() {
      await Promise.all([...listeners].map((stop) => stop().catch(() => {})));
      await pool.end();
    },
  };
}

async function openPglite(opts: DatabaseOptions): Promise<Database> {
  let dir: string | undefined;
  if (!opts.inMemory) {
    dir = path.join(opts.dataDir, 'pgdata');
    mkdirSync(dir, { recursive: true });
  }
  const client = dir ? new PGlite(dir) : new PGlite();
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  let closed = false;
  return {
    driver: 'pglite',
    db,
    pglite: client,
    async query<T>(text: string, params?: unknown[]) {
      const r = await client.query<T>(text, params as any[] | undefined);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    executor: {
      async executeSql(text, values) {
        if (values && values.length > 0) {
          const r = await client.query(text, values);
          return { rows: r.rows as any[], rowCount: r.affectedRows ?? r.rows.length };
        }
        const results = await client.exec(text);
        const last = results[results.length - 1];
        return { rows: (last?.rows ?? []) as any[], rowCount: last?.affectedRows ?? 0 };
      },
    },
    async listen(channel, onMessage) {
      const unsub = await client.listen(channel, onMessage);
      return async () => {
        if (!closed) await unsub();
      };
    },
    async notify(channel, payload) {
      await client.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(client.query('SELECT 1'), timeoutMs, 'database ping');
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

/**
 * A pg-boss executor over a drizzle transaction, so a queue message is written in the same transaction as the rows
 * that cause it (pg-boss `send(..., { db })`). `$n` placeholders become drizzle parameters.
 */
export function drizzleExecutor(tx: DbOrTx): SqlExecutor {
  return {
    async executeSql(text, values = []) {
      const chunks: SQL[] = [];
      const re = /\$(\d+)/g;
      let last = 0;
      for (let m = re.exec(text); m; m = re.exec(text)) {
        chunks.push(sql.raw(text.slice(last, m.index)));
        const v = values[Number(m[1]) - 1];
        chunks.push(sql`${v === undefined ? null : v}`);
        last = m.index + m[0].length;
      }
      chunks.push(sql.raw(text.slice(last)));
      const result = await tx.execute(sql.join(chunks, sql.raw('')));
      return { rows: rowsOf(result), rowCount: rowCountOf(result) };
    },
  };
}
