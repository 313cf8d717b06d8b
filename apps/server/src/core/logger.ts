/**
 * JSON logs, one object per line: timestamp, level, logger, message, request_id and structured fields.
 *
 * Secrets never reach a log line (issue 26 F2). Three layers, each applied to every line:
 * 1. Values of keys that look like credentials are replaced by [REDACTED] (at any depth).
 * 2. Errors (anywhere in the object, their `cause` chains and AggregateError members) are serialized with a short
 *    allow-list of properties; a failing query's parameters (Drizzle's `params: …` and `params` property) and
 *    PostgreSQL's `detail` values (`Key (email)=(…)`) are removed, and opaque 64-hex digests are masked.
 * 3. The finished line is scrubbed of the process's configured secrets (`registerSecrets`: the secret key,
 *    database/SMTP passwords, Stripe, Resend and S3 keys, the admin token) and of credential shapes: URL userinfo
 *    (`postgres://user:…@`), Stripe keys (`sk_live_…`, `rk_test_…`, `whsec_…`), Resend keys, JWTs, `vw_` API keys,
 *    `Bearer …` and `token=…` / `password=…` pairs.
 */
import pino from 'pino';

export type Logger = pino.Logger;

const SENSITIVE = /password|passwd|secret|token|authorization|api_key|apikey|cookie|credential|private_key/i;
const REDACTED = '[REDACTED]';

/** Literal secret values of this process (and their JSON-escaped forms), longest first. */
const knownSecrets = new Set<string>();
let knownSecretsSorted: string[] = [];

/** Register secret values (configuration credentials) that must never appear in a log line. */
export function registerSecrets(values: (string | null | undefined)[]): void {
  for (const v of values) {
    if (!v || v.length < 6) continue;
    knownSecrets.add(v);
    knownSecrets.add(JSON.stringify(v).slice(1, -1));
    try {
      knownSecrets.add(encodeURIComponent(v));
    } catch {
      // lone surrogates: the literal form is registered
    }
  }
  knownSecretsSorted = [...knownSecrets].sort((a, b) => b.length - a.length);
}

const PATTERNS: [RegExp, string][] = [
  // userinfo of any URL: scheme://user:password@host → scheme://user:[REDACTED]@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/"'\\]*):([^\s@/"'\\]+)@/gi, `$1$2:${REDACTED}@`],
  [/\b(sk|rk)_(live|test)_[0-9A-Za-z]{6,}/g, `$1_$2_${REDACTED}`],
  [/\bwhsec_[0-9A-Za-z+/=_-]{6,}/g, `whsec_${REDACTED}`],
  [/\bre_[0-9A-Za-z_]{16,}/g, `re_${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}/g, REDACTED],
  [/\bvw_[A-Za-z0-9_-]{20,}/g, `vw_${REDACTED}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
  [
    /\b(token|password|passwd|secret|api_key|apikey|access_token|refresh_token|key|signature|credential|security-token)=([^&\s"'\\,;]+)/gi,
    `$1=${REDACTED}`,
  ],
];

/** Remove configured secrets and credential shapes from a string. */
export function scrubText(text: string): string {
  let out = text;
  for (const s of knownSecretsSorted) if (out.includes(s)) out = out.split(s).join(REDACTED);
  for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
  return out;
}

/** Error text: also without a failing query's parameters and PostgreSQL's row values. */
export function scrubErrorText(text: string): string {
  return scrubText(
    text
      // Drizzle: "Failed query: <sql>\nparams: <every parameter>" (also inside the stack's first lines)
      .replace(/\nparams: [\s\S]*?(?=\n\s+at |$)/, `\nparams: ${REDACTED}`)
      // PostgreSQL detail: Key (token_hash)=(…) already exists / Failing row contains (…)
      .replace(/\)=\((?:[^()]|\([^()]*\))*\)/g, `)=(${REDACTED})`)
      .replace(/Failing row contains \([\s\S]*?\)(?=\.|$)/g, `Failing row contains (${REDACTED})`)
      .replace(/\b[0-9a-f]{64}\b/gi, REDACTED),
  );
}

/** Properties of an error worth logging; everything else (params, raw responses, headers, configs) is dropped. */
const ERROR_PROPS = [
  'code',
  'errno',
  'syscall',
  'address',
  'port',
  'hostname',
  'severity',
  'constraint',
  'table',
  'column',
  'schema',
  'dataType',
  'routine',
  'hint',
  'position',
  'statusCode',
  'status',
  'responseCode',
  'command',
  'rawType',
  'requestId',
  'permanent',
  'validationContext',
] as const;

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  query?: string;
  detail?: string;
  cause?: SerializedError | string;
  errors?: (SerializedError | string)[];
  [key: string]: unknown;
}

/** An error as a log field: allow-listed properties, scrubbed text, `cause` and AggregateError members followed. */
export function serializeError(err: unknown, depth = 0): SerializedError | string {
  if (!(err instanceof Error)) {
    if (err && typeof err === 'object' && 'message' in err && depth < 8) {
      const e = err as { message?: unknown; name?: unknown };
      return { type: String(e.name ?? 'Object'), message: scrubErrorText(String(e.message)) };
    }
    return scrubErrorText(String(err));
  }
  const e = err as Error & Record<string, unknown>;
  const out: SerializedError = {
    type: e.constructor?.name && e.constructor.name !== 'Object' ? e.constructor.name : e.name,
    message: scrubErrorText(String(e.message ?? '')),
  };
  if (typeof e.stack === 'string') out.stack = scrubErrorText(e.stack);
  for (const k of ERROR_PROPS) {
    const v = e[k];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') out[k] = scrubErrorText(v);
    else if (typeof v === 'number' || typeof v === 'boolean') (out as Record<string, unknown>)[k] = v;
  }
  // the SQL text (placeholders, no values) helps; its parameters never go out
  if (typeof e.query === 'string') out.query = scrubErrorText(e.query);
  if (typeof e.detail === 'string') out.detail = scrubErrorText(e.detail);
  if (depth < 8) {
    if (e.cause !== undefined && e.cause !== e) out.cause = serializeError(e.cause, depth + 1);
    if (Array.isArray(e.errors)) out.errors = e.errors.slice(0, 10).map((x) => serializeError(x, depth + 1));
  }
  return out;
}

/** A fatal error for stderr: type, message and stack of the error and its causes, scrubbed like a log line. */
export function formatFatalError(err: unknown): string {
  const lines: string[] = [];
  let e: SerializedError | string | undefined = serializeError(err);
  for (let i = 0; e !== undefined && i < 8; i++) {
    if (typeof e === 'string') {
      lines.push(`${i ? 'Caused by: ' : ''}${e}`);
      break;
    }
    lines.push(`${i ? 'Caused by: ' : ''}${e.stack ?? `${e.type}: ${e.message}`}`);
    e = e.cause;
  }
  return scrubText(lines.join('\n'));
}

/** Deep copy of a value with credential-like keys redacted and errors serialized safely. */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return serializeError(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SENSITIVE.test(k) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

export function createLogger(
  opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      messageKey: 'message',
      errorKey: 'err',
      base: { logger: opts.name ?? 'violawake' },
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redact(obj) as Record<string, unknown>,
      },
      serializers: {
        // `log.error(err)` and `{ err }` without a message take the error's message as the line's message
        message: (m: unknown) => (typeof m === 'string' ? scrubErrorText(m) : m),
        err: (e: unknown) => (e instanceof Error ? serializeError(e) : e),
      },
      hooks: { streamWrite: (line: string) => scrubText(line) },
    },
    opts.destination,
  );
}
