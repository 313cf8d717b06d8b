import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { type ApiError, api } from '../api/client.ts';
import type {
  InvitationOut,
  InvitationRole,
  ModelSummary,
  TeamResponse,
  TeamRole,
  TeamSummary,
} from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { PageHeader } from '../components/Layout.tsx';
import { Alert, Field, formatDate, formatDay, Spinner, usePageTitle } from '../components/ui.tsx';

function NeedsVerification() {
  return (
    <Alert kind="warning">
      Teams need a verified email address. <Link to="/verify-email">Resend the verification email</Link>
    </Alert>
  );
}

export function TeamsPage() {
  usePageTitle('Teams');
  const { user } = useAuth();
  const navigate = useNavigate();
  const [teams, setTeams] = useState<TeamSummary[] | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!user?.email_verified) return;
    api<TeamSummary[]>('/api/teams')
      .then(setTeams)
      .catch((err: ApiError) => setError(err.message));
  }, [user]);

  async function create(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const team = await api<TeamResponse>('/api/teams', { body: { name } });
      navigate(`/teams/${team.id}`);
    } catch (err) {
      setError((err as ApiError).message);
    } finally {
      setBusy(false);
    }
  }

  if (!user?.email_verified) {
    return (
      <section className="narrow">
        <PageHeader title="Teams" />
        <NeedsVerification />
      </section>
    );
  }
  return (
    <>
      <PageHeader title="Teams" />
      <p className="lead">
        Share models with your team: members can test and download every model shared to the team.
      </p>
      {error && <Alert>{error}</Alert>}
      <div className="grid-2">
        <section className="card" aria-labelledby="your-teams">
          <h2 id="your-teams">Your teams</h2>
          {!teams ? (
            <Spinner />
          ) : teams.length === 0 ? (
            <p className="muted">You are not in any team yet.</p>
          ) : (
            <ul className="list">
              {teams.map((t) => (
                <li key={t.id}>
                  <Link to={`/teams/${t.id}`}>{t.name}</Link>{' '}
                  <span className="muted small">
                    {t.member_count} member{t.member_count === 1 ? '' : 's'} · you are {t.my_role}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <form className="card" onSubmit={create} aria-labelledby="new-team">
          <h2 id="new-team">Create a team</h2>
          <Field
            label="Team name"
            name="team_name"
            value={name}
            onChange={setName}
            required
            maxLength={255}
          />
          <button className="button" type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create team'}
          </button>
        </form>
      </div>
    </>
  );
}

export function TeamPage() {
  const teamId = Number(useParams().teamId);
  const { user } = useAuth();
  const navigate = useNavigate();
  const [team, setTeam] = useState<TeamResponse | null>(null);
  const [invites, setInvites] = useState<InvitationOut[]>([]);
  const [shared, setShared] = useState<ModelSummary[]>([]);
  const [myModels, setMyModels] = useState<ModelSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<InvitationRole>('member');
  const [shareId, setShareId] = useState('');
  usePageTitle(team ? `Team ${team.name}` : 'Team');

  const load = useCallback(async () => {
    try {
      const t = await api<TeamResponse>(`/api/teams/${teamId}`);
      setTeam(t);
      const [models, mine] = await Promise.all([
        api<ModelSummary[]>(`/api/teams/${teamId}/models`),
        api<ModelSummary[]>('/api/models'),
      ]);
      setShared(models);
      setMyModels(mine.filter((m) => !m.shared && m.team_id === null));
      if (t.my_role !== 'member') setInvites(await api<InvitationOut[]>(`/api/teams/${teamId}/invitations`));
    } catch (err) {
      setError((err as ApiError).message);
    }
  }, [teamId]);

  useEffect(() => {
    if (user?.email_verified) void load();
  }, [load, user]);

  const run = async (fn: () => Promise<string | undefined>) => {
    setError(null);
    setNotice(null);
    try {
      const msg = await fn();
      if (msg) setNotice(msg);
      await load();
    } catch (err) {
      setError((err as ApiError).message);
    }
  };

  if (!user?.email_verified) return <NeedsVerification />;
  if (error && !team) {
    return (
      <section className="narrow">
        <PageHeader title="Team" />
        <Alert>{error}</Alert>
        <Link to="/teams">Back to teams</Link>
      </section>
    );
  }
  if (!team) return <Spinner />;
  const canManage = team.my_role === 'owner' || team.my_role === 'admin';
  const isOwner = team.my_role === 'owner';

  return (
    <>
      <PageHeader title={team.name}>
        <span className="badge">you are {team.my_role}</span>
      </PageHeader>
      {error && <Alert>{error}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      <div className="grid-2">
        <section className="card" aria-labelledby="members-title">
          <h2 id="members-title">Members</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {team.members.map((m) => (
                  <tr key={m.user_id}>
                    <td>
                      {m.name}
                      <br />
                      <span className="muted small">{m.email}</span>
                    </td>
                    <td>
                      {isOwner && m.role !== 'owner' ? (
                        <select
                          aria-label={`Role of ${m.name}`}
                          value={m.role}
                          onChange={(e) =>
                            run(async () => {
                              await api(`/api/teams/${teamId}/members/${m.user_id}?role=${e.target.value}`, {
                                method: 'PATCH',
                              });
                              return `${m.name} is now ${e.target.value}.`;
                            })
                          }
                        >
                          <option value="member">member</option>
                          <option value="admin">admin</option>
                        </select>
                      ) : (
                        m.role
                      )}
                    </td>
                    <td>{formatDay(m.joined_at)}</td>
                    <td className="actions">
                      {m.user_id !== user.id &&
                        canManage &&
                        m.role !== 'owner' &&
                        (isOwner || m.role === 'member') && (
                          <button
                            type="button"
                            className="link-button danger"
                            onClick={() =>
                              run(
                                async () =>
                                  (
                                    await api<{ message: string }>(
                                      `/api/teams/${teamId}/members/${m.user_id}`,
                                      { method: 'DELETE' },
                                    )
                                  ).message,
                              )
                            }
                          >
                            Remove
                          </button>
                        )}
                      {isOwner && m.user_id !== user.id && (
                        <button
                          type="button"
                          className="link-button"
                          onClick={() => {
                            if (
                              !window.confirm(
                                `Make ${m.name} the owner of ${team.name}? You will become an admin.`,
                              )
                            )
                              return;
                            void run(async () => {
                              await api(`/api/teams/${teamId}/transfer`, { body: { user_id: m.user_id } });
                              return `${m.name} now owns the team.`;
                            });
                          }}
                        >
                          Make owner
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {canManage && (
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                void run(async () => {
                  await api(`/api/teams/${teamId}/invite`, { body: { email, role } });
                  const sent = email;
                  setEmail('');
                  return `Invitation sent to ${sent}. It is valid for 72 hours.`;
                });
              }}
            >
              <h3>Invite someone</h3>
              <Field
                label="Email"
                name="invite_email"
                type="email"
                value={email}
                onChange={setEmail}
                required
              />
              <div className="field">
                <label htmlFor="invite-role">Role</label>
                <select
                  id="invite-role"
                  value={role}
                  onChange={(e) => setRole(e.target.value as InvitationRole)}
                >
                  <option value="member">member — use shared models</option>
                  <option value="admin">admin — also invite and share</option>
                </select>
              </div>
              <button className="button" type="submit">
                Send invitation
              </button>
            </form>
          )}
          {canManage && invites.length > 0 && (
            <>
              <h3>Pending invitations</h3>
              <ul className="list">
                {invites.map((inv) => (
                  <li key={inv.id}>
                    {inv.email}{' '}
                    <span className="muted small">
                      ({inv.role}, expires {formatDate(inv.expires_at)})
                    </span>{' '}
                    <button
                      type="button"
                      className="link-button danger"
                      onClick={() =>
                        run(async () => {
                          await api(`/api/teams/${teamId}/invitations/${inv.id}`, { method: 'DELETE' });
                          return `Invitation to ${inv.email} revoked.`;
                        })
                      }
                    >
                      Revoke
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
        <section className="card" aria-labelledby="shared-title">
          <h2 id="shared-title">Shared models</h2>
          {shared.length === 0 ? (
            <p className="muted">No models are shared with this team yet.</p>
          ) : (
            <ul className="list">
              {shared.map((m) => (
                <li key={m.id}>
                  <Link to={`/models/${m.id}`}>{m.wake_word}</Link>{' '}
                  {(canManage || m.owner_id === user.id) && (
                    <button
                      type="button"
                      className="link-button"
                      onClick={() =>
                        run(
                          async () =>
                            (
                              await api<{ message: string }>(`/api/teams/${teamId}/models/${m.id}`, {
                                method: 'DELETE',
                              })
                            ).message,
                        )
                      }
                    >
                      Unshare
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          {canManage && myModels.length > 0 && (
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                if (!shareId) return;
                void run(async () => {
                  await api(`/api/teams/${teamId}/models/${shareId}/share`, { method: 'POST' });
                  setShareId('');
                  return 'Model shared with the team.';
                });
              }}
            >
              <div className="field">
                <label htmlFor="share-model">Share one of your models</label>
                <select id="share-model" value={shareId} onChange={(e) => setShareId(e.target.value)}>
                  <option value="">Choose a model…</option>
                  {myModels.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.wake_word} (#{m.id})
                    </option>
                  ))}
                </select>
              </div>
              <button className="button" type="submit" disabled={!shareId}>
                Share
              </button>
            </form>
          )}
        </section>
      </div>
      <section className="card danger-zone" aria-labelledby="leave-title">
        <h2 id="leave-title">{isOwner ? 'Delete team' : 'Leave team'}</h2>
        {isOwner ? (
          <>
            <p>
              Deleting the team removes all memberships and invitations and unshares its models. Models stay
              with their owners.
            </p>
            <button
              type="button"
              className="button button-danger"
              onClick={() => {
                if (!window.confirm(`Delete ${team.name}?`)) return;
                void api(`/api/teams/${teamId}`, { method: 'DELETE' })
                  .then(() => navigate('/teams'))
                  .catch((err: ApiError) => setError(err.message));
              }}
            >
              Delete team
            </button>
          </>
        ) : (
          <button
            type="button"
            className="button button-danger"
            onClick={() => {
              if (!window.confirm(`Leave ${team.name}? Your models shared with it will be unshared.`)) return;
              void api(`/api/teams/${teamId}/members/me`, { method: 'DELETE' })
                .then(() => navigate('/teams'))
                .catch((err: ApiError) => setError(err.message));
            }}
          >
            Leave team
          </button>
        )}
      </section>
    </>
  );
}

export type { TeamRole };
