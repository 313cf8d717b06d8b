import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { type ApiError, api } from '../api/client.ts';
import type { ApiKeyCreated, ApiKeyOut } from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { PageHeader } from '../components/Layout.tsx';
import { Alert, Field, formatDate, usePageTitle } from '../components/ui.tsx';

function ChangePassword() {
  const { replaceToken } = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const res = await api<{ message: string; token: string }>('/api/auth/change-password', {
        body: { current_password: current, new_password: next },
      });
      replaceToken(res.token);
      setCurrent('');
      setNext('');
      setMessage(`${res.message}. Other sessions were signed out.`);
    } catch (err) {
      setError((err as ApiError).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card" onSubmit={submit} aria-labelledby="pw-title">
      <h2 id="pw-title">Change password</h2>
      {message && <Alert kind="success">{message}</Alert>}
      {error && <Alert>{error}</Alert>}
      <Field
        label="Current password"
        name="current_password"
        type="password"
        value={current}
        onChange={setCurrent}
        autoComplete="current-password"
        required
      />
      <Field
        label="New password"
        name="new_password"
        type="password"
        value={next}
        onChange={setNext}
        autoComplete="new-password"
        required
        minLength={8}
        maxLength={128}
        hint="At least 8 characters."
      />
      <button className="button" type="submit" disabled={busy}>
        {busy ? 'Saving…' : 'Change password'}
      </button>
    </form>
  );
}

function ApiKeys() {
  const [keys, setKeys] = useState<ApiKeyOut[]>([]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api<ApiKeyOut[]>('/api/auth/api-keys')
      .then(setKeys)
      .catch((err: ApiError) => setError(err.message));
  }, []);
  useEffect(load, [load]);

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      setCreated(await api<ApiKeyCreated>('/api/auth/api-keys', { body: { name } }));
      setName('');
      load();
    } catch (err) {
      setError((err as ApiError).message);
    }
  }

  async function revoke(key: ApiKeyOut) {
    if (!window.confirm(`Revoke the key “${key.name}”? Anything using it stops working.`)) return;
    try {
      await api(`/api/auth/api-keys/${key.id}`, { method: 'DELETE' });
      if (created?.id === key.id) setCreated(null);
      load();
    } catch (err) {
      setError((err as ApiError).message);
    }
  }

  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p className="muted">
        For scripts and CI: send as <code>Authorization: Bearer vw_…</code>. Keys do not expire; revoke them
        here.
      </p>
      {error && <Alert>{error}</Alert>}
      {created && (
        <Alert kind="success">
          Copy your new key now; it will not be shown again:
          <code className="secret" data-testid="new-api-key">
            {created.key}
          </code>
        </Alert>
      )}
      {keys.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{k.last_used_at ? formatDate(k.last_used_at) : 'never'}</td>
                  <td>
                    <button type="button" className="link-button danger" onClick={() => revoke(k)}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form className="inline-form" onSubmit={create}>
        <Field
          label="New key name"
          name="key_name"
          value={name}
          onChange={setName}
          required
          maxLength={100}
          hint="For example “home server”."
        />
        <button className="button" type="submit">
          Create key
        </button>
      </form>
    </section>
  );
}

export function AccountPage() {
  usePageTitle('Account');
  const { user, signOut, clear } = useAuth();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const [confirmText, setConfirmText] = useState('');
  const [busy, setBusy] = useState(false);

  async function deleteAccount(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('/api/auth/account', { method: 'DELETE' });
      navigate('/', { replace: true });
      clear();
    } catch (err) {
      setError((err as ApiError).message);
      setBusy(false);
    }
  }

  if (!user) return null;
  return (
    <>
      <PageHeader title="Account settings" />
      <section className="card" aria-labelledby="profile-title">
        <h2 id="profile-title">Profile</h2>
        <dl className="facts">
          <div>
            <dt>Name</dt>
            <dd>{user.name}</dd>
          </div>
          <div>
            <dt>Email</dt>
            <dd>
              {user.email}{' '}
              {user.email_verified ? (
                <span className="badge">verified</span>
              ) : (
                <span className="badge badge-warn">not verified</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{formatDate(user.created_at)}</dd>
          </div>
        </dl>
      </section>
      <div className="grid-2">
        <ChangePassword />
        <section className="card" aria-labelledby="sessions-title">
          <h2 id="sessions-title">Sessions</h2>
          <p>
            Signed in somewhere you no longer use? Sign out everywhere, including this browser. API keys keep
            working.
          </p>
          <button
            type="button"
            className="button button-secondary"
            onClick={async () => {
              navigate('/login', { replace: true });
              await signOut({ everywhere: true });
            }}
          >
            Sign out everywhere
          </button>
        </section>
      </div>
      <ApiKeys />
      <form className="card danger-zone" onSubmit={deleteAccount} aria-labelledby="delete-title">
        <h2 id="delete-title">Delete account</h2>
        <p>
          This cancels any subscription immediately and permanently deletes your recordings, models, API keys
          and the teams you own. Download anything you want to keep first.
        </p>
        {error && <Alert>{error}</Alert>}
        <Field
          label="Type DELETE to confirm"
          name="confirm_delete"
          value={confirmText}
          onChange={setConfirmText}
          autoComplete="off"
        />
        <button className="button button-danger" type="submit" disabled={confirmText !== 'DELETE' || busy}>
          {busy ? 'Deleting…' : 'Delete my account'}
        </button>
      </form>
    </>
  );
}
