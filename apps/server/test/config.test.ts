import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  isPlaceholderSecret,
  loadConfig,
  parseDotEnv,
  readEnvironment,
} from '../src/core/config.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'vw-config-'));
const STRONG = `${'k'.repeat(20)}Q9z!x7Lm2Pw4Rt8Yv6Bn`;

describe('configuration', () => {
  it('has the documented defaults with no environment at all', () => {
    const dir = tmp();
    const c = loadConfig({}, dir);
    expect(c).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 8000,
      consoleBaseUrl: 'http://127.0.0.1:8000',
      consoleBaseUrlFromEnv: false,
      role: 'all',
      dataDir: path.join(dir, 'data'),
      dbUrl: null,
      dbPoolMax: 10,
      accessTokenExpireHours: 2,
      loginMaxFailures: 5,
      loginLockoutMinutes: 15,
      trustedProxyCount: 0,
      corsOrigins: ['http://localhost:5173', 'http://127.0.0.1:5173'],
      docsEnabled: true,
      emailProvider: 'log',
      emailAutoVerify: true,
      storageDir: path.join(dir, 'data', 'storage'),
      tmpDir: path.join(dir, 'data', 'tmp'),
      s3: null,
      trainingTimeoutSeconds: 1800,
      maxConcurrentJobs: 2,
      queueMaxSize: 50,
      targetFaPerHour: 0.5,
      retentionCron: '0 3 * * *',
      trialDays: 14,
      stripeSecretKey: null,
    });
  });

  it('listens on all interfaces in production and honours VIOLAWAKE_HOST and VIOLAWAKE_CONSOLE_BASE_URL', () => {
    const prod = loadConfig(
      {
        VIOLAWAKE_ENV: 'production',
        VIOLAWAKE_SECRET_KEY: STRONG,
        VIOLAWAKE_PORT: '9000',
        VIOLAWAKE_EMAIL_PROVIDER: 'log',
      },
      tmp(),
    );
    expect(prod.host).toBe('0.0.0.0');
    expect(prod.consoleBaseUrl).toBe('http://localhost:9000');
    const lan = loadConfig({ VIOLAWAKE_HOST: '192.168.1.20' }, tmp());
    expect(lan.consoleBaseUrl).toBe('http://192.168.1.20:8000');
    const set = loadConfig({ VIOLAWAKE_CONSOLE_BASE_URL: 'https://wake.example.com/' }, tmp());
    expect(set).toMatchObject({ consoleBaseUrl: 'https://wake.example.com', consoleBaseUrlFromEnv: true });
  });

  it('generates the development key once, with mode 0600, and reuses it', () => {
    const dir = tmp();
    const a = loadConfig({}, dir);
    const b = loadConfig({}, dir);
    expect(a.secretKey.length).toBeGreaterThanOrEqual(60);
    expect(b.secretKey).toBe(a.secretKey);
    const file = path.join(dir, 'data', 'secret.key');
    expect(readFileSync(file, 'utf8')).toBe(a.secretKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses to start in production with a missing, short or placeholder secret', () => {
    const dir = tmp();
    const prod = (secret?: string) =>
      loadConfig(
        {
          VIOLAWAKE_ENV: 'production',
          VIOLAWAKE_DB_URL: 'postgres://x@localhost/db',
          VIOLAWAKE_SMTP_URL: 'smtp://mail.example.com:587',
          ...(secret ? { VIOLAWAKE_SECRET_KEY: secret } : {}),
        },
        dir,
      );
    expect(() => prod()).toThrow(/VIOLAWAKE_SECRET_KEY is required/);
    expect(() => prod('short-but-random-9f8a')).toThrow(/at least 32 characters/);
    expect(() => prod('dev-secret-change-in-production')).toThrow(/VIOLAWAKE_SECRET_KEY/);
    expect(() => prod('changeme-changeme-changeme-changeme')).toThrow(/placeholder/);
    expect(() => prod('x'.repeat(40))).toThrow(/placeholder/);
    expect(prod(STRONG).secretKey).toBe(STRONG);
    for (const p of ['changeme', 'secret', 'password', 'test', 'dev'])
      expect(isPlaceholderSecret(p)).toBe(true);
    expect(isPlaceholderSecret('xQ3b9LmZ0pW7rT2yV5nB8cD1fG4hJ6kM')).toBe(false);
  });

  it('only warns about a short key in development and the embedded database in production', () => {
    const dir = tmp();
    expect(loadConfig({ VIOLAWAKE_SECRET_KEY: 'short' }, dir).warnings.join()).toMatch(/shorter than 32/);
    const prod = loadConfig(
      { VIOLAWAKE_ENV: 'production', VIOLAWAKE_SECRET_KEY: STRONG, VIOLAWAKE_EMAIL_PROVIDER: 'log' },
      dir,
    );
    expect(prod.warnings.join()).toMatch(/embedded database in production/);
  });

  it('rejects invalid values with a message naming the variable', () => {
    const dir = tmp();
    const bad: [Record<string, string>, RegExp][] = [
      [{ VIOLAWAKE_PORT: 'eighty' }, /VIOLAWAKE_PORT must be an integer/],
      [{ VIOLAWAKE_PORT: '70000' }, /VIOLAWAKE_PORT must be between/],
      [{ VIOLAWAKE_ENV: 'staging' }, /VIOLAWAKE_ENV must be one of/],
      [{ VIOLAWAKE_DOCS_ENABLED: 'maybe' }, /VIOLAWAKE_DOCS_ENABLED must be true or false/],
      [{ VIOLAWAKE_DB_URL: 'mysql://x' }, /VIOLAWAKE_DB_URL must use/],
      [{ VIOLAWAKE_TARGET_FA_PER_HOUR: '9' }, /VIOLAWAKE_TARGET_FA_PER_HOUR must be between/],
      [{ VIOLAWAKE_CORS_ORIGINS: '*' }, /VIOLAWAKE_CORS_ORIGINS/],
      [{ VIOLAWAKE_CORS_ORIGINS: 'not a url' }, /VIOLAWAKE_CORS_ORIGINS contains an invalid origin/],
      [{ VIOLAWAKE_RETENTION_CRON: 'daily' }, /VIOLAWAKE_RETENTION_CRON/],
      [{ VIOLAWAKE_EMAIL_PROVIDER: 'smtp' }, /needs VIOLAWAKE_SMTP_URL/],
      [{ VIOLAWAKE_LOG_LEVEL: 'loud' }, /VIOLAWAKE_LOG_LEVEL/],
      [{ VIOLAWAKE_JOB_STALE_SECONDS: '15' }, /VIOLAWAKE_JOB_STALE_SECONDS \(15\) must be at least twice/],
      [
        { VIOLAWAKE_JOB_STALE_SECONDS: '2', VIOLAWAKE_JOB_HEARTBEAT_SECONDS: '1.5' },
        /must be at least twice VIOLAWAKE_JOB_HEARTBEAT_SECONDS \(1.5\)/,
      ],
    ];
    for (const [env, re] of bad) {
      expect(() => loadConfig(env, dir), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => loadConfig(env, dir), JSON.stringify(env)).toThrow(re);
    }
  });

  it('needs PostgreSQL for the api and worker roles', () => {
    const dir = tmp();
    expect(() => loadConfig({ VIOLAWAKE_ROLE: 'worker' }, dir)).toThrow(/needs VIOLAWAKE_DB_URL/);
    expect(() => loadConfig({ VIOLAWAKE_ROLE: 'api' }, dir)).toThrow(/needs VIOLAWAKE_DB_URL/);
    expect(loadConfig({ VIOLAWAKE_ROLE: 'api', VIOLAWAKE_DB_URL: 'postgres://p@h/d' }, dir).role).toBe('api');
  });

  it('accepts S3 only complete, and the deprecated R2 names as aliases', () => {
    const dir = tmp();
    expect(() => loadConfig({ VIOLAWAKE_S3_BUCKET: 'b' }, dir)).toThrow(/Partial S3 configuration/);
    const c = loadConfig(
      {
        VIOLAWAKE_R2_BUCKET: 'b',
        VIOLAWAKE_R2_ACCESS_KEY_ID: 'a',
        VIOLAWAKE_R2_SECRET_ACCESS_KEY: 's',
        VIOLAWAKE_R2_ENDPOINT: 'http://127.0.0.1:9000',
      },
      dir,
    );
    expect(c.s3).toMatchObject({
      bucket: 'b',
      accessKeyId: 'a',
      endpoint: 'http://127.0.0.1:9000',
      region: 'auto',
      presignSeconds: 300,
    });
    expect(c.warnings.join()).toMatch(/VIOLAWAKE_R2_BUCKET is deprecated/);
  });

  it('picks the email provider automatically and auto-verifies only with log', () => {
    const dir = tmp();
    expect(loadConfig({ VIOLAWAKE_SMTP_URL: 'smtp://u:p@127.0.0.1:2525' }, dir)).toMatchObject({
      emailProvider: 'smtp',
      emailAutoVerify: false,
    });
    expect(
      loadConfig({ VIOLAWAKE_RESEND_API_KEY: 're_x', VIOLAWAKE_SMTP_URL: 'smtp://h' }, dir).emailProvider,
    ).toBe('resend');
  });

  it('reads CORS origins as a comma list or a JSON array', () => {
    const dir = tmp();
    expect(
      loadConfig({ VIOLAWAKE_CORS_ORIGINS: 'https://a.example, https://b.example/' }, dir).corsOrigins,
    ).toEqual(['https://a.example', 'https://b.example']);
    expect(loadConfig({ VIOLAWAKE_CORS_ORIGINS: '["https://c.example"]' }, dir).corsOrigins).toEqual([
      'https://c.example',
    ]);
  });

  it('reads .env from the working directory, the real environment winning', () => {
    const dir = tmp();
    writeFileSync(
      path.join(dir, '.env'),
      '# comment\nVIOLAWAKE_PORT=9001\nexport VIOLAWAKE_HOST="127.0.0.1"\nVIOLAWAKE_LOG_LEVEL=debug # trailing\n',
    );
    const env = readEnvironment({ VIOLAWAKE_PORT: '9002' }, dir);
    const c = loadConfig(env, dir);
    expect(c.port).toBe(9002);
    expect(c.host).toBe('127.0.0.1');
    expect(c.logLevel).toBe('debug');
    expect(parseDotEnv("A='x y'\nB=1")).toEqual({ A: 'x y', B: '1' });
  });
});
