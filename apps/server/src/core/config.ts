import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Startup configuration problem: the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Role = 'api' | 'worker' | 'all';
export type EmailProvider = 'auto' | 'log' | 'smtp' | 'resend';

export interface S3Config {
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  endpoint: string | null;
  region: string;
  forcePathStyle: boolean;
  presignSeconds: number;
}

export interface Config {
  env: 'development' | 'production';
  host: string;
  port: number;
  role: Role;
  dataDir: string;
  dbUrl: string | null;
  dbPoolMax: number;
  redisUrl: string | null;
  secretKey: string;
  accessTokenExpireHours: number;
  loginMaxFailures: number;
  loginLockoutMinutes: number;
  trustedProxyCount: number;
  corsOrigins: string[];
  /**
   * Where people open the console: links in emails and Stripe return URLs. `VIOLAWAKE_CONSOLE_BASE_URL`, else the
   * listener's own URL (updated to the bound address once the server listens; see `consoleBaseUrlFromEnv`).
   */
  consoleBaseUrl: string;
  /** True when `VIOLAWAKE_CONSOLE_BASE_URL` was set (then the listener never overrides it). */
  consoleBaseUrlFromEnv: boolean;
  docsEnabled: boolean;
  adminToken: string | null;
  metricsPort: number | null;
  logLevel: string;
  sentryDsn: string | null;
  emailProvider: EmailProvider;
  smtpUrl: string | null;
  resendApiKey: string | null;
  emailFrom: string;
  emailAutoVerify: boolean;
  storageDir: string;
  s3: S3Config | null;
  frontendModelsDir: string | null;
  tmpDir: string;
  trainingTimeoutSeconds: number;
  maxConcurrentJobs: number;
  queueMaxSize: number;
  /** Share of `queueMaxSize` (percent) that free-plan jobs can never occupy: kept for paid plans. */
  queuePaidReservePercent: number;
  /** Queued + running jobs one user may have at a time, per tier. */
  maxActiveJobs: Record<PlanTier, number>;
  /** Monthly trainings per tier when billing (Stripe) is off; null = unlimited. Ignored while billing is on. */
  monthlyTrainings: Record<PlanTier, number | null>;
  /** Highest `epochs` a free-plan job may ask for. */
  freeMaxEpochs: number;
  jobHeartbeatSeconds: number;
  jobStaleSeconds: number;
  breakerFailureThreshold: number;
  breakerBackoffSeconds: number;
  shutdownGraceSeconds: number;
  negativesCorpusDir: string | null;
  piperVoicesDir: string | null;
  /** Engine data volumes relative to engine.md (1 = full); smaller values trade accuracy for speed (tests, demos). */
  engineBankScale: number;
  /** Build the negative bank in the background when a process with workers starts (VIOLAWAKE_BANK_PREBUILD). */
  bankPrebuild: boolean;
  engineSynthScale: number;
  targetFaPerHour: number;
  recordingRetentionDays: number;
  modelRetentionDays: number;
  postTrainingRetentionHours: number;
  retentionCron: string;
  stripeSecretKey: string | null;
  stripeWebhookSecret: string | null;
  stripePrices: { developer: string | null; business: string | null; enterprise: string | null };
  trialDays: number;
  stripeApiBase: string | null;
  /** Warnings produced while loading (logged at startup). */
  warnings: string[];
}

/** Every credential in the configuration (for log scrubbing: `registerSecrets`). */
export function configSecrets(c: Config): string[] {
  const pw = (url: string | null) => {
    if (!url) return null;
    try {
      const u = new URL(url);
      return u.password ? decodeURIComponent(u.password) : null;
    } catch {
      return null;
    }
  };
  return [
    c.secretKey,
    pw(c.dbUrl),
    pw(c.redisUrl),
    pw(c.smtpUrl),
    c.resendApiKey,
    c.stripeSecretKey,
    c.stripeWebhookSecret,
    c.s3?.secretAccessKey,
    c.adminToken,
    c.sentryDsn,
  ].filter((v): v is string => typeof v === 'string' && v.length > 0);
}

export const PLAN_TIERS = ['free', 'developer', 'business', 'enterprise'] as const;
export type PlanTier = (typeof PLAN_TIERS)[number];

/**
 * A per-tier setting: one value for every tier (`5`, `unlimited`) or a list (`free=3,developer=20`); tiers a
 * list leaves out take `fallback`. `unlimited` is allowed only where `allowUnlimited`.
 */
export function parseTierValues<T extends number | null>(
  name: string,
  raw: string | null,
  fallback: Record<PlanTier, T>,
  allowUnlimited: boolean,
): Record<PlanTier, T> {
  if (raw === null) return { ...fallback };
  const value = (v: string): T => {
    const t = v.trim().toLowerCase();
    if (allowUnlimited && t === 'unlimited') return null as T;
    if (!/^\d+$/.test(t)) {
      throw new ConfigError(
        `${name} must be ${allowUnlimited ? 'a whole number, "unlimited"' : 'a whole number'} or a list like free=3,developer=20 (got "${v.trim()}")`,
      );
    }
    return Number(t) as T;
  };
  if (!raw.includes('=')) {
    const v = value(raw);
    return Object.fromEntries(PLAN_TIERS.map((t) => [t, v])) as Record<PlanTier, T>;
  }
  const out = { ...fallback };
  for (const part of raw.split(',')) {
    if (!part.trim()) continue;
    const [k, v, ...rest] = part.split('=');
    const tier = (k ?? '').trim().toLowerCase();
    if (rest.length || v === undefined || !(PLAN_TIERS as readonly string[]).includes(tier)) {
      throw new ConfigError(
        `${name}: "${part.trim()}" is not <tier>=<value> with a tier of ${PLAN_TIERS.join(', ')}`,
      );
    }
    out[tier as PlanTier] = value(v);
  }
  return out;
}

const PLACEHOLDER_SECRETS = new Set([
  'changeme',
  'change-me',
  'change_me',
  'secret',
  'password',
  'test',
  'dev',
  'development',
  'dev-secret',
  'dev-secret-change-in-production',
  'your-secret-key',
  'your_secret_key',
  'secret-key',
  'secretkey',
  'default',
  'placeholder',
  'insecure',
]);

export function isPlaceholderSecret(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (PLACEHOLDER_SECRETS.has(v)) return true;
  if (/^(change.?me.*|your.?secret.*|replace.?me.*|x+|0+|12345.*|dev-secret.*)$/.test(v)) return true;
  return new Set(v).size < 4;
}

/** The URL a browser on this machine uses for a listener on `host:port` (wildcard addresses become localhost). */
export function listenerUrl(host: string, port: number): string {
  const h =
    host === '0.0.0.0' || host === '::' || host === ''
      ? 'localhost'
      : host.includes(':')
        ? `[${host}]`
        : host;
  return `http://${h}:${port}`;
}

/** Parse a `.env` file (KEY=VALUE lines, optional quotes, # comments). */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2] ?? '';
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[m[1]!] = value;
  }
  return out;
}

/** The environment as the service sees it: `.env` in cwd, overridden by the real environment. */
export function readEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Record<string, string> {
  const merged: Record<string, string> = {};
  const dotenvPath = path.join(cwd, '.env');
  if (existsSync(dotenvPath)) Object.assign(merged, parseDotEnv(readFileSync(dotenvPath, 'utf8')));
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return merged;
}

class Reader {
  constructor(private readonly env: Record<string, string>) {}

  raw(name: string): string | null {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? null : v.trim();
  }

  str(name: string, def: string): string {
    return this.raw(name) ?? def;
  }

  int(name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(name);
    if (v === null) return def;
    if (!/^-?\d+$/.test(v)) throw new ConfigError(`${name} must be an integer (got "${v}")`);
    const n = Number(v);
    if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max} (got ${n})`);
    return n;
  }

  num(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === null) return def;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ConfigError(`${name} must be a number (got "${v}")`);
    if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max} (got ${n})`);
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === null) return def;
    const l = v.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(l)) return true;
    if (['0', 'false', 'no', 'off'].includes(l)) return false;
    throw new ConfigError(`${name} must be true or false (got "${v}")`);
  }

  oneOf<T extends string>(name: string, def: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === null) return def;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got "${v}")`);
    }
    return v as T;
  }

  url(name: string, protocols: string[]): string | null {
    const v = this.raw(name);
    if (v === null) return null;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new ConfigError(`${name} must be a URL`);
    }
    if (!protocols.includes(u.protocol)) {
      throw new ConfigError(`${name} must use ${protocols.join(' or ')}`);
    }
    return v;
  }
}

function parseOrigins(value: string): string[] {
  const v = value.trim();
  let list: unknown;
  if (v.startsWith('[')) {
    try {
      list = JSON.parse(v);
    } catch {
      throw new ConfigError('VIOLAWAKE_CORS_ORIGINS must be a comma list or a JSON array of origins');
    }
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      throw new ConfigError('VIOLAWAKE_CORS_ORIGINS must be a comma list or a JSON array of origins');
    }
  } else {
    list = v.split(',');
  }
  const origins = (list as string[]).map((s) => s.trim()).filter(Boolean);
  for (const o of origins) {
    if (o === '*')
      throw new ConfigError('VIOLAWAKE_CORS_ORIGINS must list origins explicitly ("*" is not allowed)');
    try {
      const u = new URL(o);
      if (u.origin !== o.replace(/\/$/, '')) throw new Error('not an origin');
    } catch {
      throw new ConfigError(`VIOLAWAKE_CORS_ORIGINS contains an invalid origin: "${o}"`);
    }
  }
  return origins.map((o) => o.replace(/\/$/, ''));
}

/**
 * Development key: read `<dataDir>/secret.key`, or create it once (48 random bytes, exclusive create, mode 0600).
 * Two processes racing both end up with the file's content.
 */
export function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret.key');
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(file)) {
    const key = randomBytes(48).toString('base64url');
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, key);
      closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  for (let i = 0; i < 50; i++) {
    const key = readFileSync(file, 'utf8').trim();
    if (key) return key;
  }
  throw new ConfigError(`Could not read the development secret key in ${file}`);
}

export function loadConfig(
  envInput: Record<string, string> = readEnvironment(),
  cwd = process.cwd(),
): Config {
  const r = new Reader(envInput);
  const warnings: string[] = [];
  const env = r.oneOf('VIOLAWAKE_ENV', 'development', ['development', 'production'] as const);
  const production = env === 'production';
  const dataDir = path.resolve(cwd, r.str('VIOLAWAKE_DATA_DIR', './data'));
  const dbUrl = r.url('VIOLAWAKE_DB_URL', ['postgres:', 'postgresql:']);
  const role = r.oneOf('VIOLAWAKE_ROLE', 'all', ['api', 'worker', 'all'] as const);
  if (role !== 'all' && !dbUrl) {
    throw new ConfigError(
      `VIOLAWAKE_ROLE=${role} needs VIOLAWAKE_DB_URL: the embedded database serves a single "all" process only`,
    );
  }
  if (production && !dbUrl)
    warnings.push('VIOLAWAKE_DB_URL is empty: running the embedded database in production');

  let secretKey = r.raw('VIOLAWAKE_SECRET_KEY');
  if (production) {
    if (!secretKey) throw new ConfigError('VIOLAWAKE_SECRET_KEY is required in production');
    if (secretKey.length < 32)
      throw new ConfigError('VIOLAWAKE_SECRET_KEY must be at least 32 characters in production');
    if (isPlaceholderSecret(secretKey))
      throw new ConfigError('VIOLAWAKE_SECRET_KEY is a placeholder value; set a random secret');
  } else if (!secretKey) {
    secretKey = developmentSecret(dataDir);
  } else if (secretKey.length < 32) {
    warnings.push('VIOLAWAKE_SECRET_KEY is shorter than 32 characters (refused in production)');
  }

  const s3Alias = (name: string) => r.raw(`VIOLAWAKE_S3_${name}`) ?? r.raw(`VIOLAWAKE_R2_${name}`);
  for (const name of ['ENDPOINT', 'BUCKET', 'ACCESS_KEY_ID', 'SECRET_ACCESS_KEY']) {
    if (!r.raw(`VIOLAWAKE_S3_${name}`) && r.raw(`VIOLAWAKE_R2_${name}`)) {
      warnings.push(`VIOLAWAKE_R2_${name} is deprecated; use VIOLAWAKE_S3_${name}`);
    }
  }
  const s3Parts = {
    bucket: s3Alias('BUCKET'),
    accessKeyId: s3Alias('ACCESS_KEY_ID'),
    secretAccessKey: s3Alias('SECRET_ACCESS_KEY'),
  };
  const s3Count = Object.values(s3Parts).filter(Boolean).length;
  if (s3Count > 0 && s3Count < 3) {
    throw new ConfigError(
      'Partial S3 configuration: set all of VIOLAWAKE_S3_BUCKET, VIOLAWAKE_S3_ACCESS_KEY_ID and VIOLAWAKE_S3_SECRET_ACCESS_KEY, or none',
    );
  }
  const s3Endpoint = s3Alias('ENDPOINT');
  if (s3Endpoint) {
    try {
      new URL(s3Endpoint);
    } catch {
      throw new ConfigError('VIOLAWAKE_S3_ENDPOINT must be a URL');
    }
  }
  const s3: S3Config | null =
    s3Count === 3
      ? {
          bucket: s3Parts.bucket!,
          accessKeyId: s3Parts.accessKeyId!,
          secretAccessKey: s3Parts.secretAccessKey!,
          endpoint: s3Endpoint,
          region: r.str('VIOLAWAKE_S3_REGION', 'auto'),
          forcePathStyle: r.bool('VIOLAWAKE_S3_FORCE_PATH_STYLE', false),
          presignSeconds: r.int('VIOLAWAKE_S3_PRESIGN_SECONDS', 300, 1, 604800),
        }
      : null;

  const emailProviderSetting = r.oneOf('VIOLAWAKE_EMAIL_PROVIDER', 'auto', [
    'auto',
    'log',
    'smtp',
    'resend',
  ] as const);
  const smtpUrl = r.url('VIOLAWAKE_SMTP_URL', ['smtp:', 'smtps:']);
  const resendApiKey = r.raw('VIOLAWAKE_RESEND_API_KEY');
  let emailProvider: EmailProvider = emailProviderSetting;
  if (emailProviderSetting === 'auto') emailProvider = resendApiKey ? 'resend' : smtpUrl ? 'smtp' : 'log';
  if (emailProvider === 'smtp' && !smtpUrl)
    throw new ConfigError('VIOLAWAKE_EMAIL_PROVIDER=smtp needs VIOLAWAKE_SMTP_URL');
  if (emailProvider === 'resend' && !resendApiKey) {
    throw new ConfigError('VIOLAWAKE_EMAIL_PROVIDER=resend needs VIOLAWAKE_RESEND_API_KEY');
  }
  // Production never falls back to the log provider on its own (issue 26 F7): with it, verification and reset
  // emails go nowhere a user can read and, with auto-verify, anyone could register any address.
  if (production && emailProvider === 'log' && emailProviderSetting !== 'log') {
    throw new ConfigError(
      'VIOLAWAKE_ENV=production needs an email provider: set VIOLAWAKE_SMTP_URL or VIOLAWAKE_RESEND_API_KEY, or set VIOLAWAKE_EMAIL_PROVIDER=log to write emails to the log and the data directory instead (accounts are then not verified automatically unless VIOLAWAKE_EMAIL_AUTO_VERIFY=true)',
    );
  }
  // the log provider verifies new accounts automatically in development only; production must ask for it
  const emailAutoVerify = r.bool('VIOLAWAKE_EMAIL_AUTO_VERIFY', emailProvider === 'log' && !production);
  if (production && emailProvider === 'log') {
    warnings.push(
      emailAutoVerify
        ? 'VIOLAWAKE_EMAIL_PROVIDER=log with VIOLAWAKE_EMAIL_AUTO_VERIFY=true in production: emails are only logged and every new account is verified without proof of its address'
        : 'VIOLAWAKE_EMAIL_PROVIDER=log in production: emails are only logged (files under the data directory); new accounts stay unverified until they open the logged link',
    );
  }

  const stripeSecretKey = r.raw('VIOLAWAKE_STRIPE_SECRET_KEY');
  const stripeWebhookSecret = r.raw('VIOLAWAKE_STRIPE_WEBHOOK_SECRET');
  if (stripeSecretKey && !stripeWebhookSecret) {
    warnings.push(
      'VIOLAWAKE_STRIPE_SECRET_KEY is set without VIOLAWAKE_STRIPE_WEBHOOK_SECRET: webhooks answer 503',
    );
  }
  const jobHeartbeatSeconds = r.num('VIOLAWAKE_JOB_HEARTBEAT_SECONDS', 10, 0.1, 3600);
  const jobStaleSeconds = r.num('VIOLAWAKE_JOB_STALE_SECONDS', 60, 0.5, 86400);
  // a job whose heartbeat is older than the staleness window is reaped: a window that does not hold two
  // heartbeats would have other workers reap jobs that are alive
  if (jobStaleSeconds < 2 * jobHeartbeatSeconds) {
    throw new ConfigError(
      `VIOLAWAKE_JOB_STALE_SECONDS (${jobStaleSeconds}) must be at least twice VIOLAWAKE_JOB_HEARTBEAT_SECONDS (${jobHeartbeatSeconds})`,
    );
  }
  const metricsPortRaw = r.raw('VIOLAWAKE_METRICS_PORT');
  const retentionCron = r.str('VIOLAWAKE_RETENTION_CRON', '0 3 * * *');
  if (retentionCron.split(/\s+/).length !== 5) {
    throw new ConfigError('VIOLAWAKE_RETENTION_CRON must be a five-field cron expression');
  }

  // development listens on the loopback interface only; production (usually behind a proxy or in a container) on all
  const host = r.str('VIOLAWAKE_HOST', env === 'production' ? '0.0.0.0' : '127.0.0.1');
  const port = r.int('VIOLAWAKE_PORT', 8000, 0, 65535);
  const consoleBaseUrlEnv = r.url('VIOLAWAKE_CONSOLE_BASE_URL', ['http:', 'https:']);

  return {
    env,
    host,
    port,
    role,
    dataDir,
    dbUrl,
    dbPoolMax: r.int('VIOLAWAKE_DB_POOL_MAX', 10, 1, 1000),
    redisUrl: r.url('VIOLAWAKE_REDIS_URL', ['redis:', 'rediss:']),
    secretKey,
    accessTokenExpireHours: r.num('VIOLAWAKE_ACCESS_TOKEN_EXPIRE_HOURS', 2, 0.01, 24 * 30),
    loginMaxFailures: r.int('VIOLAWAKE_LOGIN_MAX_FAILURES', 5, 1, 1000),
    loginLockoutMinutes: r.num('VIOLAWAKE_LOGIN_LOCKOUT_MINUTES', 15, 0, 24 * 60),
    trustedProxyCount: r.int('VIOLAWAKE_TRUSTED_PROXY_COUNT', 0, 0, 32),
    corsOrigins: parseOrigins(r.str('VIOLAWAKE_CORS_ORIGINS', 'http://localhost:5173,http://127.0.0.1:5173')),
    consoleBaseUrl: (consoleBaseUrlEnv ?? listenerUrl(host, port)).replace(/\/$/, ''),
    consoleBaseUrlFromEnv: consoleBaseUrlEnv !== null,
    docsEnabled: r.bool('VIOLAWAKE_DOCS_ENABLED', true),
    adminToken: r.raw('VIOLAWAKE_ADMIN_TOKEN'),
    metricsPort: metricsPortRaw === null ? null : r.int('VIOLAWAKE_METRICS_PORT', 0, 1, 65535),
    logLevel: r.oneOf('VIOLAWAKE_LOG_LEVEL', 'info', [
      'trace',
      'debug',
      'info',
      'warn',
      'error',
      'fatal',
      'silent',
    ] as const),
    sentryDsn: r.raw('VIOLAWAKE_SENTRY_DSN'),
    emailProvider,
    smtpUrl,
    resendApiKey,
    emailFrom: r.str('VIOLAWAKE_EMAIL_FROM', 'ViolaWake <noreply@violawake.com>'),
    emailAutoVerify,
    storageDir: path.resolve(cwd, r.str('VIOLAWAKE_STORAGE_DIR', path.join(dataDir, 'storage'))),
    s3,
    frontendModelsDir: r.raw('VIOLAWAKE_FRONTEND_MODELS_DIR'),
    tmpDir: path.resolve(cwd, r.str('VIOLAWAKE_TMP_DIR', path.join(dataDir, 'tmp'))),
    trainingTimeoutSeconds: r.int('VIOLAWAKE_TRAINING_TIMEOUT', 1800, 1, 86400),
    maxConcurrentJobs: r.int('VIOLAWAKE_MAX_CONCURRENT_JOBS', 2, 1, 64),
    queueMaxSize: r.int('VIOLAWAKE_QUEUE_MAX_SIZE', 50, 1, 100000),
    queuePaidReservePercent: r.int('VIOLAWAKE_QUEUE_PAID_RESERVE_PERCENT', 20, 0, 100),
    maxActiveJobs: parseTierValues(
      'VIOLAWAKE_MAX_ACTIVE_JOBS',
      r.raw('VIOLAWAKE_MAX_ACTIVE_JOBS'),
      { free: 3, developer: 5, business: 10, enterprise: 20 },
      false,
    ),
    monthlyTrainings: parseTierValues(
      'VIOLAWAKE_MONTHLY_TRAININGS',
      r.raw('VIOLAWAKE_MONTHLY_TRAININGS'),
      { free: null, developer: null, business: null, enterprise: null },
      true,
    ),
    freeMaxEpochs: r.int('VIOLAWAKE_FREE_MAX_EPOCHS', 80, 5, 500),
    jobHeartbeatSeconds,
    jobStaleSeconds,
    breakerFailureThreshold: r.int('VIOLAWAKE_BREAKER_FAILURE_THRESHOLD', 3, 1, 1000),
    breakerBackoffSeconds: r.num('VIOLAWAKE_BREAKER_BACKOFF_SECONDS', 300, 0, 86400),
    shutdownGraceSeconds: r.num('VIOLAWAKE_SHUTDOWN_GRACE_SECONDS', 20, 0, 3600),
    negativesCorpusDir: r.raw('VIOLAWAKE_NEGATIVES_CORPUS_DIR'),
    piperVoicesDir: r.raw('VIOLAWAKE_PIPER_VOICES_DIR'),
    engineBankScale: r.num('VIOLAWAKE_ENGINE_BANK_SCALE', 1, 0.001, 10),
    bankPrebuild: r.bool('VIOLAWAKE_BANK_PREBUILD', true),
    engineSynthScale: r.num('VIOLAWAKE_ENGINE_SYNTH_SCALE', 1, 0.01, 10),
    targetFaPerHour: r.num('VIOLAWAKE_TARGET_FA_PER_HOUR', 0.5, 0.05, 5),
    recordingRetentionDays: r.num('VIOLAWAKE_RECORDING_RETENTION_DAYS', 90, 0, 36500),
    modelRetentionDays: r.num('VIOLAWAKE_MODEL_RETENTION_DAYS', 365, 0, 36500),
    postTrainingRetentionHours: r.num('VIOLAWAKE_POST_TRAINING_RETENTION_HOURS', 0, 0, 876000),
    retentionCron,
    stripeSecretKey,
    stripeWebhookSecret,
    stripePrices: {
      developer: r.raw('VIOLAWAKE_STRIPE_PRICE_DEVELOPER'),
      business: r.raw('VIOLAWAKE_STRIPE_PRICE_BUSINESS'),
      enterprise: r.raw('VIOLAWAKE_STRIPE_PRICE_ENTERPRISE'),
    },
    trialDays: r.int('VIOLAWAKE_TRIAL_DAYS', 14, 0, 365),
    stripeApiBase: r.url('VIOLAWAKE_STRIPE_API_BASE', ['http:', 'https:']),
    warnings,
  };
}
