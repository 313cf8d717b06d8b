/**
 * Kept takes (docs/training.md, "Kept takes"): every recording of the signed-in user, grouped by wake word, to play,
 * delete, and tick for a new model. Recordings stay after training until the user deletes them, retention removes
 * them, or the account goes.
 */
import { useCallback, useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { type ApiError, api, apiFetch } from '../api/client.ts';
import type { RecordingOut } from '../api/types.ts';
import { PageHeader } from '../components/Layout.tsx';
import { Alert, formatDate, Spinner, usePageTitle } from '../components/ui.tsx';

const MIN_TAKES = 5;
const MAX_TAKES = 100;

interface Group {
  word: string;
  /** Oldest first: take 1 is the first one recorded. */
  takes: RecordingOut[];
}

function groupByWord(rows: RecordingOut[]): Group[] {
  const map = new Map<string, RecordingOut[]>();
  for (const r of rows) map.set(r.wake_word, [...(map.get(r.wake_word) ?? []), r]);
  return [...map.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([word, takes]) => ({
      word,
      takes: takes.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id - b.id),
    }));
}

export function RecordingsPage() {
  usePageTitle('Recordings');
  const [rows, setRows] = useState<RecordingOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setRows(await api<RecordingOut[]>('/api/recordings'));
    } catch (err) {
      setError((err as ApiError).message);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <>
      <PageHeader title="Recordings">
        <Link className="button button-small" to="/record">
          Record a wake word
        </Link>
      </PageHeader>
      <p className="muted">
        Your takes stay after training, so they can train another model. They are removed when you delete them
        here, by the server's retention (by default 90 days after recording) or with your account.
      </p>
      {error && <Alert>{error}</Alert>}
      {rows === null && !error && <Spinner />}
      {rows !== null && rows.length === 0 && (
        <p>
          No recordings yet. <Link to="/record">Record a wake word</Link>.
        </p>
      )}
      {rows !== null && groupByWord(rows).map((g) => <WordTakes key={g.word} group={g} onChanged={load} />)}
    </>
  );
}

function WordTakes({ group, onChanged }: { group: Group; onChanged: () => Promise<void> }) {
  const navigate = useNavigate();
  const [unticked, setUnticked] = useState<Set<number>>(new Set());
  const [playing, setPlaying] = useState<{ id: number; url: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headingId = `word-${group.word.replace(/\W+/g, '-')}`;
  const chosen = group.takes.filter((t) => !unticked.has(t.id)).slice(0, MAX_TAKES);

  useEffect(() => () => (playing ? URL.revokeObjectURL(playing.url) : undefined), [playing]);

  async function play(take: RecordingOut) {
    setError(null);
    try {
      const res = await apiFetch(`/api/recordings/${take.id}/audio`, { headers: { Accept: 'audio/wav' } });
      setPlaying({ id: take.id, url: URL.createObjectURL(await res.blob()) });
    } catch (err) {
      setError((err as ApiError).message);
    }
  }

  async function remove(take: RecordingOut, n: number) {
    if (!window.confirm(`Delete take ${n} of “${group.word}”? This cannot be undone.`)) return;
    setError(null);
    try {
      await api(`/api/recordings/${take.id}`, { method: 'DELETE' });
    } catch (err) {
      setError((err as ApiError).message);
    }
    await onChanged();
  }

  async function train() {
    setError(null);
    setBusy(true);
    try {
      const job = await api<{ job_id: number }>('/api/jobs', {
        body: { wake_word: group.word, recording_ids: chosen.map((t) => t.id) },
      });
      navigate(`/training/${job.job_id}`);
    } catch (err) {
      setError((err as ApiError).message);
      setBusy(false);
      // A take deleted elsewhere (another tab, retention) disappears from the list; the rest stay ticked.
      await onChanged();
    }
  }

  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{group.word}</h2>
      <p className="muted">
        {group.takes.length} {group.takes.length === 1 ? 'take' : 'takes'}
      </p>
      {error && <Alert>{error}</Alert>}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Use</th>
              <th scope="col">Take</th>
              <th scope="col">Length</th>
              <th scope="col">Recorded</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {group.takes.map((t, i) => (
              <tr key={t.id} data-testid="take-row">
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Use take ${i + 1}`}
                    checked={!unticked.has(t.id)}
                    onChange={(e) => {
                      const next = new Set(unticked);
                      if (e.target.checked) next.delete(t.id);
                      else next.add(t.id);
                      setUnticked(next);
                    }}
                  />
                </td>
                <td>Take {i + 1}</td>
                <td>{t.duration_s.toFixed(1)} s</td>
                <td>{formatDate(t.created_at)}</td>
                <td className="actions">
                  <div className="take-actions">
                    {playing?.id === t.id ? (
                      // biome-ignore lint/a11y/useMediaCaption: a take is a spoken wake word, there is nothing to caption
                      <audio controls autoPlay src={playing.url} aria-label={`Take ${i + 1} audio`} />
                    ) : (
                      <button className="button button-small" type="button" onClick={() => void play(t)}>
                        Play take {i + 1}
                      </button>
                    )}
                    <button
                      className="button button-small button-danger"
                      type="button"
                      onClick={() => void remove(t, i + 1)}
                    >
                      Delete take {i + 1}
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        <button
          className="button"
          type="button"
          disabled={busy || chosen.length < MIN_TAKES}
          onClick={() => void train()}
        >
          Train a new model from {chosen.length} {chosen.length === 1 ? 'take' : 'takes'}
        </button>{' '}
        {chosen.length < MIN_TAKES && (
          <span className="muted">Tick at least {MIN_TAKES} takes to train.</span>
        )}
      </p>
    </section>
  );
}
