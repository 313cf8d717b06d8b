/**
 * Rate limiting of docs/api.md §1.5: named buckets, fixed windows starting at the first counted request, keyed by the
 * client address (resolved with VIOLAWAKE_TRUSTED_PROXY_COUNT) or by the user id. The store is Redis when
 * VIOLAWAKE_REDIS_URL is set (shared by every process: INCR + PEXPIRE in one Lua script), else process memory.
 * A Redis failure lets the request pass and logs an error. Every limited response carries RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset; a 429 adds Retry-After.
 *
 * Use after the auth hook: `preValidation: [requireUser(ctx), rateLimit(ctx, {...})]` (before body validation, so
 * invalid requests count too) — or in `preHandler`, which works the same but after validation.
 */
import net from 'node:net';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { Redis } from 'ioredis';
import type { AppContext } from '../context.ts';
import { HttpError } from './errors.ts';

export interface RateLimitOptions {
  bucket: string;
  limit: number;
  windowSeconds: number;
  key: 'ip' | 'user';
}

export interface HitResult {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends. */
  resetMs: number;
}

export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  hit(key: string, windowMs: number): Promise<HitResult>;
  /** For /api/health/details. */
  health(): Promise<{ status: 'ok' | 'degraded'; store: 'memory' | 'redis'; connected?: boolean }>;
  close(): Promise<void>;
}

/** Fixed windows in process memory (exact for one process only). Time comes from the context clock. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory' as const;
  private windows = new Map<string, { count: number; resetAt: number }>();
  private lastSweep = 0;
  constructor(private readonly now: () => number) {}

  async hit(key: string, windowMs: number): Promise<HitResult> {
    const now = this.now();
    if (now - this.lastSweep > 60_000 || this.windows.size > 100_000) this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return { count: w.count, resetMs: w.resetAt - now };
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }

  async health() {
    return { status: 'ok' as const, store: 'memory' as const };
  }

  async close(): Promise<void> {
    this.windows.clear();
  }
}

const HIT_SCRIPT = `
local c = redis.call('INCR', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
if c == 1 or t < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  t = tonumber(ARGV[1])
end
return {c, t}
`;

/** Fixed windows in Redis, shared by every process (the window's clock is Redis's). */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  constructor(
    url: string,
    private readonly prefix = 'violawake:rl:',
  ) {
    this.client = new Redis(url, {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 1000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.client.on('error', () => {});
  }

  /** The first connection may still be in progress right after startup: wait for it briefly, never for reconnects. */
  private async ready(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready') return;
    if (status !== 'connecting' && status !== 'connect' && status !== 'wait')
      throw new Error(`redis ${status}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error('redis not ready'));
      }, 1000);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  async hit(key: string, windowMs: number): Promise<HitResult> {
    await this.ready();
    const r = (await this.client.eval(HIT_SCRIPT, 1, this.prefix + key, String(windowMs))) as [
      number,
      number,
    ];
    return { count: Number(r[0]), resetMs: Math.max(0, Number(r[1])) };
  }

  async health() {
    try {
      await this.client.ping();
      return { status: 'ok' as const, store: 'redis' as const, connected: true };
    } catch {
      return { status: 'degraded' as const, store: 'redis' as const, connected: false };
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

const stores = new WeakMap<AppContext, RateLimitStore>();

/** The process's store, created on first use (HTTP processes only); also registers its health check. */
export function rateLimitStore(ctx: AppContext): RateLimitStore {
  let store = stores.get(ctx);
  if (!store) {
    store = ctx.config.redisUrl
      ? new RedisRateLimitStore(ctx.config.redisUrl)
      : new MemoryRateLimitStore(() => ctx.clock.now().getTime());
    stores.set(ctx, store);
    const s = store;
    ctx.healthChecks.rate_limit = () => s.health();
  }
  return store;
}

/** Close the store if one was created (process shutdown). */
export async function closeRateLimitStore(ctx: AppContext): Promise<void> {
  const store = stores.get(ctx);
  stores.delete(ctx);
  await store?.close();
}

function stripPort(entry: string): string {
  let v = entry.trim();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracket) return bracket[1]!;
  if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(':'));
  return v;
}

/** Expand an IPv6 address to its 8 hextets. */
function ipv6Groups(addr: string): string[] {
  let a = addr.split('%')[0]!.toLowerCase();
  // Embedded IPv4 tail.
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    a = `${a.slice(0, -v4[1]!.length)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? (a.split('::') as [string, string]) : [a, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === null ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, ''));
}

/** The rate-limit key of an address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64 prefix. */
export function normalizeIp(raw: string): string {
  const v = stripPort(raw);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(v);
  if (mapped) return mapped[1]!;
  const kind = net.isIP(v);
  if (kind === 4) return v;
  if (kind === 6) {
    const g = ipv6Groups(v);
    if (g.length === 8 && g.slice(0, 5).every((x) => x === '0') && g[5] === 'ffff') {
      const n = (x: string) => Number.parseInt(x, 16);
      return [n(g[6]!) >> 8, n(g[6]!) & 255, n(g[7]!) >> 8, n(g[7]!) & 255].join('.');
    }
    return `${g.slice(0, 4).join(':')}::/64`;
  }
  return v.slice(0, 64);
}

/**
 * The client address (§1.5): with N trusted proxies the N-th `X-Forwarded-For` entry from the right (1 = rightmost),
 * its leftmost entry if it has fewer than N, the socket address if the header is absent (or N = 0).
 */
export function clientIp(ctx: AppContext, request: FastifyRequest): string {
  const socketAddr = request.socket?.remoteAddress ?? request.ip ?? 'unknown';
  const n = ctx.config.trustedProxyCount;
  if (n <= 0) return normalizeIp(socketAddr);
  const header = request.headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (!raw) return normalizeIp(socketAddr);
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) return normalizeIp(socketAddr);
  const entry = entries.length >= n ? entries[entries.length - n]! : entries[0]!;
  return normalizeIp(entry);
}

function setHeaders(reply: FastifyReply, limit: number, remaining: number, resetSeconds: number): void {
  reply.header('RateLimit-Limit', String(limit));
  reply.header('RateLimit-Remaining', String(remaining));
  reply.header('RateLimit-Reset', String(resetSeconds));
}

/** Route hook counting the request in `bucket`; 429 "Rate limit exceeded" beyond `limit` per window. */
export function rateLimit(ctx: AppContext, opts: RateLimitOptions): preHandlerAsyncHookHandler {
  const windowMs = Math.round(opts.windowSeconds * 1000);
  rateLimitStore(ctx); // connect early (Redis)
  return async function rateLimitHook(request, reply) {
    const store = rateLimitStore(ctx);
    const subject =
      opts.key === 'user' && request.user ? `u${request.user.id}` : `ip:${clientIp(ctx, request)}`;
    let result: HitResult;
    try {
      result = await store.hit(`${opts.bucket}:${subject}`, windowMs);
    } catch (err) {
      request.log.error({ err, bucket: opts.bucket }, 'rate-limit store unavailable; request allowed');
      return;
    }
    const resetSeconds = Math.max(1, Math.ceil(result.resetMs / 1000));
    const remaining = Math.max(0, opts.limit - result.count);
    setHeaders(reply, opts.limit, remaining, resetSeconds);
    if (result.count > opts.limit) {
      throw new HttpError(429, 'Rate limit exceeded', {
        'Retry-After': String(resetSeconds),
        'RateLimit-Limit': String(opts.limit),
        'RateLimit-Remaining': '0',
        'RateLimit-Reset': String(resetSeconds),
      });
    }
  };
}
