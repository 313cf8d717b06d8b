import { useEffect, useRef, useState } from 'react';
import { apiFetch } from '../api/client.ts';
import { MicCapture } from '../audio/capture.ts';
import { Alert } from '../components/ui.tsx';
import { formatThreshold } from './format.ts';
import type { FromWorker, ScorePoint, ToWorker } from './protocol.ts';

const HISTORY_STEPS = 125; // 10 s at 12.5 Hz

async function sha256Hex(buf: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function fetchBytes(path: string, auth: boolean): Promise<ArrayBuffer> {
  const res = await apiFetch(path, { auth, headers: { Accept: 'application/octet-stream' } });
  return res.arrayBuffer();
}

interface Detection {
  t: number;
  score: number;
  at: number;
}

function ScoreGraph({
  points,
  threshold,
  detections,
}: {
  points: ScorePoint[];
  threshold: number;
  detections: Detection[];
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const w = c.width;
    const h = c.height;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = '#f7f6fb';
    ctx.fillRect(0, 0, w, h);
    const last = points.length ? points[points.length - 1].step : 0;
    const x = (step: number) => w - ((last - step) / HISTORY_STEPS) * w;
    const y = (score: number) => h - 6 - score * (h - 12);
    ctx.strokeStyle = '#c63d2f';
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(0, y(threshold));
    ctx.lineTo(w, y(threshold));
    ctx.stroke();
    ctx.setLineDash([]);
    const stepOf = (t: number) => Math.round(t / 0.08);
    ctx.fillStyle = 'rgba(46, 160, 67, 0.25)';
    for (const d of detections) {
      const dx = x(stepOf(d.t));
      if (dx >= 0) ctx.fillRect(dx - 4, 0, 8, h);
    }
    ctx.strokeStyle = '#5b3cc4';
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach((p, i) => {
      const px = x(p.step);
      const py = y(p.score);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
    ctx.lineWidth = 1;
  }, [points, threshold, detections]);
  const latest = points.length ? points[points.length - 1].score : null;
  return (
    <canvas
      ref={canvas}
      className="score-graph"
      width={800}
      height={200}
      role="img"
      aria-label={`Live score graph, last 10 seconds. Current score ${latest === null ? 'unknown' : latest.toFixed(2)}, threshold ${formatThreshold(threshold)}.`}
    />
  );
}

export function LiveTest(props: {
  modelId: number;
  wakeWord: string;
  threshold: number;
  manifest: unknown;
  modelSha256: string | null;
}) {
  const [state, setState] = useState<'idle' | 'loading' | 'running' | 'error'>('idle');
  const [error, setError] = useState<string | null>(null);
  const [threshold, setThreshold] = useState(props.threshold);
  const [points, setPoints] = useState<ScorePoint[]>([]);
  const [detections, setDetections] = useState<Detection[]>([]);
  const [flash, setFlash] = useState(false);
  const worker = useRef<Worker | null>(null);
  const capture = useRef<MicCapture | null>(null);
  const flashTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const stop = async () => {
    worker.current?.postMessage({ type: 'stop' } satisfies ToWorker);
    worker.current = null;
    await capture.current?.close();
    capture.current = null;
    setState((s) => (s === 'error' ? s : 'idle'));
  };

  useEffect(
    () => () => {
      worker.current?.postMessage({ type: 'stop' } satisfies ToWorker);
      worker.current?.terminate();
      void capture.current?.close();
      if (flashTimer.current) clearTimeout(flashTimer.current);
    },
    [],
  );

  useEffect(() => {
    worker.current?.postMessage({ type: 'threshold', value: threshold } satisfies ToWorker);
  }, [threshold]);

  async function start() {
    setState('loading');
    setError(null);
    setPoints([]);
    setDetections([]);
    try {
      const [mel, embedding, head] = await Promise.all([
        fetchBytes('/api/assets/frontend/melspectrogram.onnx', false),
        fetchBytes('/api/assets/frontend/embedding_model.onnx', false),
        fetchBytes(`/api/models/${props.modelId}/download?format=onnx`, true),
      ]);
      if (props.modelSha256 && (await sha256Hex(head)) !== props.modelSha256) {
        throw new Error(
          'The downloaded model does not match its manifest (SHA-256 mismatch). Reload the page and try again.',
        );
      }
      const mic = await MicCapture.open();
      capture.current = mic;
      const w = new Worker(new URL('./detector.worker.ts', import.meta.url), {
        type: 'module',
        name: 'violawake-detector',
      });
      worker.current = w;
      await new Promise<void>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<FromWorker>) => {
          const msg = e.data;
          if (msg.type === 'ready') resolve();
          else if (msg.type === 'error') reject(new Error(msg.message));
        };
        w.onerror = (e) => reject(new Error(e.message || 'The detector worker failed to start.'));
        const init: ToWorker = {
          type: 'init',
          mel,
          embedding,
          head,
          name: 'wakeword',
          manifest: props.manifest,
          threshold,
          sampleRate: mic.sampleRate,
        };
        w.postMessage(init, [mel, embedding, head]);
      });
      w.onmessage = (e: MessageEvent<FromWorker>) => {
        const msg = e.data;
        if (msg.type === 'scores') {
          setPoints((prev) => {
            const next = prev.concat(msg.points);
            return next.length > HISTORY_STEPS ? next.slice(next.length - HISTORY_STEPS) : next;
          });
        } else if (msg.type === 'detection') {
          setDetections((prev) => [...prev.slice(-49), { t: msg.t, score: msg.score, at: Date.now() }]);
          setFlash(true);
          if (flashTimer.current) clearTimeout(flashTimer.current);
          flashTimer.current = setTimeout(() => setFlash(false), 900);
        } else if (msg.type === 'error') {
          setError(msg.message);
          setState('error');
        }
      };
      mic.onBlock((block) => {
        const copy = block.slice();
        worker.current?.postMessage({ type: 'audio', pcm: copy } satisfies ToWorker, [copy.buffer]);
      });
      setState('running');
    } catch (err) {
      await stop();
      setError((err as Error).message);
      setState('error');
    }
  }

  const latest = points.length ? points[points.length - 1] : null;
  return (
    <section className="card live" aria-labelledby="live-title">
      <h2 id="live-title">Live test</h2>
      <p className="muted">
        Runs “{props.wakeWord}” in your browser on your microphone. Nothing is uploaded. Say the wake word and
        watch the score cross the threshold.
      </p>
      {error && <Alert>{error}</Alert>}
      <div className="live-controls">
        {state === 'running' ? (
          <button type="button" className="button button-secondary" onClick={stop}>
            Stop live test
          </button>
        ) : (
          <button type="button" className="button" onClick={start} disabled={state === 'loading'}>
            {state === 'loading' ? 'Loading models…' : 'Start live test'}
          </button>
        )}
        <div className="slider">
          <label htmlFor="threshold">
            Threshold <output htmlFor="threshold">{formatThreshold(threshold)}</output>
          </label>
          <input
            id="threshold"
            type="range"
            min={0.05}
            max={Math.max(0.99, props.threshold)}
            step={0.0001}
            value={threshold}
            onChange={(e) => setThreshold(Number(e.target.value))}
            aria-describedby="threshold-hint"
          />
          <p className="hint" id="threshold-hint">
            Calibrated: {formatThreshold(props.threshold)}. Lower catches more, but fires more often by
            mistake.
          </p>
        </div>
      </div>
      <div className={flash ? 'detect-flash on' : 'detect-flash'} aria-hidden="true">
        {flash
          ? `“${props.wakeWord}” detected`
          : state === 'running'
            ? latest?.warmingUp
              ? 'Warming up…'
              : 'Listening…'
            : ' '}
      </div>
      <ScoreGraph points={points} threshold={threshold} detections={detections} />
      <p className="live-stats" aria-live="polite" data-testid="live-stats">
        Score: <strong data-testid="live-score">{latest ? latest.score.toFixed(2) : '–'}</strong> ·
        Detections: <strong data-testid="detection-count">{detections.length}</strong>
        {detections.length > 0 &&
          ` · last at ${detections[detections.length - 1].t.toFixed(1)} s (score ${detections[detections.length - 1].score.toFixed(2)})`}
      </p>
    </section>
  );
}
