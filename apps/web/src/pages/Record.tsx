import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { type ApiError, api } from '../api/client.ts';
import { quotaMessage, usePlans } from '../api/plans.ts';
import type { UploadWarning, Usage } from '../api/types.ts';
import { blockLevelDb, MicCapture } from '../audio/capture.ts';
import { analyzeTake, findSpeech, type TakeAnalysis } from '../audio/checks.ts';
import { resample } from '../audio/resample.ts';
import { uploadTake } from '../audio/upload.ts';
import { encodeWav, floatToInt16 } from '../audio/wav.ts';
import { useAuth } from '../auth/AuthContext.tsx';
import { LanguagePicker } from '../components/Language.tsx';
import { PageHeader } from '../components/Layout.tsx';
import {
  PronunciationEditor,
  type PronunciationValue,
  pronunciationBody,
} from '../components/Pronunciation.tsx';
import { Alert, Field, usePageTitle } from '../components/ui.tsx';
import { normalizeWakeWord } from '../wakeword.ts';

export const TAKES_TARGET = 10;
export const TAKES_MINIMUM = 5;
const TAKE_SECONDS = 3.0;
const COUNTDOWN_STEPS = 3;
const COUNTDOWN_STEP_MS = 700;

/** `unusable`: the server refused the take with 422, the trainer could not use it (docs/training.md). */
type UploadState = 'pending' | 'uploading' | 'done' | 'failed' | 'unusable';

interface Take {
  slot: number;
  samples: Int16Array;
  analysis: TakeAnalysis;
  url: string;
  upload: UploadState;
  attempt: number;
  recordingId: number | null;
  uploadError: string | null;
  warnings: UploadWarning[];
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'countdown'; n: number; slot: number }
  | { kind: 'recording'; slot: number };

function LevelMeter({ capture }: { capture: MicCapture }) {
  const fill = useRef<HTMLDivElement>(null);
  const [label, setLabel] = useState('–');
  const [labelValue, setLabelValue] = useState(-60);
  useEffect(() => {
    let level = -90;
    let frame = 0;
    const off = capture.onBlock((b) => {
      level = Math.max(blockLevelDb(b), level - 3);
    });
    let lastText = 0;
    const draw = (t: number) => {
      const pct = Math.max(0, Math.min(100, ((level + 60) / 60) * 100));
      if (fill.current) {
        fill.current.style.width = `${pct}%`;
        fill.current.dataset.level = level > -3 ? 'hot' : level > -40 ? 'ok' : 'low';
      }
      if (t - lastText > 250) {
        lastText = t;
        setLabel(level <= -89 ? 'silent' : `${Math.round(level)} dBFS`);
        setLabelValue(Math.max(-60, Math.round(level)));
      }
      frame = requestAnimationFrame(draw);
    };
    frame = requestAnimationFrame(draw);
    return () => {
      off();
      cancelAnimationFrame(frame);
    };
  }, [capture]);
  return (
    <div className="meter-wrap">
      <span className="meter-label" id="meter-label">
        Input level
      </span>
      <meter className="sr-only" aria-labelledby="meter-label" min={-60} max={0} value={labelValue} />
      <div className="meter" aria-hidden="true">
        <div className="meter-fill" ref={fill} />
      </div>
      <span className="meter-value" aria-hidden="true">
        {label}
      </span>
    </div>
  );
}

export function RecordPage() {
  usePageTitle('New wake word');
  const { user } = useAuth();
  const navigate = useNavigate();
  const [rawWord, setRawWord] = useState('');
  const [word, setWord] = useState<string | null>(null);
  const [mode, setMode] = useState<'record' | 'text'>('record');
  const [wordError, setWordError] = useState<string | null>(null);
  const [capture, setCapture] = useState<MicCapture | null>(null);
  const [micError, setMicError] = useState<string | null>(null);
  const [takes, setTakes] = useState<(Take | null)[]>(() => Array(TAKES_TARGET).fill(null));
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [submitError, setSubmitError] = useState<{ text: string; upgrade: boolean } | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [pron, setPron] = useState<PronunciationValue>({});
  const [language, setLanguage] = useState('en');
  const takesRef = useRef(takes);
  takesRef.current = takes;
  const captureRef = useRef<MicCapture | null>(null);
  captureRef.current = capture;
  const recordButton = useRef<HTMLButtonElement>(null);
  // The quota is checked before the first take, so nobody records ten takes for a training they cannot start.
  const [usage, setUsage] = useState<Usage | null>(null);
  const plans = usePlans();
  const verified = !!user?.email_verified;
  useEffect(() => {
    if (!verified) return;
    api<Usage>('/api/billing/usage')
      .then(setUsage)
      .catch(() => setUsage(null));
  }, [verified]);
  const billingEnabled = plans?.billing_enabled ?? false;
  const quotaBlock = usage ? quotaMessage(usage, billingEnabled) : null;
  const quotaAlert = quotaBlock && (
    <Alert kind="warning">
      <span data-testid="quota-message">{quotaBlock}</span>{' '}
      {billingEnabled ? <Link to="/pricing">See plans</Link> : <Link to="/billing">Your usage</Link>}
    </Alert>
  );

  useEffect(
    () => () => {
      void captureRef.current?.close();
      for (const t of takesRef.current) if (t) URL.revokeObjectURL(t.url);
    },
    [],
  );

  const updateTake = useCallback((slot: number, patch: Partial<Take>) => {
    setTakes((prev) => prev.map((t) => (t && t.slot === slot ? { ...t, ...patch } : t)));
  }, []);

  const upload = useCallback(
    async (take: Take, wakeWord: string) => {
      updateTake(take.slot, { upload: 'uploading', uploadError: null });
      try {
        const res = await uploadTake(take.samples, wakeWord, {
          onAttempt: (attempt) => updateTake(take.slot, { attempt }),
          take: take.slot + 1,
          language,
        });
        updateTake(take.slot, { upload: 'done', recordingId: res.recording_id, warnings: res.warnings });
      } catch (err) {
        const unusable = (err as ApiError).status === 422 && typeof (err as ApiError).detail === 'string';
        updateTake(take.slot, {
          upload: unusable ? 'unusable' : 'failed',
          uploadError: (err as Error).message,
        });
      }
    },
    [updateTake, language],
  );

  function chooseWord(e: FormEvent) {
    e.preventDefault();
    const n = normalizeWakeWord(rawWord);
    setWordError(n.error);
    if (n.error) return;
    if (mode === 'text') {
      void startTraining(n.value, []);
      return;
    }
    setWord(n.value);
  }

  async function enableMic() {
    setMicError(null);
    try {
      setCapture(await MicCapture.open());
      setTimeout(() => recordButton.current?.focus(), 0);
    } catch (err) {
      setMicError((err as Error).message);
    }
  }

  const nextSlot = takes.findIndex((t) => t === null || !t.analysis.ok || t.upload === 'unusable');

  async function recordTake(slot: number) {
    if (!capture || !word || phase.kind !== 'idle') return;
    for (let n = COUNTDOWN_STEPS; n >= 1; n--) {
      setPhase({ kind: 'countdown', n, slot });
      await new Promise((r) => setTimeout(r, COUNTDOWN_STEP_MS));
    }
    setPhase({ kind: 'recording', slot });
    const raw = await capture.record(TAKE_SECONDS);
    setPhase({ kind: 'idle' });
    const window16k = floatToInt16(resample(raw, capture.sampleRate, 16000));
    const analysis = analyzeTake(window16k);
    // Keep only the phrase (plus a little silence): the capture window is longer than the word.
    const speech = findSpeech(window16k);
    const samples = speech ? window16k.slice(speech.start, speech.end) : window16k;
    if (speech?.touchesEdge && analysis.ok) {
      analysis.issues.push({
        code: 'cut_off',
        severity: 'error',
        message:
          'The phrase was cut off. Start speaking right after the countdown and finish within 3 seconds.',
      });
      analysis.ok = false;
    }
    const url = URL.createObjectURL(new Blob([encodeWav(samples, 16000)], { type: 'audio/wav' }));
    const old = takesRef.current[slot];
    if (old) {
      URL.revokeObjectURL(old.url);
      if (old.recordingId !== null) {
        api(`/api/recordings/${old.recordingId}`, { method: 'DELETE' }).catch(() => {
          /* replaced takes that cannot be deleted are cleaned up by retention */
        });
      }
    }
    const take: Take = {
      slot,
      samples,
      analysis,
      url,
      upload: 'pending',
      attempt: 0,
      recordingId: null,
      uploadError: null,
      warnings: [],
    };
    setTakes((prev) => prev.map((t, i) => (i === slot ? take : t)));
    if (analysis.ok) void upload(take, word);
    setTimeout(() => recordButton.current?.focus(), 0);
  }

  const uploaded = takes.filter(
    (t): t is Take => t !== null && t.upload === 'done' && t.recordingId !== null,
  );
  const busyUploading = takes.some((t) => t?.upload === 'uploading');

  async function startTraining(wakeWord: string, recordingIds: number[]) {
    setSubmitting(true);
    setSubmitError(null);
    try {
      const pronunciation = pronunciationBody(pron);
      const body = {
        ...(recordingIds.length === 0
          ? { wake_word: wakeWord, recording_ids: [], text_only: true }
          : { wake_word: wakeWord, recording_ids: recordingIds }),
        ...(pronunciation ? { pronunciation } : {}),
        ...(language !== 'en' ? { language } : {}),
      };
      const res = await api<{ job_id: number }>('/api/training/start', { body });
      await captureRef.current?.close();
      navigate(`/training/${res.job_id}`);
    } catch (err) {
      const apiErr = err as ApiError;
      setSubmitError({
        text: apiErr.message,
        upgrade: apiErr.headers?.get('X-Upgrade-URL') != null,
      });
    } finally {
      setSubmitting(false);
    }
  }

  function startOver() {
    for (const t of takes) if (t) URL.revokeObjectURL(t.url);
    setTakes(Array(TAKES_TARGET).fill(null));
    setWord(null);
  }

  if (user && !user.email_verified) {
    return (
      <section className="narrow">
        <PageHeader title="New wake word" />
        <Alert kind="warning">
          Verify your email address first: recording and training unlock once it is verified.{' '}
          <Link to="/verify-email">Resend the email</Link>
        </Alert>
      </section>
    );
  }

  if (!word) {
    const typed = rawWord.trim() ? normalizeWakeWord(rawWord) : null;
    return (
      <section className="narrow">
        <PageHeader title="New wake word" />
        <form className="card" onSubmit={chooseWord}>
          <Field
            label="Wake word or phrase"
            name="wake_word"
            value={rawWord}
            onChange={setRawWord}
            maxLength={100}
            required
            hint="Two or more syllables work best, for example “hey jarvis” or “computer”."
            error={wordError}
          />
          <LanguagePicker value={language} onChange={setLanguage} />
          <fieldset className="choice">
            <legend>How do you want to train it?</legend>
            <label>
              <input
                type="radio"
                name="mode"
                value="record"
                checked={mode === 'record'}
                onChange={() => setMode('record')}
              />
              <span>
                <strong>Record my voice</strong> — 10 short takes (5 at least). Best accuracy for you.
              </span>
            </label>
            <label>
              <input
                type="radio"
                name="mode"
                value="text"
                checked={mode === 'text'}
                onChange={() => setMode('text')}
              />
              <span>
                <strong>From text only</strong> — no recording; trained on synthetic voices. Quick, usually
                less accurate.
              </span>
            </label>
          </fieldset>
          {typed && !typed.error && (
            <PronunciationEditor word={typed.value} language={language} value={pron} onChange={setPron} />
          )}
          {quotaAlert}
          {submitError && (
            <Alert>
              {submitError.text} {submitError.upgrade && <Link to="/pricing">See plans</Link>}
            </Alert>
          )}
          <button className="button" type="submit" disabled={submitting || !!quotaBlock}>
            {mode === 'text' ? (submitting ? 'Starting…' : 'Train from text') : 'Continue to recording'}
          </button>
        </form>
      </section>
    );
  }

  const done = takes.filter((t) => t?.analysis.ok && t.upload !== 'unusable').length;
  return (
    <section>
      <PageHeader title={`Record “${word}”`}>
        <button
          type="button"
          className="button button-secondary"
          onClick={startOver}
          disabled={phase.kind !== 'idle'}
        >
          Change wake word
        </button>
      </PageHeader>
      <p className="lead">
        Record {TAKES_TARGET} takes ({TAKES_MINIMUM} at least). Say “{word}” once per take, naturally, the way
        you will use it. Vary your distance and tone a little between takes.
      </p>
      {quotaAlert}
      {!capture ? (
        <div className="card">
          <p>
            The console needs your microphone. Audio is recorded without echo cancellation, noise suppression
            or automatic gain, so your takes match what a device hears.
          </p>
          {micError && <Alert>{micError}</Alert>}
          <button type="button" className="button" onClick={enableMic} disabled={!!quotaBlock}>
            Turn on microphone
          </button>
        </div>
      ) : (
        <div className="card recorder">
          <p className="muted small">Microphone: {capture.label}</p>
          <LevelMeter capture={capture} />
          <div className="record-stage" aria-live="assertive">
            {phase.kind === 'countdown' && <p className="countdown-big">{phase.n}</p>}
            {phase.kind === 'recording' && <p className="say-now">Say “{word}” now</p>}
            {phase.kind === 'idle' && (
              <p className="muted">
                {done >= TAKES_TARGET
                  ? 'All takes recorded.'
                  : `Take ${Math.max(0, nextSlot) + 1} of ${TAKES_TARGET}`}
              </p>
            )}
          </div>
          {nextSlot >= 0 && (
            <button
              ref={recordButton}
              type="button"
              className="button button-large"
              onClick={() => recordTake(nextSlot)}
              disabled={phase.kind !== 'idle' || !!quotaBlock}
            >
              {phase.kind === 'idle' ? `Record take ${nextSlot + 1}` : 'Recording…'}
            </button>
          )}
        </div>
      )}
      <ol className="takes" aria-label="Takes">
        {takes.map((t, i) => (
          <TakeRow
            // biome-ignore lint/suspicious/noArrayIndexKey: the ten take slots are positional
            key={i}
            index={i}
            take={t}
            disabled={!capture || phase.kind !== 'idle'}
            onRerecord={() => recordTake(i)}
            onRetryUpload={() => t && word && upload(t, word)}
          />
        ))}
      </ol>
      <div className="card">
        <PronunciationEditor word={word} language={language} value={pron} onChange={setPron} />
      </div>
      <div className="card train-bar">
        <p>
          <strong>{uploaded.length}</strong> of {TAKES_TARGET} takes uploaded
          {uploaded.length < TAKES_MINIMUM
            ? ` — ${TAKES_MINIMUM - uploaded.length} more needed to train.`
            : '.'}
        </p>
        {submitError && (
          <Alert>
            {submitError.text} {submitError.upgrade && <Link to="/pricing">See plans</Link>}
          </Alert>
        )}
        <button
          type="button"
          className="button button-large"
          disabled={
            uploaded.length < TAKES_MINIMUM ||
            busyUploading ||
            submitting ||
            phase.kind !== 'idle' ||
            !!quotaBlock
          }
          onClick={() =>
            startTraining(
              word,
              uploaded.map((t) => t.recordingId as number),
            )
          }
        >
          {submitting ? 'Starting training…' : `Train model with ${uploaded.length} takes`}
        </button>
      </div>
    </section>
  );
}

function TakeRow(props: {
  index: number;
  take: Take | null;
  disabled: boolean;
  onRerecord: () => void;
  onRetryUpload: () => void;
}) {
  const { take, index } = props;
  if (!take) {
    return (
      <li className="take empty">
        <span className="take-num">{index + 1}</span>
        <span className="muted">Not recorded yet</span>
      </li>
    );
  }
  const rejected = !take.analysis.ok || take.upload === 'unusable';
  const status = rejected
    ? 'Rejected'
    : take.upload === 'done'
      ? 'Uploaded'
      : take.upload === 'uploading'
        ? take.attempt > 1
          ? `Uploading (attempt ${take.attempt})…`
          : 'Uploading…'
        : take.upload === 'failed'
          ? 'Upload failed'
          : 'Checked';
  return (
    <li className={`take ${rejected ? 'bad' : 'ok'}`} data-testid={`take-${index + 1}`}>
      <span className="take-num">{index + 1}</span>
      <div className="take-body">
        <p className="take-status">
          <strong>{status}</strong>
          <span className="muted small">
            {' '}
            · length {(take.samples.length / 16000).toFixed(2)} s · peak {Math.round(take.analysis.peakDb)}{' '}
            dBFS · SNR {take.analysis.snrDb > 60 ? '> 60' : Math.round(take.analysis.snrDb)} dB
          </span>
        </p>
        {take.analysis.issues.map((issue) => (
          <p
            key={issue.code}
            className={issue.severity === 'error' ? 'issue issue-error' : 'issue issue-warning'}
          >
            {issue.message}
          </p>
        ))}
        {take.warnings.map((w) => (
          <p key={w.code} className="issue issue-warning">
            {w.message}
          </p>
        ))}
        {take.uploadError && (
          <p className="issue issue-error" data-testid={`take-${index + 1}-error`}>
            {take.uploadError}
          </p>
        )}
      </div>
      <div className="take-actions">
        {/* biome-ignore lint/a11y/useMediaCaption: the user's own take of one word; no transcript exists */}
        <audio controls src={take.url} aria-label={`Play take ${index + 1}`} preload="none" />
        <button
          type="button"
          className="button button-small button-secondary"
          onClick={props.onRerecord}
          disabled={props.disabled}
        >
          Re-record
        </button>
        {take.upload === 'failed' && take.analysis.ok && (
          <button type="button" className="button button-small" onClick={props.onRetryUpload}>
            Retry upload
          </button>
        )}
      </div>
    </li>
  );
}
