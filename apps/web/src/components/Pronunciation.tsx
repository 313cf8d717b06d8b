import { useEffect, useRef, useState } from 'react';
import { type ApiError, apiFetch } from '../api/client.ts';

/** What the training request's `pronunciation` takes (docs/training.md, "Pronunciation"). */
export interface PronunciationValue {
  sounds_like?: string;
  phonemes?: string;
}

/** The request's `pronunciation`, or undefined when the user left the word as spelled. */
export function pronunciationBody(v: PronunciationValue): PronunciationValue | undefined {
  const soundsLike = v.sounds_like?.trim();
  const phonemes = v.phonemes?.trim();
  if (soundsLike) return { sounds_like: soundsLike };
  if (phonemes) return { phonemes };
  return undefined;
}

/**
 * "How it will be said": plays the server's espeak-ng preview of the word as a job would synthesise it, and lets the
 * user correct it with a "sounds like" spelling or espeak-ng phonemes.
 */
export function PronunciationEditor(props: {
  word: string;
  /** The wake word's language (default English). */
  language?: string;
  value: PronunciationValue;
  onChange: (v: PronunciationValue) => void;
}) {
  const { word, value, onChange, language } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [phonemes, setPhonemes] = useState<string | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const audio = useRef<HTMLAudioElement>(null);
  const [advanced, setAdvanced] = useState(Boolean(value.phonemes));

  useEffect(
    () => () => {
      if (url) URL.revokeObjectURL(url);
    },
    [url],
  );

  async function hear() {
    setBusy(true);
    setError(null);
    try {
      const res = await apiFetch('/api/training/pronunciation/preview', {
        body: {
          wake_word: word,
          ...(language && language !== 'en' ? { language } : {}),
          ...pronunciationBody(value),
        },
        headers: { Accept: 'audio/wav' },
      });
      const blob = await res.blob();
      setPhonemes(res.headers.get('X-Phonemes'));
      const next = URL.createObjectURL(blob);
      setUrl(next);
      setTimeout(() => {
        void audio.current?.play().catch(() => {
          /* autoplay refused: the controls are there */
        });
      }, 0);
    } catch (err) {
      const e = err as ApiError;
      const field = e.fieldErrors?.[0];
      setError(field ? field.msg : e.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <fieldset className="pronunciation" aria-label="Pronunciation">
      <legend>How it will be said</legend>
      <p className="muted small">
        The synthetic voices say “{word}” the way you hear in the preview. If it sounds wrong, spell it the
        way it sounds (for example “my croft” for “mycroft”).
      </p>
      <label className="field">
        <span>Sounds like</span>
        <input
          name="sounds_like"
          value={value.sounds_like ?? ''}
          maxLength={100}
          placeholder={word}
          disabled={Boolean(value.phonemes?.trim())}
          onChange={(e) => onChange({ ...value, sounds_like: e.target.value })}
        />
      </label>
      {advanced ? (
        <label className="field">
          <span>Phonemes (espeak-ng notation, instead of the spelling)</span>
          <input
            name="phonemes"
            value={value.phonemes ?? ''}
            maxLength={200}
            placeholder={phonemes ?? ''}
            disabled={Boolean(value.sounds_like?.trim())}
            onChange={(e) => onChange({ ...value, phonemes: e.target.value })}
          />
        </label>
      ) : (
        <button type="button" className="button-link small" onClick={() => setAdvanced(true)}>
          Enter phonemes instead
        </button>
      )}
      <div className="pronunciation-preview">
        <button type="button" className="button button-secondary" onClick={hear} disabled={busy}>
          {busy ? 'Synthesising…' : 'Hear it'}
        </button>
        {url && (
          // biome-ignore lint/a11y/useMediaCaption: a synthesised word; its phonemes are shown beside it
          <audio ref={audio} controls src={url} aria-label="Pronunciation preview" />
        )}
        {phonemes && !error && (
          <span className="muted small" data-testid="pronunciation-phonemes">
            Phonemes: <code>{phonemes}</code>
          </span>
        )}
      </div>
      {error && (
        <p className="issue issue-error" role="alert" data-testid="pronunciation-error">
          {error}
        </p>
      )}
    </fieldset>
  );
}
