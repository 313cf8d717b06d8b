import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { type ApiError, api } from '../api/client.ts';
import type { TeamResponse } from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { Alert, usePageTitle } from '../components/ui.tsx';

/** `/teams/:teamId/join?token=` (the link in the invitation email) and `/teams/invitations/accept?token=`. */
export function AcceptInvitePage() {
  usePageTitle('Join a team');
  const { teamId } = useParams();
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { user } = useAuth();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function accept() {
    setBusy(true);
    setError(null);
    try {
      const team = teamId
        ? await api<TeamResponse>(
            `/api/teams/${encodeURIComponent(teamId)}/join?token=${encodeURIComponent(token)}`,
            { method: 'POST' },
          )
        : await api<TeamResponse>('/api/teams/invitations/accept', { body: { token } });
      navigate(`/teams/${team.id}`, { replace: true });
    } catch (err) {
      const e = err as ApiError;
      setError(e.status === 409 && teamId ? `${e.message}.` : e.message);
      if (e.status === 409 && teamId) setTimeout(() => navigate(`/teams/${teamId}`), 1500);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="auth-card card">
      <h1>Join a team</h1>
      {!token ? (
        <Alert>This page needs the link from your invitation email.</Alert>
      ) : !user?.email_verified ? (
        <Alert kind="warning">
          Verify your email address before joining a team. <Link to="/verify-email">Resend the email</Link>
        </Alert>
      ) : (
        <>
          <p>
            You were invited to a team on ViolaWake. Accepting adds <strong>{user.email}</strong> to the team;
            the invitation must have been sent to this address.
          </p>
          {error && <Alert>{error}</Alert>}
          <button type="button" className="button" onClick={accept} disabled={busy}>
            {busy ? 'Joining…' : 'Accept invitation'}
          </button>
        </>
      )}
    </section>
  );
}
