import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { type ApiError, api } from '../api/client.ts';
import type { BreakerState, JobResponse, ModelSummary, Subscription } from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { PageHeader } from '../components/Layout.tsx';
import {
  Alert,
  formatDate,
  formatNumber,
  GradeBadge,
  ProgressBar,
  Spinner,
  usePageTitle,
} from '../components/ui.tsx';

const JOB_LABEL: Record<JobResponse['status'], string> = {
  pending: 'queued',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

export function DashboardPage() {
  usePageTitle('Dashboard');
  const { user } = useAuth();
  const verified = user?.email_verified ?? false;
  const [models, setModels] = useState<ModelSummary[] | null>(null);
  const [jobs, setJobs] = useState<JobResponse[] | null>(null);
  const [sub, setSub] = useState<Subscription | null>(null);
  const [breaker, setBreaker] = useState<BreakerState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [m, j, s, b] = await Promise.all([
        api<ModelSummary[]>('/api/models'),
        verified ? api<JobResponse[]>('/api/jobs?limit=20') : Promise.resolve([]),
        verified ? api<Subscription>('/api/billing/subscription') : Promise.resolve(null),
        verified ? api<BreakerState>('/api/jobs/circuit-breaker/state') : Promise.resolve(null),
      ]);
      setModels(m);
      setJobs(j);
      setSub(s);
      setBreaker(b);
    } catch (err) {
      setError((err as ApiError).message);
    }
  }, [verified]);

  useEffect(() => {
    void load();
  }, [load]);

  const active = jobs?.some((j) => j.status === 'pending' || j.status === 'running');
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [active, load]);

  async function resume() {
    try {
      setNotice((await api<{ message: string }>('/api/jobs/resume', { method: 'POST' })).message);
      await load();
    } catch (err) {
      setError((err as ApiError).message);
    }
  }

  if (error && !models) return <Alert>{error}</Alert>;
  if (!models || !jobs) return <Spinner />;
  const usage = sub?.usage;
  return (
    <>
      <PageHeader title={`Welcome${user?.name ? `, ${user.name}` : ''}`}>
        <Link className="button" to="/record">
          New wake word
        </Link>
      </PageHeader>
      {error && <Alert>{error}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      {breaker && (breaker.paused || breaker.next_attempt_at) && (
        <Alert kind="warning">
          {breaker.paused
            ? 'Your training queue is paused after repeated failures.'
            : `After a failed job, your queue waits until ${formatDate(breaker.next_attempt_at)}.`}{' '}
          {breaker.pause_reason && <span>Last error: {breaker.pause_reason} </span>}
          <button type="button" className="link-button" onClick={resume}>
            Resume the queue
          </button>
        </Alert>
      )}
      <div className="stat-row">
        <div className="card stat">
          <p className="stat-label">Models</p>
          <p className="stat-value">{models.length}</p>
        </div>
        <div className="card stat">
          <p className="stat-label">Trainings this month</p>
          <p className="stat-value">{usage ? `${usage.models_used} / ${usage.models_limit ?? '∞'}` : '–'}</p>
          {usage && usage.models_limit !== null && usage.models_limit > 0 && (
            <ProgressBar
              value={(usage.models_used / usage.models_limit) * 100}
              label="Monthly trainings used"
            />
          )}
        </div>
        <div className="card stat">
          <p className="stat-label">Plan</p>
          <p className="stat-value plan-name">{sub ? sub.effective_tier : '–'}</p>
          <Link to="/billing" className="small">
            Manage billing
          </Link>
        </div>
      </div>
      <section aria-labelledby="models-title" className="section">
        <h2 id="models-title">Your models</h2>
        {models.length === 0 ? (
          <div className="card empty-state">
            <p>No models yet. Record a wake word and train your first model; it takes about a minute.</p>
            <Link className="button" to="/record">
              Create a wake word
            </Link>
          </div>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Wake word</th>
                  <th scope="col">Grade</th>
                  <th scope="col">d′</th>
                  <th scope="col">Threshold</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {models.map((m) => (
                  <tr key={m.id}>
                    <td>
                      <Link to={`/models/${m.id}`}>{m.wake_word}</Link>
                      {m.shared && <span className="badge badge-muted">shared</span>}
                    </td>
                    <td>
                      <GradeBadge grade={m.quality_grade} />
                    </td>
                    <td>{formatNumber(m.d_prime)}</td>
                    <td>{formatNumber(m.threshold)}</td>
                    <td>{formatDate(m.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="jobs-title" className="section">
        <h2 id="jobs-title">Recent training jobs</h2>
        {!verified ? (
          <p className="muted">Verify your email to train models.</p>
        ) : jobs.length === 0 ? (
          <p className="muted">No training jobs yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Wake word</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => (
                  <tr key={j.job_id}>
                    <td>
                      <Link to={`/training/${j.job_id}`}>#{j.job_id}</Link>
                    </td>
                    <td>{j.wake_word}</td>
                    <td>
                      <span className={`status status-${JOB_LABEL[j.status]}`}>{JOB_LABEL[j.status]}</span>
                      {j.status === 'failed' && j.error && <span className="muted small"> {j.error}</span>}
                      {j.model_id != null && (
                        <>
                          {' '}
                          <Link to={`/models/${j.model_id}`}>model</Link>
                        </>
                      )}
                    </td>
                    <td>{Math.round(j.progress_pct)}%</td>
                    <td>{formatDate(j.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
