/**
 * The Fastify application: conventions of docs/api.md §1 (request ids, error contract, security headers, CORS, body
 * limits, OpenAPI) and every domain's plugin (`domains.ts`). Creating the app starts nothing: the domains' listeners
 * and workers start on `app.ready()` (onReady) and stop on `app.close()`; `server.ts` owns the process lifecycle.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppContext } from './core/context.ts';
import { installErrorHandlers, installMethodNotAllowed, installTextGuard } from './core/http/errors.ts';
import { SECURITY_SCHEMES } from './core/http/openapi.ts';
import { domains } from './domains.ts';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const BODY_LIMIT = 1024 * 1024;
export const WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

/**
 * zod → JSON Schema, plus the bodies zod does not validate: a route's `config.openapiBody` (e.g. the multipart
 * upload, parsed by @fastify/multipart rather than a body schema) is documented as its request body.
 */
const openapiTransform: typeof jsonSchemaTransform = (input) => {
  const out = jsonSchemaTransform(input);
  const extra = (input as { route?: { config?: { openapiBody?: unknown } } }).route?.config?.openapiBody;
  return extra ? { ...out, schema: { ...out.schema, body: extra } } : out;
};

const PROBE_PATHS = new Set(['/api/health', '/api/health/live', '/api/health/ready']);

export interface BuildAppOptions {
  /** Serve the built console from apps/web/dist when present (default true). */
  serveWeb?: boolean;
  /** Start the domains' background workers when the app is ready, stop them when it closes (default false). */
  workers?: boolean;
  /** The app serves HTTP: start the domains' listeners (event streams) with it (default true). */
  http?: boolean;
}

export async function buildApp(ctx: AppContext, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = ctx;
  const app = Fastify({
    loggerInstance: ctx.logger as unknown as FastifyBaseLogger,
    // One `request.complete` line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      const value = Array.isArray(incoming) ? incoming[0] : incoming;
      return value && REQUEST_ID_RE.test(value) ? value : crypto.randomUUID().replaceAll('-', '');
    },
    bodyLimit: BODY_LIMIT,
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Domain plugins start their workers in onReady; a slow database at start-up must not time that out.
    pluginTimeout: 120_000,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  installTextGuard(app);
  const notFound = installMethodNotAllowed(app);

  const production = config.env === 'production';
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-ID', request.id);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'strict-origin-when-cross-origin');
    const url = request.url;
    const csp = url.startsWith('/api/docs')
      ? DOCS_CSP
      : url.startsWith('/api') || url.startsWith('/metrics')
        ? API_CSP
        : WEB_CSP;
    reply.header('Content-Security-Policy', csp);
    if (production) reply.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    if (url.startsWith('/api/auth')) reply.header('Cache-Control', 'no-store');
    if (ctx.state.shuttingDown) reply.header('Connection', 'close');
  });

  app.addHook('onError', async (_request, reply, error) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    ctx.recentErrors.record(status >= 500 ? 'internal' : `http_${status}`, status < 500);
    void reply;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, seconds);
    if (!PROBE_PATHS.has(route)) {
      request.log.info(
        {
          method: request.method,
          route,
          path: request.url.split('?')[0],
          status: reply.statusCode,
          duration_ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request.complete',
      );
    }
  });

  await app.register(cors, {
    origin: config.corsOrigins,
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'Origin', 'X-Requested-With', 'X-Request-ID'],
    exposedHeaders: [
      'X-Request-ID',
      'X-Upgrade-URL',
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'Content-Disposition',
    ],
  });

  if (config.docsEnabled) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'ViolaWake Console API',
          version: ctx.version,
          description: 'Create, train, test and download custom wake-word models.',
        },
        components: { securitySchemes: SECURITY_SCHEMES },
      },
      transform: openapiTransform,
    });
    await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: false });
    app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    app.get('/docs', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/api/docs', 308));
    app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) =>
      reply.redirect('/api/openapi.json', 308),
    );
  }

  // One registration per domain (core/domain.ts): its set-up, its routes, its workers' and listeners' lifecycle.
  const workers = opts.workers ?? false;
  const http = opts.http ?? true;
  for (const domain of domains) await app.register(domain.plugin, { ctx, workers, http });

  if (opts.serveWeb !== false && existsSync(path.join(WEB_DIST, 'index.html'))) {
    await app.register(fastifyStatic, {
      root: WEB_DIST,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
    });
    notFound.fallback = (request: FastifyRequest, reply: FastifyReply) => {
      const p = request.url.split('?')[0] ?? '/';
      if ((request.method !== 'GET' && request.method !== 'HEAD') || p.startsWith('/api') || p === '/metrics')
        return false;
      if (path.extname(p)) return false;
      reply.header('Cache-Control', 'no-cache');
      reply.sendFile('index.html');
      return true;
    };
  }
  return app;
}
