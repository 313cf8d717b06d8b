/**
 * Error tracking with Sentry's SDK (@sentry/node) when `VIOLAWAKE_SENTRY_DSN` is set; nothing at all otherwise (the
 * SDK is not even loaded). Reported: unhandled errors of HTTP requests (the 500s) with their request id, uncaught
 * exceptions and unhandled rejections of the process. No tracing, no breadcrumbs, no request bodies, headers or
 * cookies; every event is scrubbed like a log line (`scrubEvent`: configured secrets, credential shapes, query
 * parameters) before it leaves the process.
 */
import type { Config } from './config.ts';
import { type Logger, scrubErrorText } from './logger.ts';

type SentryModule = typeof import('@sentry/node');
let sentry: SentryModule | null = null;

/** An event as it will be sent, with every string scrubbed and the request reduced to method and route. */
export function scrubEvent<T>(event: T): T {
  const e = event as Record<string, unknown>;
  if (e.request && typeof e.request === 'object') {
    const r = e.request as Record<string, unknown>;
    e.request = { method: r.method, url: typeof r.url === 'string' ? r.url.split('?')[0] : undefined };
  }
  delete e.user;
  return deepScrub(e, 0) as T;
}

/** Every string in the value scrubbed as error text (per string, so multi-line messages keep their shape). */
function deepScrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubErrorText(value);
  if (depth > 12 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => deepScrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = deepScrub(v, depth + 1);
  return out;
}

export async function initErrorTracking(config: Config, logger: Logger): Promise<void> {
  if (!config.sentryDsn || sentry) return;
  const Sentry = await import('@sentry/node');
  Sentry.init({
    dsn: config.sentryDsn,
    environment: config.env,
    defaultIntegrations: false,
    integrations: [
      Sentry.linkedErrorsIntegration(),
      Sentry.dedupeIntegration(),
      Sentry.functionToStringIntegration(),
      Sentry.nodeContextIntegration(),
      Sentry.onUncaughtExceptionIntegration(),
      Sentry.onUnhandledRejectionIntegration({ mode: 'warn' }),
    ],
    beforeSend: (event) => scrubEvent(event),
    beforeBreadcrumb: () => null,
  });
  sentry = Sentry;
  logger.info({ role: config.role }, 'error tracking enabled (Sentry)');
}

/** Report an error (no-op without a DSN). */
export function captureError(err: unknown, tags: Record<string, string> = {}): void {
  sentry?.captureException(err, { tags });
}

/** Wait (at most `ms`) until queued events are sent; called on shutdown. */
export async function flushErrorTracking(ms = 2000): Promise<void> {
  await sentry?.flush(ms).catch(() => false);
}
