/**
 * Real PostgreSQL for tests: a fresh database per call on 127.0.0.1:5432 (user postgres, trust auth; override with
 * VIOLAWAKE_TEST_PG_URL), dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL =
  process.env.VIOLAWAKE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function urlFor(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabase(prefix = 'vwtest'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: urlFor(name),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export type Driver = 'postgres' | 'pglite';
/** Drivers a suite runs on: both by default; VIOLAWAKE_TEST_DRIVERS=postgres narrows it. */
export const DRIVERS: Driver[] = (process.env.VIOLAWAKE_TEST_DRIVERS?.split(',') as Driver[] | undefined) ?? [
  'postgres',
  'pglite',
];
