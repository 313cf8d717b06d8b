/**
 * Transactional email (docs/api.md §4.3): a real SMTP server (`smtp-server`) receives what the outbox deliverer sends;
 * the deliverer retries with backoff while the sink is down and delivers later, once; permanent rejections fail the
 * row; two worker processes never send a row twice; the Resend provider against a local HTTP server; the log
 * provider's saved message; every template's escaping.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.ts';
import { enqueueEmail } from '../src/core/email/outbox.ts';
import { EmailSendError, ResendEmailProvider } from '../src/core/email/providers.ts';
import { EMAIL_TEMPLATE_NAMES, escapeHtml, renderEmail } from '../src/core/email/templates.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { createUser } from './helpers/users.ts';

interface Received {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  text: string;
}

function decodeQuotedPrintable(s: string): string {
  return s
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/** A real SMTP server on loopback collecting messages; `rejectTo` answers 550 for those recipients. */
class SmtpSink {
  messages: Received[] = [];
  private server: SMTPServer | null = null;
  port = 0;
  rejectTo = new Set<string>();

  async start(port = 0): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo: (address, _session, cb) => {
        if (this.rejectTo.has(address.address)) {
          const err = new Error('Mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = 550;
          return cb(err);
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const subject = /^Subject: (.*)$/im.exec(raw)?.[1]?.trim() ?? '';
          this.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            subject,
            text: decodeQuotedPrintable(raw),
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  to(address: string): Received[] {
    return this.messages.filter((m) => m.to.includes(address));
  }
}

async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(server: TestServer, p: string, body: unknown, token?: string) {
  const res = await fetch(`${server.url}${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const tokenFrom = (text: string, route: string): string => {
  const m = new RegExp(`${route}\\?token=([A-Za-z0-9._~-]+)`).exec(text);
  expect(m, `link to ${route}`).not.toBeNull();
  return m![1]!;
};

describe('SMTP delivery through the outbox', () => {
  const sink = new SmtpSink();
  const clock = new ManualClock();
  let server: TestServer;

  beforeAll(async () => {
    await sink.start();
    server = await startTestServer({
      driver: 'postgres',
      clock,
      env: {
        VIOLAWAKE_SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
        VIOLAWAKE_ADMIN_TOKEN: 'admin-token-email-tests',
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await sink.stop();
  });

  it('sends exactly one verification email; its link verifies; welcome follows once', async () => {
    const reg = await post(server, '/api/auth/register', {
      email: 'Smtp.User@Example.com',
      password: 'smtp password',
      name: 'Smtp <User>',
    });
    expect(reg.status).toBe(201);
    expect(reg.body.user.email_verified).toBe(false); // a real provider never auto-verifies
    const [mail] = await waitFor(
      () => sink.to('smtp.user@example.com').length > 0 && sink.to('smtp.user@example.com'),
    );
    expect(mail!.subject).toBe('Verify your ViolaWake email');
    expect(mail!.from).toBe('noreply@violawake.com');
    expect(mail!.raw).toMatch(/Content-Type: multipart\/alternative/);
    expect(mail!.text).toContain('Smtp &lt;User&gt;'); // escaped in the HTML part
    // no VIOLAWAKE_CONSOLE_BASE_URL: the link points where the server listens
    expect(mail!.text).toContain(`${server.url}/verify-email?token=`);
    const token = tokenFrom(mail!.text, 'verify-email');
    const ok = await post(server, '/api/auth/verify-email', { token });
    expect(ok.status).toBe(200);
    const welcome = await waitFor(() => {
      const w = sink.to('smtp.user@example.com').filter((m) => m.subject === 'Welcome to ViolaWake Console');
      return w.length > 0 && w;
    });
    await post(server, '/api/auth/verify-email', { token });
    await sleep(1500);
    expect(welcome).toHaveLength(1);
    expect(sink.to('smtp.user@example.com').map((m) => m.subject)).toEqual([
      'Verify your ViolaWake email',
      'Welcome to ViolaWake Console',
    ]);
    // Sent rows keep no token.
    const rows = await server.ctx.database.query<{
      status: string;
      payload: Record<string, unknown>;
      attempts: number;
    }>('SELECT status, payload, attempts FROM email_outbox WHERE user_id = $1 ORDER BY id', [
      reg.body.user.id,
    ]);
    expect(rows.rows.map((r) => r.status)).toEqual(['sent', 'sent']);
    expect(rows.rows[0]!.payload).toEqual({ name: 'Smtp <User>' });
    expect(rows.rows[0]!.attempts).toBe(1);
  });

  it('sends one reset email for a burst of requests; its link resets the password', async () => {
    const u = await createUser(server, { email: 'reset.me@example.com', password: 'before reset' });
    for (let i = 0; i < 3; i++)
      expect(
        (await post(server, '/api/auth/forgot-password', { email: 'Reset.Me@example.com' })).status,
      ).toBe(200);
    const [mail] = await waitFor(() => sink.to(u.email).length > 0 && sink.to(u.email));
    await sleep(1500);
    expect(sink.to(u.email)).toHaveLength(1);
    expect(mail!.subject).toBe('Reset your ViolaWake password');
    const token = tokenFrom(mail!.text, 'reset-password');
    expect((await post(server, '/api/auth/reset-password', { token, password: 'after reset' })).status).toBe(
      200,
    );
    expect((await post(server, '/api/auth/login', { email: u.email, password: 'after reset' })).status).toBe(
      200,
    );
  });

  it('keeps a message while the sink is down and delivers it later, once', async () => {
    const u = await createUser(server, { email: 'later@example.com' });
    const port = sink.port;
    await sink.stop();
    clock.advance(60_000); // a new UTC minute: a new reset dedupe key
    expect((await post(server, '/api/auth/forgot-password', { email: u.email })).status).toBe(200);
    const failed = await waitFor(async () => {
      const r = await server.ctx.database.query<{
        status: string;
        attempts: number;
        last_error: string | null;
        next_attempt_at: Date;
      }>(
        `SELECT status, attempts, last_error, next_attempt_at FROM email_outbox WHERE user_id = $1 AND template = 'password_reset'`,
        [u.id],
      );
      return r.rows[0]?.attempts === 1 && r.rows[0];
    });
    expect(failed.status).toBe('pending');
    expect(failed.last_error).toMatch(/ECONNREFUSED/);
    const delay = failed.next_attempt_at.getTime() - Math.max(Date.now(), clock.now().getTime());
    expect(delay).toBeGreaterThan(20_000);
    expect(delay).toBeLessThanOrEqual(30_000);

    await sink.start(port);
    await server.ctx.database.notify('email_outbox', 'wake');
    await sleep(1500);
    expect(sink.to(u.email)).toHaveLength(0); // not due yet (backoff)
    clock.advance(31_000);
    await server.ctx.database.notify('email_outbox', 'wake');
    const [mail] = await waitFor(() => sink.to(u.email).length > 0 && sink.to(u.email));
    expect(mail!.subject).toBe('Reset your ViolaWake password');
    await server.ctx.database.notify('email_outbox', 'wake');
    await sleep(1500);
    expect(sink.to(u.email)).toHaveLength(1);
    const r = await server.ctx.database.query<{ status: string; attempts: number }>(
      `SELECT status, attempts FROM email_outbox WHERE user_id = $1 AND template = 'password_reset'`,
      [u.id],
    );
    expect(r.rows).toEqual([{ status: 'sent', attempts: 2 }]);
  });

  it('fails a permanently rejected message at once and reports it in health details', async () => {
    sink.rejectTo.add('bounce@example.com');
    await enqueueEmail(server.ctx.db, {
      to: 'bounce@example.com',
      userId: null,
      template: 'payment_failed',
      payload: { name: 'B' },
    });
    const row = await waitFor(async () => {
      const r = await server.ctx.database.query<{ status: string; attempts: number; last_error: string }>(
        `SELECT status, attempts, last_error FROM email_outbox WHERE to_address = 'bounce@example.com'`,
      );
      return r.rows[0]?.status === 'failed' && r.rows[0];
    });
    expect(row.attempts).toBe(1);
    expect(row.last_error).toMatch(/550/);
    const res = await fetch(`${server.url}/api/health/details`, {
      headers: { 'X-Admin-Token': 'admin-token-email-tests' },
    });
    const details = (await res.json()) as any;
    expect(details.components.email).toMatchObject({
      status: 'degraded',
      provider: 'smtp',
      outbox_failed: 1,
    });
    expect(details.components.email.outbox_pending).toBeTypeOf('number');
    expect(details.status).toBe('degraded');
  });

  it('a dedupe key sends at most once', async () => {
    const msg = {
      to: 'dedupe@example.com',
      userId: null,
      template: 'quota_warning' as const,
      payload: { models_used: 4, models_limit: 5 },
      dedupeKey: 'quota:test:1',
    };
    expect(await enqueueEmail(server.ctx.db, msg)).toBe(true);
    expect(await enqueueEmail(server.ctx.db, msg)).toBe(false);
    const [mail] = await waitFor(
      () => sink.to('dedupe@example.com').length > 0 && sink.to('dedupe@example.com'),
    );
    expect(await enqueueEmail(server.ctx.db, msg)).toBe(false);
    await sleep(1000);
    expect(sink.to('dedupe@example.com')).toHaveLength(1);
    expect(mail!.text).toContain('4 of 5 trainings');
  });
});

describe('two worker processes on one database', () => {
  it('deliver every message exactly once', async () => {
    const sink = new SmtpSink();
    await sink.start();
    const db = await createTestDatabase();
    const env = { VIOLAWAKE_SMTP_URL: `smtp://127.0.0.1:${sink.port}` };
    const a = await startTestServer({ driver: 'postgres', database: db, env });
    const b = await startTestServer({ driver: 'postgres', database: db, env });
    try {
      const n = 45;
      for (let i = 0; i < n; i++) {
        await enqueueEmail((i % 2 ? a : b).ctx.db, {
          to: `bulk${i}@example.com`,
          userId: null,
          template: 'training_complete',
          payload: { wake_word: `word ${i}` },
        });
      }
      await waitFor(() => sink.messages.length >= n, 30_000);
      await sleep(1500);
      const recipients = sink.messages.map((m) => m.to[0]);
      expect(recipients).toHaveLength(n);
      expect(new Set(recipients).size).toBe(n);
      const r = await a.ctx.database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM email_outbox WHERE status = 'sent' AND attempts = 1`,
      );
      expect(r.rows[0]!.n).toBe(n);
    } finally {
      await a.close();
      await b.close();
      await db.drop();
      await sink.stop();
    }
  });
});

describe('log provider', () => {
  it('auto-verifies new users and keeps each message in the data dir with a clickable link', async () => {
    const server = await startTestServer({ driver: 'postgres' });
    try {
      const reg = await post(server, '/api/auth/register', {
        email: 'dev@example.com',
        password: 'dev password',
        name: 'Dev',
      });
      expect(reg.body.user.email_verified).toBe(true);
      const u = await createUser(server, { email: 'forgetful@example.com' });
      await post(server, '/api/auth/forgot-password', { email: u.email });
      const dir = path.join(server.dataDir, 'mail');
      const files = await waitFor(
        () =>
          existsSync(dir) &&
          readdirSync(dir).filter((f) => f.endsWith('password_reset.html')).length > 0 &&
          readdirSync(dir),
      );
      expect(files.some((f) => f.endsWith('-welcome.txt'))).toBe(true);
      const html = readFileSync(
        path.join(dir, files.find((f) => f.endsWith('password_reset.html'))!),
        'utf8',
      );
      const token = tokenFrom(html, 'reset-password');
      expect(
        (await post(server, '/api/auth/reset-password', { token, password: 'a new password' })).status,
      ).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('Resend provider', () => {
  it('posts the message with the idempotency key; 4xx is permanent, 429 and 5xx are retried', async () => {
    const seen: { headers: http.IncomingHttpHeaders; body: any }[] = [];
    let answer = 200;
    const api = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: JSON.parse(data) });
        res.writeHead(answer, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify(answer === 200 ? { id: 'abc' } : { name: 'validation_error', message: 'bad' }),
        );
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    try {
      const provider = new ResendEmailProvider('re_test_key', base);
      const msg = {
        id: 42,
        from: 'ViolaWake <noreply@violawake.com>',
        to: 'r@example.com',
        template: 'welcome',
        ...renderEmail('welcome', { name: 'R' }, 'http://console.test'),
      };
      await provider.send(msg);
      expect(seen[0]!.headers.authorization).toBe('Bearer re_test_key');
      expect(seen[0]!.headers['idempotency-key']).toBe('outbox-42');
      expect(seen[0]!.body).toMatchObject({
        from: msg.from,
        to: ['r@example.com'],
        subject: 'Welcome to ViolaWake Console',
      });
      expect(seen[0]!.body.html).toContain('http://console.test/dashboard');
      expect(seen[0]!.body.text).toContain('http://console.test/dashboard');
      for (const [status, permanent] of [
        [422, true],
        [403, true],
        [429, false],
        [500, false],
      ] as const) {
        answer = status;
        const err = await provider.send(msg).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(EmailSendError);
        expect((err as EmailSendError).permanent, String(status)).toBe(permanent);
        expect((err as EmailSendError).message).not.toContain('re_test_key');
      }
      const down = new ResendEmailProvider('re_test_key', 'http://127.0.0.1:1');
      const err = await down.send(msg).catch((e: unknown) => e);
      expect((err as EmailSendError).permanent).toBe(false);
    } finally {
      await new Promise<void>((r) => api.close(() => r()));
    }
  });
});

describe('templates', () => {
  it('render every template with a subject, text and escaped HTML', () => {
    const evil = '<script>alert("x")</script> & co';
    const payload = {
      name: evil,
      token: 'tok.en-1',
      team_name: evil,
      team_id: 7,
      inviter_name: evil,
      role: 'admin',
      wake_word: evil,
      quality_grade: 'A',
      models_used: 4,
      models_limit: 5,
      trial_end_date: '2026-12-01',
    };
    const links: Record<string, string> = {
      verify_email: 'https://console.example/verify-email?token=tok.en-1',
      password_reset: 'https://console.example/reset-password?token=tok.en-1',
      welcome: 'https://console.example/dashboard',
      team_invite: 'https://console.example/teams/7/join?token=tok.en-1',
      training_complete: 'https://console.example/dashboard',
      quota_warning: 'https://console.example/billing',
      trial_will_end: 'https://console.example/billing',
      payment_failed: 'https://console.example/billing',
    };
    for (const t of EMAIL_TEMPLATE_NAMES) {
      const r = renderEmail(t, payload, 'https://console.example');
      expect(r.subject.length, t).toBeGreaterThan(5);
      expect(r.subject).not.toMatch(/[\r\n]/);
      expect(r.text).toContain(links[t]!);
      expect(r.html).toContain(escapeHtml(links[t]!));
      expect(r.html).not.toContain('<script>');
      expect(r.html).toContain('&lt;script&gt;');
    }
    expect(renderEmail('team_invite', payload, 'https://c.example').subject).toBe(
      `Join ${evil} on ViolaWake`,
    );
    expect(renderEmail('training_complete', { wake_word: 'hey viola' }, 'https://c.example').subject).toBe(
      'Your model hey viola is ready',
    );
    expect(renderEmail('quota_warning', { used: 8, limit: 10 }, 'https://c.example').text).toContain(
      '8 of 10 trainings',
    );
    expect(renderEmail('trial_will_end', payload, 'https://c.example').subject).toBe(
      'Your ViolaWake trial ends on 2026-12-01',
    );
    expect(renderEmail('verify_email', { name: 'a\r\nBcc: x@y' }, 'https://c.example').subject).toBe(
      'Verify your ViolaWake email',
    );
  });
});
