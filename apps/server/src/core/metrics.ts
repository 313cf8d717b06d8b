/** Prometheus metrics (prefix violawake_), one registry per app instance. */
import client from 'prom-client';

export interface Metrics {
  registry: client.Registry;
  httpRequests: client.Counter<'method' | 'route' | 'status'>;
  httpDuration: client.Histogram<'method' | 'route'>;
  rateLimited: client.Counter<'bucket'>;
  loginLockouts: client.Counter;
  uploads: client.Counter<'result'>;
  stripeWebhookEvents: client.Counter<'type' | 'result'>;
  trainingJobDuration: client.Histogram<'outcome'>;
  trainingQueueWait: client.Histogram;
  /** Gauges backed by database reads (cached by their collectors). */
  trainingJobs: client.Gauge<'status'>;
  emailOutbox: client.Gauge<'status'>;
}

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'violawake_' });
  const m = (cfg: object) => ({ ...cfg, registers: [registry] });
  return {
    registry,
    httpRequests: new client.Counter(
      m({
        name: 'violawake_http_requests_total',
        help: 'HTTP requests',
        labelNames: ['method', 'route', 'status'],
      }) as any,
    ),
    httpDuration: new client.Histogram(
      m({
        name: 'violawake_http_request_duration_seconds',
        help: 'HTTP request duration',
        labelNames: ['method', 'route'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }) as any,
    ),
    rateLimited: new client.Counter(
      m({
        name: 'violawake_rate_limited_total',
        help: 'Rate-limited requests',
        labelNames: ['bucket'],
      }) as any,
    ),
    loginLockouts: new client.Counter(
      m({ name: 'violawake_login_lockouts_total', help: 'Account lockouts' }) as any,
    ),
    uploads: new client.Counter(
      m({ name: 'violawake_uploads_total', help: 'Recording uploads', labelNames: ['result'] }) as any,
    ),
    stripeWebhookEvents: new client.Counter(
      m({
        name: 'violawake_stripe_webhook_events_total',
        help: 'Stripe webhook deliveries',
        labelNames: ['type', 'result'],
      }) as any,
    ),
    trainingJobDuration: new client.Histogram(
      m({
        name: 'violawake_training_job_duration_seconds',
        help: 'Training job duration',
        labelNames: ['outcome'],
        buckets: [5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1800],
      }) as any,
    ),
    trainingQueueWait: new client.Histogram(
      m({
        name: 'violawake_training_queue_wait_seconds',
        help: 'Time from submission to start',
        buckets: [1, 5, 15, 30, 60, 300, 900, 3600],
      }) as any,
    ),
    trainingJobs: new client.Gauge(
      m({ name: 'violawake_training_jobs', help: 'Training jobs by status', labelNames: ['status'] }) as any,
    ),
    emailOutbox: new client.Gauge(
      m({ name: 'violawake_email_outbox', help: 'Outbox rows by status', labelNames: ['status'] }) as any,
    ),
  };
}
