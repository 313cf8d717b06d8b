import { type FormEvent, useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { type ApiError, api, describeWait } from '../api/client.ts';
import type { AuthResponse, Message } from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { Alert, Field, usePageTitle } from '../components/ui.tsx';

function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') ? next : '/dashboard';
}

export function RegisterPage() {
  usePageTitle('Create account');
  const { signIn } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = params.get('next');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await api<AuthResponse>('/api/auth/register', {
        body: { name, email, password },
        auth: false,
      });
      await signIn(res);
      navigate(!res.user.email_verified ? '/verify-email' : next ? safeNext(next) : '/record', {
        replace: true,
      });
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="auth-card card">
      <h1>Create your account</h1>
      <p className="muted">Free plan: 3 trainings a month. No card needed.</p>
      {error && <Alert>{error.message}</Alert>}
      <form onSubmit={submit} noValidate={false}>
        <Field
          label="Name"
          name="name"
          value={name}
          onChange={setName}
          autoComplete="name"
          required
          maxLength={255}
          error={error?.fieldMessage?.('name')}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          value={email}
          onChange={setEmail}
          autoComplete="email"
          required
          maxLength={254}
          error={error?.fieldMessage?.('email')}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          required
          minLength={8}
          maxLength={128}
          hint="At least 8 characters."
          error={error?.fieldMessage?.('password')}
        />
        <button className="button button-block" type="submit" disabled={busy}>
          {busy ? 'Creating account…' : 'Create account'}
        </button>
      </form>
      <p className="muted small">
        By creating an account you agree to the <Link to="/terms">terms</Link> and the{' '}
        <Link to="/privacy">privacy notice</Link>.
      </p>
      <p>
        Already have an account?{' '}
        <Link to={next ? `/login?next=${encodeURIComponent(next)}` : '/login'}>Sign in</Link>
      </p>
    </section>
  );
}

export function LoginPage() {
  usePageTitle('Sign in');
  const { signIn, expired, user } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const next = safeNext(params.get('next'));

  useEffect(() => {
    if (user) navigate(next, { replace: true });
  }, [user, next, navigate]);

  useEffect(() => {
    if (waitUntil === null) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [waitUntil]);

  const remaining = waitUntil ? Math.max(0, Math.ceil((waitUntil - now) / 1000)) : 0;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await api<AuthResponse>('/api/auth/login', { body: { email, password }, auth: false });
      await signIn(res);
      navigate(next, { replace: true });
    } catch (err) {
      const apiErr = err as ApiError;
      if (apiErr.status === 423) {
        const secs = apiErr.retryAfter ?? 900;
        setWaitUntil(Date.now() + secs * 1000);
        setError(
          `Too many failed sign-in attempts: this account is locked for ${describeWait(secs)}. You can reset your password meanwhile.`,
        );
      } else if (apiErr.status === 429) {
        const secs = apiErr.retryAfter ?? 60;
        setWaitUntil(Date.now() + secs * 1000);
        setError(
          `Too many sign-in attempts from this network. Please wait ${describeWait(secs)} before trying again.`,
        );
      } else if (apiErr.status === 401) {
        setError('The email or password is not correct.');
      } else {
        setError(apiErr.message);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="auth-card card">
      <h1>Sign in</h1>
      {expired && !error && <Alert kind="info">Your session ended. Please sign in again.</Alert>}
      {error && (
        <Alert>
          {error}
          {remaining > 0 && <span className="countdown"> ({remaining}s)</span>}
        </Alert>
      )}
      <form onSubmit={submit}>
        <Field
          label="Email"
          name="email"
          type="email"
          value={email}
          onChange={setEmail}
          autoComplete="email"
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
          required
          minLength={8}
        />
        <button className="button button-block" type="submit" disabled={busy || remaining > 0}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here?{' '}
        <Link
          to={
            params.get('next')
              ? `/register?next=${encodeURIComponent(params.get('next') ?? '')}`
              : '/register'
          }
        >
          Create an account
        </Link>
      </p>
    </section>
  );
}

export function VerifyEmailPage() {
  usePageTitle('Verify email');
  const [params] = useSearchParams();
  const token = params.get('token');
  const { user, refresh } = useAuth();
  const [state, setState] = useState<'idle' | 'verifying' | 'done' | 'error'>(token ? 'verifying' : 'idle');
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    api<Message>('/api/auth/verify-email', { body: { token }, auth: false })
      .then(async (m) => {
        setState('done');
        setMessage(m.message);
        await refresh();
      })
      .catch((err: ApiError) => {
        setState('error');
        setMessage(
          err.status === 400
            ? 'This verification link is invalid or has expired. Request a new one below.'
            : err.message,
        );
      });
  }, [token, refresh]);

  async function resend() {
    setBusy(true);
    try {
      const m = await api<Message>('/api/auth/resend-verification', { method: 'POST' });
      setMessage(
        m.message === 'Email already verified'
          ? 'Your email is already verified.'
          : `${m.message}. Check your inbox (and spam folder).`,
      );
      if (m.message === 'Email already verified') await refresh();
      setState('idle');
    } catch (err) {
      setMessage((err as ApiError).message);
      setState('error');
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="auth-card card">
      <h1>Verify your email</h1>
      {state === 'verifying' && <p role="status">Verifying…</p>}
      {state === 'done' && (
        <>
          <Alert kind="success">{message}</Alert>
          <Link className="button" to={user ? '/record' : '/login'}>
            {user ? 'Create your first wake word' : 'Sign in'}
          </Link>
        </>
      )}
      {state === 'error' && message && <Alert>{message}</Alert>}
      {state === 'idle' && message && <Alert kind="success">{message}</Alert>}
      {state !== 'done' &&
        state !== 'verifying' &&
        (user?.email_verified ? (
          <p>
            <strong>{user.email}</strong> is verified. <Link to="/dashboard">Go to your dashboard</Link>.
          </p>
        ) : user ? (
          <>
            <p>
              We sent a verification link to <strong>{user.email}</strong>. Open it to unlock recording,
              training and billing. The link is valid for 48 hours.
            </p>
            <button className="button" type="button" onClick={resend} disabled={busy}>
              {busy ? 'Sending…' : 'Resend verification email'}
            </button>
          </>
        ) : (
          <p>
            <Link to="/login?next=/verify-email">Sign in</Link> to resend the verification email.
          </p>
        ))}
    </section>
  );
}

export function ForgotPasswordPage() {
  usePageTitle('Forgot password');
  const [email, setEmail] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setMessage((await api<Message>('/api/auth/forgot-password', { body: { email }, auth: false })).message);
    } catch (err) {
      setError((err as ApiError).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="auth-card card">
      <h1>Reset your password</h1>
      {message ? (
        <Alert kind="success">{message} The link is valid for 2 hours.</Alert>
      ) : (
        <>
          <p className="muted">
            Enter your account email and we will send you a link to choose a new password.
          </p>
          {error && <Alert>{error}</Alert>}
          <form onSubmit={submit}>
            <Field
              label="Email"
              name="email"
              type="email"
              value={email}
              onChange={setEmail}
              autoComplete="email"
              required
            />
            <button className="button button-block" type="submit" disabled={busy}>
              {busy ? 'Sending…' : 'Send reset link'}
            </button>
          </form>
        </>
      )}
      <p>
        <Link to="/login">Back to sign in</Link>
      </p>
    </section>
  );
}

export function ResetPasswordPage() {
  usePageTitle('Choose a new password');
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (password !== confirm) {
      setError('The two passwords do not match.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api<Message>('/api/auth/reset-password', { body: { token, password }, auth: false });
      setDone(true);
    } catch (err) {
      const apiErr = err as ApiError;
      setError(
        apiErr.status === 400
          ? 'This reset link is invalid, expired or was already used. Request a new one.'
          : apiErr.message,
      );
    } finally {
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <section className="auth-card card">
        <h1>Choose a new password</h1>
        <Alert>This page needs the link from the reset email.</Alert>
        <Link to="/forgot-password">Request a reset link</Link>
      </section>
    );
  }
  return (
    <section className="auth-card card">
      <h1>Choose a new password</h1>
      {done ? (
        <>
          <Alert kind="success">Your password was reset. All other sessions were signed out.</Alert>
          <Link className="button" to="/login">
            Sign in
          </Link>
        </>
      ) : (
        <>
          {error && (
            <Alert>
              {error} <Link to="/forgot-password">Request a new link</Link>
            </Alert>
          )}
          <form onSubmit={submit}>
            <Field
              label="New password"
              name="password"
              type="password"
              value={password}
              onChange={setPassword}
              autoComplete="new-password"
              required
              minLength={8}
              maxLength={128}
              hint="At least 8 characters."
            />
            <Field
              label="Repeat the new password"
              name="confirm"
              type="password"
              value={confirm}
              onChange={setConfirm}
              autoComplete="new-password"
              required
              minLength={8}
              maxLength={128}
            />
            <button className="button button-block" type="submit" disabled={busy}>
              {busy ? 'Saving…' : 'Set new password'}
            </button>
          </form>
        </>
      )}
    </section>
  );
}
