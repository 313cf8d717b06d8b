/**
 * JSON logs, one object per line: timestamp, level, logger, message, request_id and structured fields. Values of
 * keys that look like credentials are replaced by [REDACTED].
 */
import pino from 'pino';

export type Logger = pino.Logger;

const SENSITIVE = /password|secret|token|authorization|api_key|apikey|cookie/i;

/** Deep copy of a value with credential-like keys redacted (pino's path redaction cannot match key substrings). */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SENSITIVE.test(k) ? '[REDACTED]' : redact(v, depth + 1);
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
      serializers: { err: pino.stdSerializers.err },
    },
    opts.destination,
  );
}
