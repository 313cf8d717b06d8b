import type { AppContext, ComponentHealth } from '../core/context.ts';
import { outboxCounts } from '../core/email/outbox.ts';
import { queueReachable } from '../core/queue/boss.ts';
import { bankStatus, jobCounts, queueStats } from '../training/service.ts';
import type { HealthSummary } from './schemas.ts';

export type { HealthSummary };

async function databaseHealth(ctx: AppContext): Promise<ComponentHealth> {
  const start = performance.now();
  try {
    await ctx.database.ping(2000);
    return {
      status: 'ok',
      connected: true,
      driver: ctx.database.driver,
      latency_ms: Math.round((performance.now() - start) * 10) / 10,
    };
  } catch {
    return { status: 'error', connected: false, driver: ctx.database.driver, latency_ms: null };
  }
}

async function queueHealth(ctx: AppContext, detailed: boolean): Promise<ComponentHealth> {
  try {
    if (!ctx.queue || !(await queueReachable(ctx.database))) return { status: 'error' };
    if (!detailed) return { status: 'ok' };
    const row = await queueStats(ctx.db);
    return {
      status: 'ok',
      queued: row.queued,
      running: row.running,
      held: row.held,
      oldest_queued_age_s: row.oldest === null ? null : Math.round(row.oldest),
      active_workers: row.workers,
    };
  } catch {
    return { status: 'error' };
  }
}

/** Status and readiness (docs/api.md §2.9, §4.16). `full` adds the degraded checks of the other components. */
export async function healthSummary(ctx: AppContext, opts: { full: boolean }): Promise<HealthSummary> {
  const uptime = Math.round((Date.now() - ctx.state.startedAt) / 100) / 10;
  const base = { uptime_s: uptime, version: ctx.version };
  if (!ctx.state.startupComplete || ctx.state.shuttingDown) return { ...base, status: 'error', ready: false };
  const [db, queue] = await Promise.all([databaseHealth(ctx), queueHealth(ctx, false)]);
  if (db.status !== 'ok' || queue.status !== 'ok') return { ...base, status: 'error', ready: false };
  if (!opts.full) return { ...base, status: 'ok', ready: true };
  const extra = await extraComponents(ctx);
  const degraded = Object.values(extra).some((c) => c.status !== 'ok');
  return { ...base, status: degraded ? 'degraded' : 'ok', ready: true };
}

async function extraComponents(ctx: AppContext): Promise<Record<string, ComponentHealth>> {
  const out: Record<string, ComponentHealth> = {
    billing: {
      status: ctx.config.stripeSecretKey ? 'ok' : 'degraded',
      configured: Boolean(ctx.config.stripeSecretKey),
    },
  };
  await Promise.all(
    Object.entries(ctx.healthChecks).map(async ([name, check]) => {
      try {
        out[name] = await check();
      } catch {
        out[name] = { status: 'degraded' };
      }
    }),
  );
  return out;
}

export async function healthDetails(ctx: AppContext) {
  const summary = await healthSummary(ctx, { full: true });
  const [database, queue, extra] = await Promise.all([
    databaseHealth(ctx),
    queueHealth(ctx, true),
    extraComponents(ctx),
  ]);
  const errors = ctx.recentErrors.snapshot();
  return {
    status: summary.status,
    uptime_s: summary.uptime_s,
    ready: summary.ready,
    version: ctx.version,
    startup_complete: ctx.state.startupComplete,
    role: ctx.config.role,
    components: { database, queue, ...extra },
    /** The negative bank's one-time build (training/bank-build.ts). */
    negative_bank: bankStatus(ctx),
    recent_errors: errors,
  };
}

const GAUGE_CACHE_MS = 10_000;
let lastGaugeRead = new WeakMap<AppContext, number>();

/** Database-backed gauges, read at most every 10 s. */
export async function collectGauges(ctx: AppContext): Promise<void> {
  const last = lastGaugeRead.get(ctx) ?? 0;
  if (Date.now() - last < GAUGE_CACHE_MS) return;
  lastGaugeRead.set(ctx, Date.now());
  try {
    const jobs = await jobCounts(ctx.db);
    ctx.metrics.trainingJobs.reset();
    for (const [status, n] of Object.entries(jobs)) ctx.metrics.trainingJobs.set({ status }, n);
    const outbox = await outboxCounts(ctx);
    ctx.metrics.emailOutbox.reset();
    for (const s of ['pending', 'sending', 'sent', 'failed']) {
      ctx.metrics.emailOutbox.set({ status: s }, outbox.find((r) => r.status === s)?.n ?? 0);
    }
  } catch {
    lastGaugeRead = new WeakMap();
  }
}
