/**
 * Transactional email templates (docs/api.md §4.3): subject, plain text and HTML, with every user-supplied string
 * HTML-escaped and links built on VIOLAWAKE_CONSOLE_BASE_URL.
 */
import { EMAIL_TEMPLATES } from '../db/schema.ts';
/** The templates are the ones the outbox table's CHECK constraint allows (one list, in the schema). */
export const EMAIL_TEMPLATE_NAMES = EMAIL_TEMPLATES;
export type EmailTemplate = (typeof EMAIL_TEMPLATE_NAMES)[number];

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Subjects are header text: no line breaks, bounded length. */
function headerSafe(value: unknown): string {
  return String(value ?? '')
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, 150);
}

const str = (p: Record<string, unknown>, k: string, def = ''): string => {
  const v = p[k];
  return v === undefined || v === null ? def : String(v);
};

function link(base: string, path: string, token?: string): string {
  const url = new URL(path, `${base}/`);
  if (token !== undefined) url.searchParams.set('token', token);
  return url.toString();
}

interface Parts {
  subject: string;
  greetingName: string;
  paragraphs: string[];
  action?: { label: string; url: string };
  footer?: string;
}

function layout(p: Parts): RenderedEmail {
  const hello = p.greetingName ? `Hi ${p.greetingName},` : 'Hi,';
  const textLines = [hello, '', ...p.paragraphs.flatMap((x) => [x, ''])];
  if (p.action) textLines.push(`${p.action.label}: ${p.action.url}`, '');
  if (p.footer) textLines.push(p.footer, '');
  textLines.push('— ViolaWake Console');
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222">',
    `<p>${escapeHtml(hello)}</p>`,
    ...p.paragraphs.map((x) => `<p>${escapeHtml(x)}</p>`),
    p.action
      ? `<p><a href="${escapeHtml(p.action.url)}" style="display:inline-block;padding:10px 16px;background:#5b3cc4;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(p.action.label)}</a></p><p style="font-size:12px;color:#666">Or open this link: ${escapeHtml(p.action.url)}</p>`
      : '',
    p.footer ? `<p style="font-size:12px;color:#666">${escapeHtml(p.footer)}</p>` : '',
    '<p>— ViolaWake Console</p></body></html>',
  ].join('');
  return { subject: headerSafe(p.subject), text: textLines.join('\n'), html };
}

/** Render a template with its payload (variables as stored in `email_outbox.payload`). */
export function renderEmail(
  template: EmailTemplate,
  payload: Record<string, unknown>,
  baseUrl: string,
): RenderedEmail {
  const name = str(payload, 'name');
  switch (template) {
    case 'verify_email':
      return layout({
        subject: 'Verify your ViolaWake email',
        greetingName: name,
        paragraphs: ['Confirm your email address to start recording and training wake words.'],
        action: { label: 'Verify email', url: link(baseUrl, '/verify-email', str(payload, 'token')) },
        footer: 'The link is valid for 48 hours. If you did not create an account, ignore this email.',
      });
    case 'password_reset':
      return layout({
        subject: 'Reset your ViolaWake password',
        greetingName: name,
        paragraphs: ['Someone asked to reset the password of your ViolaWake account.'],
        action: {
          label: 'Choose a new password',
          url: link(baseUrl, '/reset-password', str(payload, 'token')),
        },
        footer: 'The link is valid for 2 hours and works once. If you did not ask for it, ignore this email.',
      });
    case 'welcome':
      return layout({
        subject: 'Welcome to ViolaWake Console',
        greetingName: name,
        paragraphs: [
          'Your email is verified. Record a wake word or type one, train it in under a minute, and test it live.',
        ],
        action: { label: 'Open the dashboard', url: link(baseUrl, '/dashboard') },
      });
    case 'team_invite': {
      const team = str(payload, 'team_name', 'a team');
      const inviter = str(payload, 'inviter_name');
      return layout({
        subject: `Join ${team} on ViolaWake`,
        greetingName: name,
        paragraphs: [
          `${inviter ? `${inviter} invited you` : 'You are invited'} to join the team "${team}" on ViolaWake Console as ${str(payload, 'role', 'member')}.`,
        ],
        action: {
          label: 'Join the team',
          url: link(
            baseUrl,
            `/teams/${encodeURIComponent(str(payload, 'team_id'))}/join`,
            str(payload, 'token'),
          ),
        },
        footer: 'The invitation is valid for 72 hours.',
      });
    }
    case 'training_complete': {
      const word = str(payload, 'wake_word', 'your wake word');
      const grade = str(payload, 'quality_grade');
      return layout({
        subject: `Your model ${word} is ready`,
        greetingName: name,
        paragraphs: [
          `Training of "${word}" finished${grade ? ` with quality grade ${grade}` : ''}. Test it live in the browser and download it.`,
        ],
        action: { label: 'Open the dashboard', url: link(baseUrl, '/dashboard') },
      });
    }
    case 'quota_warning': {
      const used = str(payload, 'models_used', str(payload, 'used', '?'));
      const limit = str(payload, 'models_limit', str(payload, 'limit', '?'));
      return layout({
        subject: 'You are close to your ViolaWake training limit',
        greetingName: name,
        paragraphs: [
          `You have used ${used} of ${limit} trainings this month. Upgrade your plan to keep training.`,
        ],
        action: { label: 'See plans', url: link(baseUrl, '/billing') },
      });
    }
    case 'trial_will_end': {
      const date = str(payload, 'trial_end_date', 'soon');
      return layout({
        subject: `Your ViolaWake trial ends on ${date}`,
        greetingName: name,
        paragraphs: [`Your trial ends on ${date}. Add a payment method to keep your plan.`],
        action: { label: 'Manage billing', url: link(baseUrl, '/billing') },
      });
    }
    case 'payment_failed':
      return layout({
        subject: 'Payment failed for your ViolaWake subscription',
        greetingName: name,
        paragraphs: ['We could not charge your payment method. Update it to keep your subscription.'],
        action: { label: 'Manage billing', url: link(baseUrl, '/billing') },
      });
  }
}
