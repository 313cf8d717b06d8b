/**
 * Issue 26 F2: credentials never reach a log line. Each case provokes a real failure (a refused INSERT on real
 * PostgreSQL, a refused connection, an SMTP server and a Stripe endpoint that echo the credentials back) and greps
 * every captured line for the secret.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/core/config.ts';
import { users } from '../src/core/db/schema.ts';
import { createLogger, registerSecrets, scrubText } from '../src/core/logger.ts';
import { type RunningServer, startServer } from '../src/server.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { SERVER_BIN } from './helpers/repo.ts';
import { freePort } from './helpers/spawn.ts';

const JWT = /eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}/;
const HEX64 = /\b[0-9a-f]{64}\b/i;
const SECRET_KEY = `k-${randomBytes(24).toString('base64url')}`;

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => lines.push(s) } });
  return { lines, logger, text: () => lines.join('') };
}

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Server {
  running: RunningServer;
  url: string;
  lines: string[];
  text: () => string;
  dataDir: string;
}

async function start(db: TestDatabase, env: Record<string, string>, workers = false): Promise<Server> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vw-secrets-'));
  const config = loadConfig(
    {
      VIOLAWAKE_DATA_DIR: dataDir,
      VIOLAWAKE_HOST: '127.0.0.1',
      VIOLAWAKE_PORT: '0',
      VIOLAWAKE_SECRET_KEY: SECRET_KEY,
      VIOLAWAKE_DB_URL: db.url,
      VIOLAWAKE_SHUTDOWN_GRACE_SECONDS: '2',
      ...env,
    },
    dataDir,
  );
  const c = capture();
  const running = await startServer({ config, http: true, workers, logger: c.logger });
  return { running, url: running.url!, lines: c.lines, text: c.text, dataDir };
}

async function stop(s: Server | undefined) {
  if (!s) return;
  await s.running.close();
  rmSync(s.dataDir, { recursive: true, force: true });
}

async function userWithToken(s: Server, email: string) {
  const [row] = await s.running.ctx.db
    .insert(users)
    .values({ email, passwordHash: 'x', name: 'Leaky', emailVerified: true, emailVerifiedAt: new Date() })
    .returning({ id: users.id, tokenVersion: users.tokenVersion });
  const { token } = await signAccessToken(s.running.ctx, { id: row!.id, tokenVersion: row!.tokenVersion });
  return { id: row!.id, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } };
}

describe('a failing query logs its SQL, never its parameters', () => {
  let db: TestDatabase;
  let s: Server;
  beforeAll(async () => {
    db = await createTestDatabase();
    s = await start(db, {});
    // The outbox and the API-key table refuse every insert: the failure the attack pass provoked.
    await s.running.ctx.db.execute(
      sql.raw(`CREATE FUNCTION vw_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
               CREATE TRIGGER vw_refuse_outbox BEFORE INSERT ON email_outbox FOR EACH ROW EXECUTE FUNCTION vw_refuse();
               CREATE TRIGGER vw_refuse_keys BEFORE INSERT ON api_keys FOR EACH ROW EXECUTE FUNCTION vw_refuse();`),
    );
  }, 60_000);
  afterAll(async () => {
    await stop(s);
    await db?.drop();
  });

  it('forgot-password whose outbox insert fails: the reset token (a JWT) is not in the log', async () => {
    const email = `reset-${randomBytes(4).toString('hex')}@example.com`;
    await userWithToken(s, email);
    const res = await fetch(`${s.url}/api/auth/forgot-password`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email }),
    });
    expect(res.status).toBe(500);
    const text = s.text();
    // the failure itself is logged, with the statement and the driver's message …
    expect(text).toContain('INSERT INTO email_outbox');
    expect(text).toContain('refused by the test');
    // … and nothing of what it carried
    expect(text).not.toMatch(JWT);
    expect(text).not.toContain(email);
    expect(text).toContain('params: [REDACTED]');
  });

  it('API-key creation whose insert fails: neither the key nor its SHA-256 is in the log', async () => {
    const before = s.lines.length;
    const u = await userWithToken(s, `key-${randomBytes(4).toString('hex')}@example.com`);
    const res = await fetch(`${s.url}/api/auth/api-keys`, {
      method: 'POST',
      headers: u.headers,
      body: JSON.stringify({ name: 'ci key' }),
    });
    expect(res.status).toBe(500);
    const text = s.lines.slice(before).join('');
    expect(text).toMatch(/insert into .{0,3}api_keys/i);
    expect(text).not.toMatch(HEX64);
    expect(text).not.toMatch(/vw_[A-Za-z0-9_-]{20,}/);
    expect(text).not.toContain(SECRET_KEY);
  });
});

describe('driver and provider messages', () => {
  it('a PostgreSQL connection error from the CLI prints no password', async () => {
    const password = `pg-${randomBytes(12).toString('hex')}`;
    const port = await freePort(); // nothing listens there
    const dir = mkdtempSync(path.join(tmpdir(), 'vw-secrets-cli-'));
    try {
      const r = spawnSync(process.execPath, [SERVER_BIN, 'migrate'], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          VIOLAWAKE_DATA_DIR: dir,
          VIOLAWAKE_DB_URL: `postgres://violawake:${password}@127.0.0.1:${port}/violawake`,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/ECONNREFUSED/);
      expect(r.stdout + r.stderr).not.toContain(password);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('errors with URLs, keys and tokens in messages and cause chains are scrubbed', async () => {
    const pgPassword = `pgpw-${randomBytes(8).toString('hex')}`;
    const stripeKey = `sk_live_${randomBytes(16).toString('hex')}`;
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJyZXNldCJ9.c2lnbmF0dXJlLXZhbHVl';
    registerSecrets([pgPassword]);
    const port = await freePort();
    const client = new pg.Client({
      connectionString: `postgres://u:${pgPassword}@127.0.0.1:${port}/db`,
    });
    const pgErr = await client.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(pgErr).toBeInstanceOf(Error);
    const wrapped = new Error(`could not open postgres://u:${pgPassword}@127.0.0.1:${port}/db`, {
      cause: new AggregateError([pgErr, new Error(`Invalid API Key provided: ${stripeKey}`)], 'two failures'),
    });
    const { lines, logger } = capture();
    logger.error({ err: wrapped }, 'startup failed');
    logger.error(wrapped);
    logger.warn({ nested: { error: wrapped, link: `https://x.test/reset?token=${jwt}` } }, `reset ${jwt}`);
    logger.info({ headers: { authorization: `Bearer ${jwt}` }, password: pgPassword }, 'request');
    const text = lines.join('');
    expect(lines).toHaveLength(4);
    for (const secret of [pgPassword, stripeKey, jwt]) expect(text).not.toContain(secret);
    expect(text).toContain('ECONNREFUSED'); // the cause chain is followed and kept …
    expect(text).toContain('Invalid API Key provided: sk_live_[REDACTED]'); // … with the useful part of each message
    expect(scrubText(`smtp://mailer:${pgPassword}@mail.test:587`)).toBe(
      'smtp://mailer:[REDACTED]@mail.test:587',
    );
  });

  it('an SMTP server that echoes the credentials in its refusal: the password is not logged', async () => {
    const smtpPassword = `smtp-${randomBytes(10).toString('hex')}`;
    // A minimal SMTP server: advertises AUTH PLAIN and refuses it, quoting the decoded credentials.
    const smtp = net.createServer((sock) => {
      sock.write('220 stub ESMTP\r\n');
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        let i = buf.indexOf('\r\n');
        while (i >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (/^EHLO|^HELO/i.test(line)) sock.write('250-stub\r\n250 AUTH PLAIN LOGIN\r\n');
          else if (/^AUTH PLAIN/i.test(line)) {
            const creds = Buffer.from(line.split(' ')[2] ?? '', 'base64')
              .toString()
              .split('\0')
              .join(' ');
            sock.write(`535 5.7.8 Authentication failed for${creds}\r\n`);
          } else if (/^QUIT/i.test(line)) sock.end('221 bye\r\n');
          else sock.write('502 unknown\r\n');
          i = buf.indexOf('\r\n');
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.address() as net.AddressInfo).port;
    const db = await createTestDatabase();
    let s: Server | undefined;
    try {
      s = await start(
        db,
        {
          VIOLAWAKE_SMTP_URL: `smtp://mailer:${smtpPassword}@127.0.0.1:${port}`,
          VIOLAWAKE_LOG_LEVEL: 'debug',
        },
        true,
      );
      const res = await fetch(`${s.url}/api/auth/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          email: `smtp-${randomBytes(4).toString('hex')}@example.com`,
          password: 'correct horse battery staple 9',
          name: 'Mail',
        }),
      });
      expect(res.status).toBe(201);
      const server = s;
      await until('the failed delivery to be logged', async () =>
        server.text().includes('email delivery') ? true : null,
      );
      const text = s.text();
      expect(text).toContain('Authentication failed');
      expect(text).not.toContain(smtpPassword);
      const [row] = await s.running.ctx.db
        .execute<{ last_error: string }>(
          sql`SELECT last_error FROM email_outbox WHERE last_error IS NOT NULL LIMIT 1`,
        )
        .then((r) => (r as unknown as { rows: { last_error: string }[] }).rows ?? r);
      expect(row?.last_error).toContain('Authentication failed');
      expect(row?.last_error).not.toContain(smtpPassword);
    } finally {
      await stop(s);
      await db.drop();
      smtp.close();
    }
  }, 60_000);

  it('a Stripe error that quotes the secret key: the key is not logged', async () => {
    const stripeKey = `sk_test_${randomBytes(20).toString('hex')}`;
    const stripe = http.createServer((req, res) => {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            type: 'invalid_request_error',
            message: `Invalid API Key provided: ${req.headers.authorization?.replace('Bearer ', '')}`,
          },
        }),
      );
    });
    await new Promise<void>((r) => stripe.listen(0, '127.0.0.1', r));
    const db = await createTestDatabase();
    let s: Server | undefined;
    try {
      s = await start(db, {
        VIOLAWAKE_STRIPE_SECRET_KEY: stripeKey,
        VIOLAWAKE_STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(16).toString('hex')}`,
        VIOLAWAKE_STRIPE_PRICE_DEVELOPER: 'price_dev',
        VIOLAWAKE_STRIPE_API_BASE: `http://127.0.0.1:${(stripe.address() as net.AddressInfo).port}`,
      });
      const u = await userWithToken(s, `stripe-${randomBytes(4).toString('hex')}@example.com`);
      const res = await fetch(`${s.url}/api/billing/checkout`, {
        method: 'POST',
        headers: u.headers,
        body: JSON.stringify({ tier: 'developer' }),
      });
      expect(res.status).toBe(502);
      const text = s.text();
      expect(text).toContain('Invalid API Key provided');
      expect(text).not.toContain(stripeKey);
      expect(text).not.toContain(stripeKey.slice(8));
    } finally {
      await stop(s);
      await db.drop();
      stripe.close();
    }
  }, 60_000);
});
