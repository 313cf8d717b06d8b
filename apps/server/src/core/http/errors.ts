/**
 * The error contract of docs/api.md §1.3: every error body has `detail`; schema errors are 422 with a list of
 * {loc, msg, type}; unhandled errors are 500 with the request id and never a stack trace.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { captureError } from '../error-tracking.ts';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === 'string' ? detail : `HTTP ${statusCode}`);
    this.name = 'HttpError';
  }
}

export interface ValidationItem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

const LOC_BY_CONTEXT: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

/** Map one zod issue (as carried by fastify-type-provider-zod) to the 422 item of docs/api.md §1.3. */
function zodIssueToItem(context: string, issue: Record<string, any>): ValidationItem {
  const path: (string | number)[] = Array.isArray(issue.path) ? issue.path : [];
  const loc = [LOC_BY_CONTEXT[context] ?? context, ...path];
  const code: string = issue.code ?? '';
  const message: string = issue.message ?? 'Invalid value';
  const origin: string | undefined = issue.origin;
  if (code === 'invalid_type') {
    if (issue.input === undefined || /received undefined/.test(message)) {
      return { loc, msg: 'Field required', type: 'missing' };
    }
    if (issue.expected === 'number' || issue.expected === 'int' || issue.expected === 'bigint') {
      return { loc, msg: 'Input should be a valid integer', type: 'int_parsing' };
    }
    return { loc, msg: message, type: 'value_error' };
  }
  if (code === 'too_small') {
    if (origin === 'string') return { loc, msg: message, type: 'string_too_short' };
    if (origin === 'array' || origin === 'set') return { loc, msg: message, type: 'list_too_short' };
    return { loc, msg: message, type: 'greater_than_equal' };
  }
  if (code === 'too_big') {
    if (origin === 'string') return { loc, msg: message, type: 'string_too_long' };
    if (origin === 'array' || origin === 'set') return { loc, msg: message, type: 'list_too_long' };
    return { loc, msg: message, type: 'less_than_equal' };
  }
  if (code === 'invalid_value' || code === 'invalid_enum_value') return { loc, msg: message, type: 'enum' };
  if (code === 'invalid_format' && issue.format === 'email') {
    return { loc, msg: 'value is not a valid email address', type: 'value_error' };
  }
  if (code === 'invalid_format' && (issue.format === 'regex' || issue.format === 'integer')) {
    return { loc, msg: message, type: issue.format === 'integer' ? 'int_parsing' : 'value_error' };
  }
  return { loc, msg: message, type: 'value_error' };
}

export function validationItems(error: FastifyError): ValidationItem[] {
  const context = (error as FastifyError & { validationContext?: string }).validationContext ?? 'body';
  if (hasZodFastifySchemaValidationErrors(error)) {
    return error.validation.map((v) => {
      const params = (v.params ?? {}) as Record<string, any>;
      const issue = {
        ...params,
        code: v.keyword,
        message: v.message,
        path: v.instancePath.split('/').filter(Boolean),
      };
      issue.path = issue.path.map((p: string) => (/^\d+$/.test(p) ? Number(p) : p));
      return zodIssueToItem(context, issue);
    });
  }
  return (error.validation ?? []).map((v) => ({
    loc: [LOC_BY_CONTEXT[context] ?? context, ...v.instancePath.split('/').filter(Boolean)],
    msg: v.message ?? 'Invalid value',
    type: 'value_error',
  }));
}

/** 422 with a single item, for checks done in handlers that belong to the schema contract. */
export function unprocessable(loc: (string | number)[], msg: string, type = 'value_error'): HttpError {
  return new HttpError(422, [{ loc, msg, type }]);
}

/**
 * Characters PostgreSQL refuses in `text` and `jsonb` values: NUL (U+0000). A string holding one would fail its
 * INSERT/UPDATE with `invalid byte sequence for encoding "UTF8": 0x00` (issue 26 F4: a NUL in a team name answered
 * 500), so every request's JSON body, query and path parameters are checked before validation.
 */
const PG_REJECTED_CHARS = { test: (s: string) => s.includes('\u0000') };
export const PG_REJECTED_MESSAGE = 'Text must not contain NUL (\\u0000) characters';

/** Where in a value a string holding a character PostgreSQL rejects is (first one found), or null. */
export function findRejectedText(
  value: unknown,
  loc: (string | number)[] = [],
  depth = 0,
): (string | number)[] | null {
  if (typeof value === 'string') return PG_REJECTED_CHARS.test(value) ? loc : null;
  if (depth > 32 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findRejectedText(value[i], [...loc, i], depth + 1);
      if (hit) return hit;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (PG_REJECTED_CHARS.test(k)) return [...loc, k];
    const hit = findRejectedText(v, [...loc, k], depth + 1);
    if (hit) return hit;
  }
  return null;
}

/** 422 for text PostgreSQL would refuse, at `loc`. */
export function rejectedText(loc: (string | number)[]): HttpError {
  return unprocessable(loc, PG_REJECTED_MESSAGE, 'string_invalid_character');
}

/** SQLSTATEs that mean the input, not the server, is wrong (in an error or its `cause` chain). */
const PG_INPUT_ERRORS: Record<string, string> = {
  '22021': PG_REJECTED_MESSAGE, // character_not_in_repertoire (NUL, invalid UTF-8)
  '22P05': PG_REJECTED_MESSAGE, // untranslatable_character (\u0000 in jsonb)
  '22P02': 'Invalid value', // invalid_text_representation
  '22001': 'Value too long', // string_data_right_truncation
  '22003': 'Number out of range', // numeric_value_out_of_range
};
function pgInputError(err: unknown): string | null {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 8;
    e = e.cause as never, i++
  ) {
    if (typeof e.code === 'string' && PG_INPUT_ERRORS[e.code]) return PG_INPUT_ERRORS[e.code]!;
  }
  return null;
}

/** Refuse NUL in the JSON body, query and path parameters of every route (before schema validation). */
export function installTextGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const parts: [string, unknown][] = [
      ['path', request.params],
      ['query', request.query],
      ['body', request.body],
    ];
    for (const [where, value] of parts) {
      const hit = findRejectedText(value, [where]);
      if (hit) throw rejectedText(hit);
    }
  });
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof HttpError) {
      reply.headers(error.headers);
      if (error.statusCode === 401 && !reply.hasHeader('www-authenticate'))
        reply.header('WWW-Authenticate', 'Bearer');
      return reply.status(error.statusCode).send({ detail: error.detail });
    }
    if (error.validation) {
      return reply.status(422).send({ detail: validationItems(error) });
    }
    const status = error.statusCode ?? 500;
    if (status === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ detail: 'Request body too large' });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
      return reply
        .status(422)
        .send({ detail: [{ loc: ['body'], msg: 'Invalid JSON body', type: 'json_invalid' }] });
    }
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.status(422).send({ detail: [{ loc: ['body'], msg: 'Field required', type: 'missing' }] });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ detail: 'Unsupported media type' });
    }
    const inputError = status >= 500 ? pgInputError(error) : null;
    if (inputError) {
      // Checked input that PostgreSQL still refused: the request's fault, said plainly (the cause is logged)
      request.log.warn({ err: error }, 'database refused a value from the request');
      return reply.status(422).send({ detail: [{ loc: ['body'], msg: inputError, type: 'value_error' }] });
    }
    if (status >= 400 && status < 500) {
      // Client errors raised by Fastify itself (bad headers, bad URL encoding, ...): a clear message, no internals.
      const detail = status === 404 ? 'Not Found' : status === 405 ? 'Method Not Allowed' : 'Bad request';
      return reply.status(status).send({ detail });
    }
    request.log.error({ err: error }, 'unhandled error');
    captureError(error, { request_id: String(request.id), route: request.routeOptions?.url ?? 'unmatched' });
    return reply.status(500).send({ detail: 'Internal server error', request_id: request.id });
  });
}

/**
 * 405 for a known path with another method: Fastify answers 404 for both, so routes are recorded as patterns and
 * the not-found handler checks whether the path exists under another method.
 */
export interface NotFoundControl {
  /** Tried before answering 404 (the console's single-page-app fallback). */
  fallback?: (request: FastifyRequest, reply: FastifyReply) => boolean;
}

export function installMethodNotAllowed(app: FastifyInstance): NotFoundControl {
  const control: NotFoundControl = {};
  const patterns: { re: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((seg) =>
        seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) patterns.push({ re: new RegExp(`^${source}/?$`), method: m.toUpperCase() });
  });
  app.setNotFoundHandler((request, reply) => {
    const pathOnly = request.url.split('?')[0] ?? '';
    const method = request.method.toUpperCase();
    const other = patterns.some(
      (p) => p.method !== method && p.method !== 'HEAD' && p.method !== 'OPTIONS' && p.re.test(pathOnly),
    );
    if (other && method !== 'OPTIONS') return reply.status(405).send({ detail: 'Method Not Allowed' });
    if (control.fallback?.(request, reply)) return reply;
    return reply.status(404).send({ detail: 'Not Found' });
  });
  return control;
}

/** OpenAPI entries for error statuses of a route: every error body is `{"detail": ...}`. */
const ErrorBody = z.object({ detail: z.unknown() }).describe('Error');
export function errorResponses(...codes: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(codes.map((c) => [c, ErrorBody]));
}
