/**
 * A local Stripe API stand-in on 127.0.0.1 for the real `stripe` SDK (pointed at it through
 * VIOLAWAKE_STRIPE_API_BASE), plus helpers to sign webhook payloads with the SDK's own test-header function.
 * Implements only what billing calls: customers (idempotency keys honoured), Checkout Sessions (create, retrieve,
 * expire; tests move them to `complete`), portal sessions, subscription retrieve and cancel. Tests can seed subscriptions and make any route fail.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

export interface StubRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  idempotencyKey: string | null;
  authorization: string | null;
}

export interface StripeStub {
  url: string;
  requests: StubRequest[];
  subscriptions: Map<string, Record<string, unknown>>;
  customers: Map<string, Record<string, unknown>>;
  /** Checkout Sessions by id (`status` open / complete / expired, `metadata`, `url`). */
  sessions: Map<string, Record<string, unknown>>;
  /** Make the next `times` requests whose "METHOD /path" starts with `prefix` fail with `status`. */
  fail(prefix: string, status?: number, times?: number): void;
  close(): Promise<void>;
}

const rid = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

export async function startStripeStub(): Promise<StripeStub> {
  const requests: StubRequest[] = [];
  const subscriptions = new Map<string, Record<string, unknown>>();
  const customers = new Map<string, Record<string, unknown>>();
  const sessions = new Map<string, Record<string, unknown>>();
  const byIdempotencyKey = new Map<string, { status: number; body: unknown }>();
  const failures: { prefix: string; status: number; times: number }[] = [];

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': rid('req') });
    res.end(JSON.stringify(body));
  };
  const notFound = (res: http.ServerResponse, what: string) =>
    send(res, 404, {
      error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${what}` },
    });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const method = req.method ?? 'GET';
      const idem = (req.headers['idempotency-key'] as string | undefined) ?? null;
      requests.push({
        method,
        path: url.pathname,
        params,
        idempotencyKey: idem,
        authorization: req.headers.authorization ?? null,
      });
      const line = `${method} ${url.pathname}`;
      const failure = failures.find((f) => f.times > 0 && line.startsWith(f.prefix));
      if (failure) {
        failure.times--;
        return send(res, failure.status, { error: { type: 'api_error', message: 'Injected failure' } });
      }
      // The SDK sends an idempotency key on every POST; a replay returns the first answer.
      if (method === 'POST' && idem && byIdempotencyKey.has(`${url.pathname}:${idem}`)) {
        const prev = byIdempotencyKey.get(`${url.pathname}:${idem}`)!;
        return send(res, prev.status, prev.body);
      }
      const remember = (status: number, body: unknown) => {
        if (method === 'POST' && idem) byIdempotencyKey.set(`${url.pathname}:${idem}`, { status, body });
        send(res, status, body);
      };
      if (method === 'POST' && url.pathname === '/v1/customers') {
        const customer = {
          id: rid('cus'),
          object: 'customer',
          email: params.email ?? null,
          metadata: {} as Record<string, string>,
        };
        for (const [k, v] of Object.entries(params)) {
          const m = /^metadata\[(.+)\]$/.exec(k);
          if (m) customer.metadata[m[1]!] = v;
        }
        customers.set(customer.id, customer);
        return remember(200, customer);
      }
      if (method === 'POST' && url.pathname === '/v1/checkout/sessions') {
        const id = rid('cs_test');
        const metadata: Record<string, string> = {};
        for (const [k, v] of Object.entries(params)) {
          const m = /^metadata\[(.+)\]$/.exec(k);
          if (m) metadata[m[1]!] = v;
        }
        const session = {
          id,
          object: 'checkout.session',
          mode: params.mode,
          status: 'open',
          customer: params.customer ?? null,
          client_reference_id: params.client_reference_id ?? null,
          metadata,
          subscription: null,
          url: `https://checkout.stripe.test/c/pay/${id}` as string | null,
        };
        sessions.set(id, session);
        return remember(200, session);
      }
      const sessionMatch = /^\/v1\/checkout\/sessions\/([^/]+)(\/expire)?$/.exec(url.pathname);
      if (sessionMatch) {
        const session = sessions.get(decodeURIComponent(sessionMatch[1]!));
        if (!session) return notFound(res, 'checkout.session');
        if (method === 'GET' && !sessionMatch[2]) return send(res, 200, session);
        if (method === 'POST' && sessionMatch[2]) {
          if (session.status !== 'open') {
            return send(res, 400, {
              error: {
                type: 'invalid_request_error',
                message: `Only Checkout Sessions with a status in [open] can be expired. This Checkout Session has a status of ${session.status}.`,
              },
            });
          }
          session.status = 'expired';
          session.url = null;
          return remember(200, session);
        }
      }
      if (method === 'POST' && url.pathname === '/v1/billing_portal/sessions') {
        const id = rid('bps');
        return remember(200, {
          id,
          object: 'billing_portal.session',
          url: `https://billing.stripe.test/p/session/${id}`,
          return_url: params.return_url,
        });
      }
      const subMatch = /^\/v1\/subscriptions\/([^/]+)$/.exec(url.pathname);
      if (subMatch) {
        const sub = subscriptions.get(decodeURIComponent(subMatch[1]!));
        if (!sub) return notFound(res, 'subscription');
        if (method === 'GET') return send(res, 200, sub);
        if (method === 'DELETE') {
          if (sub.status === 'canceled') {
            return send(res, 400, {
              error: {
                type: 'invalid_request_error',
                message: 'This subscription has already been canceled.',
              },
            });
          }
          sub.status = 'canceled';
          return send(res, 200, sub);
        }
      }
      send(res, 404, {
        error: { type: 'invalid_request_error', message: `Unrecognized request URL (${line})` },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    subscriptions,
    customers,
    sessions,
    fail(prefix, status = 500, times = 1) {
      failures.push({ prefix, status, times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const TEST_WEBHOOK_SECRET = 'whsec_test_violawake_0123456789abcdef';

/** A `Stripe-Signature` header for `payload`, made by the real SDK. */
export function signPayload(payload: string, secret = TEST_WEBHOOK_SECRET, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
}

export interface TestEvent {
  id: string;
  type: string;
  created: number;
  object: Record<string, unknown>;
}

export function eventPayload(e: TestEvent): string {
  return JSON.stringify({
    id: e.id,
    object: 'event',
    api_version: '2026-10-28.endive',
    type: e.type,
    created: e.created,
    livemode: false,
    pending_webhooks: 1,
    data: { object: e.object },
  });
}

/** POST a signed event to the server's webhook. */
export async function deliver(
  baseUrl: string,
  e: TestEvent | string,
  secret = TEST_WEBHOOK_SECRET,
): Promise<Response> {
  const payload = typeof e === 'string' ? e : eventPayload(e);
  return fetch(`${baseUrl}/api/billing/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signPayload(payload, secret) },
    body: payload,
  });
}

/** A Stripe subscription object as the API returns it (period end on the first item). */
export function subscriptionObject(o: {
  id: string;
  customer: string;
  status: string;
  price: string;
  periodEnd?: number;
  trialEnd?: number | null;
  cancelAtPeriodEnd?: boolean;
  metadata?: Record<string, string>;
}): Record<string, unknown> {
  const periodEnd = o.periodEnd ?? Math.floor(Date.now() / 1000) + 30 * 86400;
  return {
    id: o.id,
    object: 'subscription',
    customer: o.customer,
    status: o.status,
    cancel_at_period_end: o.cancelAtPeriodEnd ?? false,
    trial_end: o.trialEnd ?? null,
    metadata: o.metadata ?? {},
    items: {
      object: 'list',
      data: [
        {
          id: rid('si'),
          object: 'subscription_item',
          price: { id: o.price, object: 'price' },
          quantity: 1,
          current_period_end: periodEnd,
        },
      ],
    },
  };
}

export const newId = rid;
