import { type ReactNode, useEffect, useState } from 'react';
import { Link, Navigate, NavLink, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { api } from '../api/client.ts';
import type { BankSetupStatus } from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { Spinner } from './ui.tsx';

function Logo() {
  return (
    <Link to="/" className="logo" aria-label="ViolaWake Console home">
      <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
        <rect width="32" height="32" rx="8" fill="currentColor" />
        <path d="M8 16h2v4H8zm4-5h2v10h-2zm4-4h2v18h-2zm4 4h2v10h-2zm4 5h2v4h-2z" fill="#fff" />
      </svg>
      <span>ViolaWake</span>
    </Link>
  );
}

export function Layout() {
  const { user, signOut } = useAuth();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const { pathname } = useLocation();
  // Close the small-screen menu after every navigation.
  // biome-ignore lint/correctness/useExhaustiveDependencies: pathname is the trigger
  useEffect(() => setOpen(false), [pathname]);
  const signedIn = user !== null;
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Logo />
          <button
            type="button"
            className="menu-toggle"
            aria-expanded={open}
            aria-controls="main-nav"
            onClick={() => setOpen((v) => !v)}
          >
            Menu
          </button>
          <nav id="main-nav" className={open ? 'nav open' : 'nav'} aria-label="Main">
            {signedIn ? (
              <>
                <NavLink to="/dashboard">Dashboard</NavLink>
                <NavLink to="/record">New wake word</NavLink>
                <NavLink to="/recordings">Recordings</NavLink>
                <NavLink to="/teams">Teams</NavLink>
                <NavLink to="/billing">Billing</NavLink>
                <NavLink to="/account">Account</NavLink>
                <button
                  type="button"
                  className="link-button"
                  onClick={async () => {
                    navigate('/login', { replace: true });
                    await signOut();
                  }}
                >
                  Sign out
                </button>
              </>
            ) : (
              <>
                <NavLink to="/pricing">Pricing</NavLink>
                <NavLink to="/login">Sign in</NavLink>
                <Link className="button button-small" to="/register">
                  Get started
                </Link>
              </>
            )}
          </nav>
        </div>
      </header>
      {signedIn && !user.email_verified && <VerifyBanner />}
      {signedIn && user.email_verified && <BankSetupBanner />}
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="footer">
        <div className="footer-inner">
          <span>© {new Date().getFullYear()} ViolaWake</span>
          <nav aria-label="Footer">
            <Link to="/pricing">Pricing</Link>
            <Link to="/privacy">Privacy</Link>
            <Link to="/terms">Terms</Link>
            <a href="/api/docs">API docs</a>
          </nav>
        </div>
      </footer>
    </div>
  );
}

function VerifyBanner() {
  return (
    <div className="banner" role="status">
      Please verify your email address to record, train and manage billing.{' '}
      <Link to="/verify-email">Resend the email</Link>
    </div>
  );
}

/** While the server builds its negative bank (once per installation), what that means for the first model. */
export function bankSetupText(s: BankSetupStatus): string {
  const count = s.done !== null && s.total !== null ? ` — ${s.done} of ${s.total}` : '';
  const eta =
    s.eta_s === null
      ? ''
      : s.eta_s < 60
        ? ', less than a minute left'
        : `, about ${Math.round(s.eta_s / 60)} min left`;
  return `One-time setup: building the negative bank${count}${eta}. Models trained before it is ready wait for it.`;
}

function BankSetupBanner() {
  const [status, setStatus] = useState<BankSetupStatus | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      let next: BankSetupStatus | null = null;
      try {
        next = await api<BankSetupStatus>('/api/training/bank');
      } catch {
        // advisory: try again later
      }
      if (stopped) return;
      setStatus(next);
      // poll while building (or unknown); stop once ready, failed or disabled
      if (next === null || next.state === 'building' || next.state === 'idle') timer = setTimeout(poll, 5000);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  if (status?.state !== 'building') return null;
  return (
    <div className="banner" role="status" data-testid="bank-setup-banner">
      {bankSetupText(status)}
    </div>
  );
}

/** Pages that need a session: redirect to /login (remembering where to return) once the session is known. */
export function RequireAuth({ children }: { children?: ReactNode }) {
  const { user, loading, signedOut } = useAuth();
  const location = useLocation();
  if (loading) return <Spinner />;
  if (!user && signedOut) return <Navigate to="/login" replace />;
  if (!user)
    return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return children ?? <Outlet />;
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children && <div className="page-actions">{children}</div>}
    </div>
  );
}
