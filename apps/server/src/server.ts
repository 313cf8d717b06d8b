/**
 * Process lifecycle: open the database, migrate (advisory lock), start pg-boss, build the app (every domain's
 * plugin: set-up, routes, workers and listeners in its onReady/onClose hooks), serve HTTP and/or run workers, and shut
 * down gracefully on SIGTERM/SIGINT (stop taking requests, end event streams, finish in-flight ones, stop workers,
 * close the queue and the pool).
 */
import { mkdirSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { Clock } from './core/clock.ts';
import { type Config, configSecrets, listenerUrl } from './core/config.ts';
import { type AppContext, createBaseContext } from './core/context.ts';
import { openDatabase } from './core/db/client.ts';
import { runMigrations } from './core/db/migrate.ts';
import { flushErrorTracking, initErrorTracking } from './core/error-tracking.ts';
import { createLogger, type Logger, registerSecrets } from './core/logger.ts';
import { startQueue } from './core/queue/boss.ts';

export interface StartOptions {
  config: Config;
  /** Serve HTTP (roles api/all). */
  http: boolean;
  /** Run workers (roles worker/all). */
  workers: boolean;
  logger?: Logger;
  clock?: Clock;
  /** Install SIGTERM/SIGINT handlers (the CLI does; tests don't). */
  handleSignals?: boolean;
}

export interface RunningServer {
  ctx: AppContext;
  app: FastifyInstance | null;
  /** Base URL of the HTTP listener, when serving. */
  url: string | null;
  close(): Promise<void>;
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config } = opts;
  registerSecrets(configSecrets(config));
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  await initErrorTracking(config, logger);
  for (const w of config.warnings) logger.warn(w);
  for (const dir of [config.dataDir, config.tmpDir]) mkdirSync(dir, { recursive: true });

  // Signals are handled from the first moment: one that arrives while starting up shuts down once start-up is done.
  let shutdown: (() => Promise<void>) | null = null;
  let pendingSignal: string | null = null;
  const onSignal = (signal: string) => {
    if (!shutdown) {
      pendingSignal = signal;
      return;
    }
    logger.info({ signal }, 'shutting down');
    const exit = (code: number) => logger.flush(() => process.exit(code));
    shutdown().then(
      () => exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  if (opts.handleSignals) {
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  }

  const database = await openDatabase({
    dbUrl: config.dbUrl,
    dataDir: config.dataDir,
    poolMax: config.dbPoolMax,
  });
  let app: FastifyInstance | null = null;
  let metricsApp: FastifyInstance | null = null;
  let ctx: AppContext | null = null;
  try {
    let startedQueue: Awaited<ReturnType<typeof startQueue>> | null = null;
    const migrated = await runMigrations(database, async () => {
      startedQueue = await startQueue(database, logger, { supervise: opts.workers });
    });
    const queue = startedQueue!;
    logger.info({ applied: migrated.applied, driver: database.driver }, 'database migrated');
    ctx = createBaseContext({ config, database, queue, logger, clock: opts.clock });
    // A worker-only process builds the app too (its domains' set-up and workers live in their plugins) but never
    // listens.
    app = await buildApp(ctx, { workers: opts.workers, http: opts.http, serveWeb: opts.http });
    await app.ready();
    ctx.state.startupComplete = true;
    if (opts.workers) logger.info('workers started');

    let url: string | null = null;
    if (opts.http) {
      await app.listen({ host: config.host, port: config.port });
      const bound = app.server.address();
      url = listenerUrl(config.host, typeof bound === 'object' && bound ? bound.port : config.port);
      // links in emails and Stripe return URLs point where the console is actually served unless configured
      if (!config.consoleBaseUrlFromEnv) config.consoleBaseUrl = url;
      logger.info({ url, role: config.role }, 'listening');
      if (config.metricsPort) {
        const c = ctx;
        metricsApp = Fastify({ logger: false });
        metricsApp.get('/metrics', async (_req, reply) => {
          reply.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
          const { collectGauges } = await import('./ops/health.ts');
          await collectGauges(c);
          return c.metrics.registry.metrics();
        });
        await metricsApp.listen({ host: config.host, port: config.metricsPort });
      }
    }

    const running = ctx;
    const served = app;
    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        running.state.shuttingDown = true;
        const grace = config.shutdownGraceSeconds * 1000;
        const timer = setTimeout(() => {
          logger.error('graceful shutdown exceeded VIOLAWAKE_SHUTDOWN_GRACE_SECONDS; closing connections');
          app?.server.closeAllConnections();
        }, grace);
        timer.unref();
        try {
          // app.close(): event streams end first (preClose; they would otherwise hold the HTTP server open), then
          // in-flight requests drain, then the domains' workers stop (onClose, in reverse registration order).
          if (metricsApp) await metricsApp.close();
          await served.close();
          await queue.stop({ graceful: true, wait: true, timeout: Math.max(1000, grace) }).catch(() => {});
        } finally {
          clearTimeout(timer);
          await database.close().catch(() => {});
          await flushErrorTracking();
          logger.info('shutdown complete');
        }
      })();
      return closing;
    };

    shutdown = close;
    if (pendingSignal) onSignal(pendingSignal);
    return { ctx: running, app: opts.http ? served : null, url, close };
  } catch (err) {
    await app?.close().catch(() => {});
    await ctx?.queue?.stop({ graceful: false, wait: true }).catch(() => {});
    await database.close().catch(() => {});
    throw err;
  }
}
