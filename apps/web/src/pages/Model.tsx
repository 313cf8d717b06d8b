import { type SnippetId, type SnippetModel, usageSnippets } from '@violawake/engine/artifacts/snippets';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { type ApiError, api, mintDownloadToken } from '../api/client.ts';
import type { FalseAccepts, ModelConfig, ModelPerformance, ModelSummary } from '../api/types.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { PageHeader } from '../components/Layout.tsx';
import {
  Alert,
  formatBytes,
  formatDate,
  formatNumber,
  formatPercent,
  GradeBadge,
  Spinner,
  usePageTitle,
} from '../components/ui.tsx';
import { LiveTest } from '../live/LiveTest.tsx';

const GRADE_TABLE = 'A (miss ≤ 3 %, d′ ≥ 5), B (≤ 7 %, ≥ 3.5), C (≤ 15 %, ≥ 2.5), D (≤ 30 %, ≥ 1.5)';

type EvaluationData = NonNullable<ModelPerformance['evaluation_data']>;

/** What the grade means and where its numbers come from (docs/engine.md, "Honest metrics"). */
export function HonestMetrics({
  fa,
  basis,
  calibration,
  positives,
  threshold,
}: {
  fa: FalseAccepts;
  basis: NonNullable<EvaluationData['grade_basis']>;
  calibration: EvaluationData['calibration'] | null;
  positives: number | null;
  threshold: number;
}) {
  const hours = (h: number) => (h >= 1 ? `${formatNumber(h, 1)} h` : `${Math.round(h * 60)} min`);
  return (
    <section className="small" aria-labelledby="grade-title">
      <h3 id="grade-title">What the grade means</h3>
      <p data-testid="grade-explanation">
        Grade {basis.grade}: at the threshold {formatNumber(threshold)} the model missed{' '}
        {formatPercent(basis.miss_rate)} of {positives ?? 'the'} held-out wake-word clips (recordings and
        voices it never trained on), with d′ {formatNumber(basis.d_prime)}. Grades: {GRADE_TABLE}.
        {basis.lowered_for_false_accepts
          ? ` Those numbers give ${basis.table_grade}; the grade is one letter lower because the false accepts below exceed the target with 95 % confidence.`
          : ''}
      </p>
      <p data-testid="fa-explanation">
        False accepts: {fa.statement} Resolution: {formatNumber(fa.resolution_per_hour)} per hour (one false
        accept in {hours(fa.hours)}); a rate below it cannot be measured, so none is claimed.
        {fa.target_resolved
          ? ''
          : ` This evaluation cannot resolve the target of ${fa.target_fa_per_hour} per hour.`}
      </p>
      {calibration && (
        <p data-testid="calibration-explanation">
          The threshold was set on {hours(calibration.hours)} of other audio the model never heard
          {calibration.heldout_engine
            ? ` (with the ${calibration.heldout_engine} engine, never used in training)`
            : ''}
          , allowing at most {formatNumber(calibration.target_fa_per_hour)} false accepts per hour there:{' '}
          {calibration.margin} × below the target of {fa.target_fa_per_hour}, a margin for voices and rooms
          that audio does not cover.
        </p>
      )}
    </section>
  );
}

export function histogram(scores: number[], bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const s of scores) {
    if (!Number.isFinite(s)) continue;
    const i = Math.min(bins - 1, Math.max(0, Math.floor(s * bins)));
    counts[i]++;
  }
  const total = scores.length || 1;
  return counts.map((c) => c / total);
}

function ScoreDistribution({
  positive,
  negative,
  threshold,
}: {
  positive: number[];
  negative: number[];
  threshold: number | null;
}) {
  const bins = 25;
  const pos = histogram(positive, bins);
  const neg = histogram(negative, bins);
  const max = Math.max(...pos, ...neg, 1e-6);
  const w = 600;
  const h = 200;
  const bw = (w - 40) / bins;
  const y = (v: number) => (v / max) * (h - 40);
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={`Score distribution on held-out audio: ${positive.length} wake-word clips and ${negative.length} other clips; threshold ${threshold?.toFixed(2) ?? 'unknown'}.`}
      >
        {neg.map((v, i) => (
          <rect
            // biome-ignore lint/suspicious/noArrayIndexKey: histogram bins are positional
            key={`n${i}`}
            className="bar-neg"
            x={20 + i * bw}
            y={h - 20 - y(v)}
            width={bw / 2 - 1}
            height={y(v)}
          />
        ))}
        {pos.map((v, i) => (
          <rect
            // biome-ignore lint/suspicious/noArrayIndexKey: histogram bins are positional
            key={`p${i}`}
            className="bar-pos"
            x={20 + i * bw + bw / 2}
            y={h - 20 - y(v)}
            width={bw / 2 - 1}
            height={y(v)}
          />
        ))}
        <line x1={20} x2={w - 20} y1={h - 20} y2={h - 20} className="axis" />
        {[0, 0.25, 0.5, 0.75, 1].map((t) => (
          <text key={t} x={20 + t * (w - 40)} y={h - 4} className="tick" textAnchor="middle">
            {t}
          </text>
        ))}
        {threshold !== null && (
          <line
            x1={20 + threshold * (w - 40)}
            x2={20 + threshold * (w - 40)}
            y1={10}
            y2={h - 20}
            className="threshold-line"
          />
        )}
      </svg>
      <figcaption>
        <span className="key key-pos">wake word ({positive.length})</span>{' '}
        <span className="key key-neg">other audio ({negative.length})</span>{' '}
        <span className="key key-threshold">threshold</span>
      </figcaption>
    </figure>
  );
}

function Snippets({ model }: { model: SnippetModel }) {
  // the same snippets as the bundle README (one generator: @violawake/engine artifacts/snippets.ts)
  const snippets = usageSnippets(model);
  const [tab, setTab] = useState<SnippetId>('python-onnx');
  const current = snippets.find((s) => s.id === tab) ?? snippets[0];
  const [copied, setCopied] = useState(false);
  return (
    <section className="card" aria-labelledby="use-title">
      <h2 id="use-title">Use it</h2>
      <div className="tabs" role="tablist" aria-label="Usage examples">
        {snippets.map(({ id: k, label }) => (
          <button
            key={k}
            type="button"
            role="tab"
            id={`tab-${k}`}
            aria-selected={tab === k}
            aria-controls="snippet-panel"
            tabIndex={tab === k ? 0 : -1}
            className={tab === k ? 'tab active' : 'tab'}
            onClick={() => {
              setTab(k);
              setCopied(false);
            }}
            onKeyDown={(e) => {
              const i = snippets.findIndex((s) => s.id === k);
              if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
                const next =
                  snippets[(i + (e.key === 'ArrowRight' ? 1 : snippets.length - 1)) % snippets.length].id;
                setTab(next);
                document.getElementById(`tab-${next}`)?.focus();
              }
            }}
          >
            {label}
          </button>
        ))}
      </div>
      <div id="snippet-panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        <pre className="code">
          <code data-testid="snippet">{current.code}</code>
        </pre>
        <button
          type="button"
          className="button button-small button-secondary"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(current.code);
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </section>
  );
}

export function ModelPage() {
  const modelId = Number(useParams().modelId);
  const { user } = useAuth();
  const navigate = useNavigate();
  const [config, setConfig] = useState<ModelConfig | null>(null);
  const [perf, setPerf] = useState<ModelPerformance | null>(null);
  const [summary, setSummary] = useState<ModelSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const [downloading, setDownloading] = useState<string | null>(null);
  usePageTitle(perf ? `Model “${perf.model_name}”` : 'Model');

  useEffect(() => {
    let live = true;
    Promise.all([
      api<ModelConfig>(`/api/models/${modelId}/config`),
      api<ModelPerformance>(`/api/models/${modelId}/performance`),
      api<ModelSummary[]>('/api/models'),
    ])
      .then(([c, p, list]) => {
        if (!live) return;
        setConfig(c);
        setPerf(p);
        setSummary(list.find((m) => m.id === modelId) ?? null);
      })
      .catch(
        (err: ApiError) =>
          live &&
          setError(err.status === 404 ? 'This model does not exist or is not shared with you.' : err.message),
      );
    return () => {
      live = false;
    };
  }, [modelId]);

  async function download(format: 'onnx' | 'tflite' | 'json' | 'zip') {
    setDownloading(format);
    setDownloadError(null);
    try {
      const token = await mintDownloadToken('model_download', modelId);
      const a = document.createElement('a');
      a.href = `/api/models/${modelId}/download?format=${format}&token=${encodeURIComponent(token)}`;
      a.download = '';
      a.rel = 'noopener';
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (err) {
      setDownloadError((err as ApiError).message);
    } finally {
      setDownloading(null);
    }
  }

  async function remove() {
    if (
      !window.confirm(
        'Delete this model? Downloads and the live test stop working for everyone it is shared with.',
      )
    )
      return;
    try {
      await api(`/api/models/${modelId}`, { method: 'DELETE' });
      navigate('/dashboard');
    } catch (err) {
      setDownloadError((err as ApiError).message);
    }
  }

  if (error) {
    return (
      <section className="narrow">
        <PageHeader title="Model" />
        <Alert>{error}</Alert>
        <Link to="/dashboard">Back to dashboard</Link>
      </section>
    );
  }
  if (!config || !perf) return <Spinner label="Loading model…" />;

  const manifest = config.training_config;
  const threshold = config.threshold ?? manifest?.threshold ?? 0.5;
  const wakeWord = perf.model_name;
  const ev = perf.evaluation_data;
  const fa = ev?.false_accepts ?? null;
  const basis = ev?.grade_basis ?? null;
  const training = manifest?.training ?? {};
  const evaluation = manifest?.evaluation as { warnings?: unknown } | undefined;
  const notes = Array.isArray(evaluation?.warnings)
    ? evaluation.warnings.filter((w): w is string => typeof w === 'string')
    : [];
  return (
    <>
      <PageHeader title={`“${wakeWord}”`}>
        <GradeBadge grade={config.quality_grade} />
        {summary?.shared && <span className="badge">Shared with you</span>}
      </PageHeader>
      <p className="muted">
        Model #{modelId} · created {formatDate(perf.created_at)} · {formatBytes(perf.file_size)}
        {training.architecture ? ` · ${String(training.architecture).toUpperCase()}` : ''}
      </p>
      <div className="grid-2">
        <section className="card" aria-labelledby="metrics-title">
          <h2 id="metrics-title">Measured quality</h2>
          {perf.evaluation_available ? (
            <>
              <dl className="metrics">
                <div>
                  <dt>Grade</dt>
                  <dd>
                    <GradeBadge grade={config.quality_grade} />
                  </dd>
                </div>
                <div>
                  <dt title="How far apart wake-word and other scores are; higher is better">d′</dt>
                  <dd>{formatNumber(config.d_prime)}</dd>
                </div>
                <div>
                  <dt>Miss rate at threshold</dt>
                  <dd>{formatPercent(config.miss_rate_at_target)}</dd>
                </div>
                <div>
                  <dt title="Measured on audio the model never heard; never below what its hours can resolve">
                    False accepts / hour
                  </dt>
                  <dd>
                    {fa ? (
                      <>
                        {fa.below_resolution ? '≤ ' : ''}
                        {formatNumber(fa.fa_per_hour)}
                        <span className="muted small" data-testid="fa-interval">
                          {' '}
                          (95 %: {formatNumber(fa.ci95[0])}–{formatNumber(fa.ci95[1])})
                        </span>
                      </>
                    ) : (
                      formatNumber(config.far_per_hour)
                    )}
                  </dd>
                </div>
                <div>
                  <dt>Calibrated threshold</dt>
                  <dd>{formatNumber(threshold)}</dd>
                </div>
                <div>
                  <dt>Equal error rate</dt>
                  <dd>{formatPercent(config.eer)}</dd>
                </div>
              </dl>
              {fa && basis ? (
                <HonestMetrics
                  fa={fa}
                  basis={basis}
                  calibration={ev?.calibration ?? null}
                  positives={ev?.eval_positive_count ?? null}
                  threshold={threshold}
                />
              ) : (
                <p className="muted small">
                  Measured on held-out audio never used in training
                  {ev?.eval_positive_count != null ? `: ${ev.eval_positive_count} wake-word clips` : ''}
                  {ev?.eval_negative_hours != null
                    ? ` and ${formatNumber(ev.eval_negative_hours, 2)} h of other audio`
                    : ''}
                  . The threshold keeps false accepts within {formatNumber(config.target_fa_per_hour, 1)} per
                  hour. Grades: A (miss ≤ 3 %, d′ ≥ 5), B (≤ 7 %, ≥ 3.5), C (≤ 15 %, ≥ 2.5), D (≤ 30 %, ≥
                  1.5).
                </p>
              )}
              <ScoreDistribution
                positive={perf.positive_scores ?? []}
                negative={perf.negative_scores ?? []}
                threshold={threshold}
              />
              {notes.length > 0 && (
                <>
                  <h3 id="notes-title">Notes from training</h3>
                  <ul aria-labelledby="notes-title" className="small">
                    {notes.map((n) => (
                      <li key={n}>{n}</li>
                    ))}
                  </ul>
                </>
              )}
            </>
          ) : (
            <p>No evaluation data is available for this model.</p>
          )}
        </section>
        <section className="card" aria-labelledby="download-title">
          <h2 id="download-title">Download</h2>
          <ul className="downloads">
            <li>
              <button
                type="button"
                className="button"
                onClick={() => download('onnx')}
                disabled={downloading !== null}
              >
                Model (.onnx)
              </button>
              <span className="muted small">The wake-word head, openWakeWord compatible.</span>
            </li>
            <li>
              <button
                type="button"
                className="button button-secondary"
                onClick={() => download('tflite')}
                disabled={downloading !== null || Boolean(config.tflite_error)}
              >
                Model (.tflite)
              </button>
              <span className="muted small">
                {config.tflite_error
                  ? `No TFLite file for this model: ${config.tflite_error}`
                  : "The same head for TensorFlow Lite: Home Assistant's openWakeWord add-on, openWakeWord's tflite framework."}
              </span>
            </li>
            <li>
              <button
                type="button"
                className="button button-secondary"
                onClick={() => download('json')}
                disabled={downloading !== null}
              >
                Manifest (.json)
              </button>
              <span className="muted small">Threshold, metrics and hashes.</span>
            </li>
            <li>
              <button
                type="button"
                className="button button-secondary"
                onClick={() => download('zip')}
                disabled={downloading !== null}
              >
                Bundle (.zip)
              </button>
              <span className="muted small">Model, manifest, front-end models and a README.</span>
            </li>
          </ul>
          {downloadError && <Alert>{downloadError}</Alert>}
          {summary && user && summary.owner_id === user.id && (
            <p>
              <button type="button" className="link-button danger" onClick={remove}>
                Delete this model
              </button>
            </p>
          )}
        </section>
      </div>
      <LiveTest
        modelId={modelId}
        wakeWord={wakeWord}
        threshold={threshold}
        manifest={manifest}
        modelSha256={typeof manifest?.model_sha256 === 'string' ? manifest.model_sha256 : null}
      />
      <Snippets
        model={{
          name: config.name,
          wakeWord,
          threshold,
          tflite: config.tflite_error ? { reason: config.tflite_error } : true,
        }}
      />
    </>
  );
}
