/**
 * Everything a route, service or worker needs, created once per process by `createContext` and passed down.
 * Domains add what they own here (storage, mailer, ...) as optional members set up in `createContext`.
 */
import { readFileSync } from 'node:fs';
import type Stripe from 'stripe';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Config } from './config.ts';
import type { Database, Db } from './db/client.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { createMetrics } from './metrics.ts';
import type { Queue } from './queue/boss.ts';

export interface ProcessState {
  /** Migrations applied and queue started. */
  startupComplete: boolean;
  shuttingDown: boolean;
  startedAt: number;
}

/** A cleanup step of account deletion (docs/api.md §4.15); domains register theirs. */
export type AccountCleanupStep = {
  name: string;
  /** Before the user row is deleted (e.g. cancel the Stripe subscription, cancel jobs). Throwing aborts deletion. */
  before?: (ctx: AppContext, userId: number) => Promise<void>;
  /** Storage keys (or other resources) to remove after the delete committed. */
  collectKeys?: (ctx: AppContext, userId: number) => Promise<string[]>;
  /**
   * The `before` step asks an outside provider and may refuse (billing cancels at Stripe): it runs before every
   * other domain's `before` step, so a refusal leaves everything in place.
   */
  external?: boolean;
};

/** Register (or replace, by name) a domain's account-deletion step; safe to call once per app built on `ctx`. */
export function addAccountCleanup(ctx: AppContext, step: AccountCleanupStep): void {
  const i = ctx.accountCleanup.findIndex((s) => s.name === step.name);
  if (i >= 0) ctx.accountCleanup[i] = step;
  else ctx.accountCleanup.push(step);
}

/** Errors of the last hour, by reason, for /api/health/details (no paths, ids or addresses). */
export class RecentErrors {
  private entries: { at: number; reason: string; expected: boolean }[] = [];
  record(reason: string, expected: boolean): void {
    this.entries.push({ at: Date.now(), reason, expected });
    if (this.entries.length > 5000) this.entries.splice(0, this.entries.length - 5000);
  }
  snapshot(): { count: number; expected: number; unexpected: number; by_reason: Record<string, number> } {
    const cutoff = Date.now() - 3600_000;
    this.entries = this.entries.filter((e) => e.at >= cutoff);
    const by_reason: Record<string, number> = {};
    let expected = 0;
    for (const e of this.entries) {
      by_reason[e.reason] = (by_reason[e.reason] ?? 0) + 1;
      if (e.expected) expected++;
    }
    return { count: this.entries.length, expected, unexpected: this.entries.length - expected, by_reason };
  }
}

export interface ComponentHealth {
  status: 'ok' | 'degraded' | 'error';
  [field: string]: unknown;
}

export interface AppContext {
  config: Config;
  database: Database;
  db: Db;
  /** The pg-boss instance; null only in unit tests that build an app without a queue. */
  queue: Queue | null;
  logger: Logger;
  clock: Clock;
  metrics: Metrics;
  version: string;
  state: ProcessState;
  accountCleanup: AccountCleanupStep[];
  /**
   * Extra components of /api/health/details (storage, email, rate-limit store, ...), registered by their domains.
   * `degraded` from any of them makes the overall status `degraded`.
   */
  healthChecks: Record<string, () => Promise<ComponentHealth>>;
  recentErrors: RecentErrors;
  // Domain-owned members (storage, mailer, ...) are added below as typed fields by the domains that own them.
  /** Billing: this process's Stripe client; null when billing is off, undefined until first use (billing/service.ts). */
  stripe?: Stripe | null;
}

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function createBaseContext(args: {
  config: Config;
  database: Database;
  queue: Queue | null;
  logger: Logger;
  clock?: Clock;
}): AppContext {
  return {
    config: args.config,
    database: args.database,
    db: args.database.db,
    queue: args.queue,
    logger: args.logger,
    clock: args.clock ?? systemClock,
    metrics: createMetrics(),
    version: VERSION,
    state: { startupComplete: false, shuttingDown: false, startedAt: Date.now() },
    accountCleanup: [],
    healthChecks: {},
    recentErrors: new RecentErrors(),
  };
}
