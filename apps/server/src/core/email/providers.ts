/**
 * Email providers (docs/api.md §4.3): `log` (development: one JSON log line per email and the rendered message saved
 * under <DATA_DIR>/mail so a developer can open it and click the link), SMTP (nodemailer, VIOLAWAKE_SMTP_URL) and
 * Resend (HTTPS API, `Idempotency-Key: outbox-<id>`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config.ts';
import { type Logger, scrubText } from '../logger.ts';
import type { RenderedEmail } from './templates.ts';

export interface OutgoingEmail extends RenderedEmail {
  id: number;
  from: string;
  to: string;
  template: string;
}

/** A send failure. `permanent` failures are not retried (invalid address, 4xx other than 429). */
export class EmailSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'EmailSendError';
  }
}

export interface EmailProvider {
  readonly name: 'log' | 'smtp' | 'resend';
  send(msg: OutgoingEmail): Promise<void>;
  close?(): Promise<void>;
}

export class LogEmailProvider implements EmailProvider {
  readonly name = 'log' as const;
  constructor(
    private readonly logger: Logger,
    readonly mailDir: string,
  ) {}

  async send(msg: OutgoingEmail): Promise<void> {
    mkdirSync(this.mailDir, { recursive: true });
    const base = path.join(this.mailDir, `${String(msg.id).padStart(6, '0')}-${msg.template}`);
    const header = `From: ${msg.from}\nTo: ${msg.to}\nSubject: ${msg.subject}\n\n`;
    writeFileSync(`${base}.txt`, header + msg.text, { mode: 0o600 });
    writeFileSync(`${base}.html`, msg.html, { mode: 0o600 });
    // The link carries a credential: the log line names the file, the file has the link.
    this.logger.info(
      { email_id: msg.id, to: msg.to, subject: msg.subject, template: msg.template, file: `${base}.html` },
      'email (log provider)',
    );
  }
}

/** Short, credential-free description of an error. */
export function describeError(err: unknown): string {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const parts = [e.code, e.responseCode ? `SMTP ${e.responseCode}` : undefined, e.message].filter(Boolean);
  return scrubText(parts.join(': ').replace(/\/\/[^@/\s]+@/g, '//***@')).slice(0, 500);
}

export class SmtpEmailProvider implements EmailProvider {
  readonly name = 'smtp' as const;
  private readonly transport: Transporter;
  constructor(url: string) {
    this.transport = nodemailer.createTransport(url, {
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    } as never);
  }

  async send(msg: OutgoingEmail): Promise<void> {
    try {
      await this.transport.sendMail({
        from: msg.from,
        to: msg.to,
        subject: msg.subject,
        text: msg.text,
        html: msg.html,
        messageId: `<outbox-${msg.id}@violawake>`,
      });
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      // 5xx from the server (mailbox unavailable, syntax error in address) is permanent; 4xx and network errors retry.
      const permanent = typeof code === 'number' && code >= 500 && code < 600;
      throw new EmailSendError(describeError(err), permanent);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

export class ResendEmailProvider implements EmailProvider {
  readonly name = 'resend' as const;
  constructor(
    private readonly apiKey: string,
    private readonly baseUrl = 'https://api.resend.com',
  ) {}

  async send(msg: OutgoingEmail): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/emails`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${this.apiKey}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': `outbox-${msg.id}`,
        },
        body: JSON.stringify({
          from: msg.from,
          to: [msg.to],
          subject: msg.subject,
          html: msg.html,
          text: msg.text,
        }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new EmailSendError(`resend request failed: ${describeError(err)}`, false);
    }
    if (res.ok) {
      await res.body?.cancel().catch(() => {});
      return;
    }
    let detail = '';
    try {
      const body = (await res.json()) as { message?: unknown; name?: unknown };
      detail = [body.name, body.message].filter((x) => typeof x === 'string').join(': ');
    } catch {
      /* not JSON */
    }
    const permanent = res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 409;
    throw new EmailSendError(
      `resend HTTP ${res.status}${detail ? `: ${detail}` : ''}`.slice(0, 500),
      permanent,
    );
  }
}

export function createEmailProvider(config: Config, logger: Logger): EmailProvider {
  switch (config.emailProvider) {
    case 'smtp':
      return new SmtpEmailProvider(config.smtpUrl!);
    case 'resend':
      return new ResendEmailProvider(
        config.resendApiKey!,
        process.env.VIOLAWAKE_RESEND_API_BASE || undefined,
      );
    default:
      return new LogEmailProvider(logger, path.join(config.dataDir, 'mail'));
  }
}
