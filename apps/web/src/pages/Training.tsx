import { useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { type ApiError, api, mintDownloadToken } from '../api/client.ts';
import type { Stage, TrainingStatus } from '../api/types.ts';
import { PageHeader } from '../components/Layout.tsx';
import { Alert, formatNumber, GradeBadge, ProgressBar, Spinner, usePageTitle } from '../components/ui.tsx';

export const STAGES: { id: Stage; label: string }[] = [
  { id: 'queued', label: 'Queued' },
  { id: 'preparing', label: 'Preparing' },
  { id: 'synthesizing', label: 'Synthetic speech' },
  { id: 'extracting', label: 'Features' },
  { id: 'training', label: 'Training' },
  { id: 'evaluating', label: 'Evaluating' },
  { id: 'exporting', label: 'Exporting' },
  { id: 'done', label: 'Done' },
];

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const POLL_MS = 3000;

type Transport = 'connecting' | 'live' | 'polling';

/** Live job state: SSE with a minted `training_stream` token, falling back to polling /status every 3 s. */
export function useTrainingProgress(jobId: number) {
  const [status, setStatus] = useState<TrainingStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [transport, setTransport] = useState<Transport>('connecting');
  const [losses, setLosses] = useState<{ epoch: number; train: number | null; val: number | null }[]>([]);

  useEffect(() => {
    let stopped = false;
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let streamFailures = 0;

    const apply = (s: TrainingStatus) => {
      setStatus((prev) => ({ ...prev, ...s }));
      if (s.epoch && (s.train_loss != null || s.val_loss != null)) {
        setLosses((prev) => {
          const rest = prev.filter((p) => p.epoch !== s.epoch);
          return [
            ...rest,
            { epoch: s.epoch as number, train: s.train_loss ?? null, val: s.val_loss ?? null },
          ].sort((a, b) => a.epoch - b.epoch);
        });
      }
    };

    const poll = async () => {
      if (stopped) return;
      try {
        const s = await api<TrainingStatus>(`/api/training/status/${jobId}`);
        apply(s);
        if (TERMINAL.has(s.status)) return;
      } catch (err) {
        const e = err as ApiError;
        if (e.status === 404) {
          setError('This training job does not exist or is not yours.');
          return;
        }
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    };

    const connect = async () => {
      let token: string;
      try {
        token = await mintDownloadToken('training_stream', jobId);
      } catch (err) {
        if ((err as ApiError).status === 404) {
          setError('This training job does not exist or is not yours.');
          return;
        }
        setTransport('polling');
        void poll();
        return;
      }
      if (stopped) return;
      source = new EventSource(`/api/training/stream/${jobId}?token=${encodeURIComponent(token)}`);
      source.addEventListener('open', () => setTransport('live'));
      source.addEventListener('training', (e) => {
        streamFailures = 0;
        const s = JSON.parse((e as MessageEvent<string>).data) as TrainingStatus;
        apply(s);
        if (TERMINAL.has(s.status)) {
          source?.close();
          source = null;
        }
      });
      source.addEventListener('error', () => {
        // The token is single use, so EventSource's own reconnect cannot work: close and decide ourselves.
        source?.close();
        source = null;
        if (stopped) return;
        streamFailures++;
        setTransport('polling');
        void (async () => {
          try {
            const s = await api<TrainingStatus>(`/api/training/status/${jobId}`);
            apply(s);
            if (TERMINAL.has(s.status)) return;
          } catch {
            /* fall through to polling */
          }
          if (streamFailures < 3) timer = setTimeout(connect, 1000 * streamFailures);
          else void poll();
        })();
      });
    };

    void connect();
    return () => {
      stopped = true;
      source?.close();
      if (timer) clearTimeout(timer);
    };
  }, [jobId]);

  return { status, error, transport, losses };
}

function LossChart({ losses }: { losses: { epoch: number; train: number | null; val: number | null }[] }) {
  if (losses.length < 2) return null;
  const w = 480;
  const h = 140;
  const values = losses
    .flatMap((l) => [l.train, l.val])
    .filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(...values, 1e-6);
  const maxEpoch = losses[losses.length - 1].epoch;
  const x = (e: number) => ((e - losses[0].epoch) / Math.max(1, maxEpoch - losses[0].epoch)) * (w - 20) + 10;
  const y = (v: number) => h - 10 - (v / max) * (h - 20);
  const path = (key: 'train' | 'val') =>
    losses
      .filter((l) => l[key] !== null)
      .map((l, i) => `${i === 0 ? 'M' : 'L'}${x(l.epoch).toFixed(1)},${y(l[key] as number).toFixed(1)}`)
      .join(' ');
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label="Training and validation loss per epoch">
        <path d={path('train')} className="line-train" fill="none" />
        <path d={path('val')} className="line-val" fill="none" />
      </svg>
      <figcaption>
        <span className="key key-train">training loss</span>{' '}
        <span className="key key-val">validation loss</span>
      </figcaption>
    </figure>
  );
}

export function TrainingPage() {
  const jobId = Number(useParams().jobId);
  usePageTitle(`Training job ${jobId}`);
  const { status, error, transport, losses } = useTrainingProgress(jobId);
  const [cancelState, setCancelState] = useState<{
    busy: boolean;
    message: string | null;
    error: string | null;
  }>({ busy: false, message: null, error: null });
  const headingRef = useRef<HTMLHeadingElement>(null);

  if (!Number.isInteger(jobId) || jobId < 1) return <Alert>Invalid job id.</Alert>;
  if (error) {
    return (
      <section className="narrow">
        <PageHeader title="Training" />
        <Alert>{error}</Alert>
        <Link to="/dashboard">Back to dashboard</Link>
      </section>
    );
  }
  if (!status) return <Spinner label="Connecting to the training job…" />;

  async function cancel() {
    setCancelState({ busy: true, message: null, error: null });
    try {
      const m = await api<{ message: string }>(`/api/jobs/${jobId}`, { method: 'DELETE' });
      setCancelState({ busy: false, message: m.message, error: null });
    } catch (err) {
      setCancelState({ busy: false, message: null, error: (err as ApiError).message });
    }
  }

  const stageIndex = STAGES.findIndex((s) => s.id === (status.stage ?? 'queued'));
  const terminal = TERMINAL.has(status.status);
  return (
    <section>
      <PageHeader title={`Training job #${jobId}`}>
        <span className={`status status-${status.status}`}>{status.status}</span>
      </PageHeader>
      <div className="card">
        <h2 ref={headingRef} className="sr-only">
          Progress
        </h2>
        <ol className="stages" aria-label="Training stages">
          {STAGES.map((s, i) => {
            const state =
              status.status === 'completed' || i < stageIndex
                ? 'done'
                : i === stageIndex
                  ? terminal
                    ? status.status
                    : 'active'
                  : 'todo';
            return (
              <li
                key={s.id}
                className={`stage stage-${state}`}
                aria-current={i === stageIndex && !terminal ? 'step' : undefined}
              >
                {s.label}
              </li>
            );
          })}
        </ol>
        <ProgressBar value={status.progress ?? 0} label="Training progress" />
        <p className="progress-text" aria-live="polite">
          <strong>{Math.round(status.progress ?? 0)}%</strong> ·{' '}
          {status.message ?? status.stage ?? status.status}
        </p>
        <dl className="facts">
          {status.status === 'queued' && (
            <div>
              <dt>Queue position</dt>
              <dd>{status.queue_position ?? 'held'}</dd>
            </div>
          )}
          {status.epoch != null && (
            <div>
              <dt>Epoch</dt>
              <dd>
                {status.epoch} / {status.total_epochs ?? '?'}
              </dd>
            </div>
          )}
          {status.train_loss != null && (
            <div>
              <dt>Training loss</dt>
              <dd>{formatNumber(status.train_loss, 4)}</dd>
            </div>
          )}
          {status.val_loss != null && (
            <div>
              <dt>Validation loss</dt>
              <dd>{formatNumber(status.val_loss, 4)}</dd>
            </div>
          )}
          <div>
            <dt>Updates</dt>
            <dd>{transport === 'live' ? 'live' : transport === 'polling' ? 'every 3 s' : 'connecting'}</dd>
          </div>
        </dl>
        <LossChart losses={losses} />
        {!terminal && (
          <button
            type="button"
            className="button button-secondary"
            onClick={cancel}
            disabled={cancelState.busy || cancelState.message !== null}
          >
            {cancelState.busy ? 'Cancelling…' : 'Cancel training'}
          </button>
        )}
        {cancelState.message && !terminal && <Alert kind="info">{cancelState.message}</Alert>}
        {cancelState.error && <Alert>{cancelState.error}</Alert>}
      </div>
      {status.status === 'completed' && (
        <div className="card result">
          <h2>
            Your model is ready <GradeBadge grade={status.quality_grade} />
          </h2>
          <p>d′ = {formatNumber(status.d_prime)}</p>
          {status.model_id != null && (
            <Link className="button button-large" to={`/models/${status.model_id}`}>
              Test it live and download
            </Link>
          )}
        </div>
      )}
      {status.status === 'failed' && (
        <div className="card">
          <Alert>{status.error ?? 'Training failed.'}</Alert>
          {status.error_code === 'quality_gate' && (
            <p>
              The model did not reach a usable quality. Re-record with the tips above or choose a longer
              phrase.
            </p>
          )}
          <Link className="button" to="/record">
            Try again
          </Link>
        </div>
      )}
      {status.status === 'cancelled' && (
        <div className="card">
          <Alert kind="info">This training was cancelled.</Alert>
          <Link className="button" to="/record">
            Start a new one
          </Link>
        </div>
      )}
    </section>
  );
}
