import { useEffect, useId, useState } from 'react';
import { api } from '../api/client.ts';
import type { LanguageList } from '../api/types.ts';

/** The installation's languages (GET /api/languages), or null while loading / when the server cannot say. */
export function useLanguages(): LanguageList | null {
  const [list, setList] = useState<LanguageList | null>(null);
  useEffect(() => {
    let live = true;
    api<LanguageList>('/api/languages')
      .then((l) => {
        if (live) setList(l);
      })
      .catch(() => {
        if (live) setList(null);
      });
    return () => {
      live = false;
    };
  }, []);
  return list;
}

/**
 * The wake word's language: the languages this installation can train, and below them the ones it cannot, with why
 * (docs/languages.md). English only while the list loads.
 */
export function LanguagePicker(props: { value: string; onChange: (code: string) => void }) {
  const id = useId();
  const list = useLanguages();
  const trainable = list?.languages.filter((l) => l.trainable) ?? [];
  const missing = list?.languages.filter((l) => !l.trainable) ?? [];
  return (
    <div className="field">
      <label htmlFor={id}>Language</label>
      <select
        id={id}
        name="language"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-describedby={`${id}-hint`}
      >
        {trainable.length === 0 && <option value="en">English</option>}
        {trainable.map((l) => (
          <option key={l.code} value={l.code}>
            {l.native_name === l.name ? l.name : `${l.native_name} (${l.name})`}
          </option>
        ))}
      </select>
      <p className="hint" id={`${id}-hint`}>
        The language you will say the wake word in: the synthetic voices and the everyday speech it is trained
        against are that language's.
      </p>
      {missing.length > 0 && (
        <ul className="muted small" data-testid="languages-missing">
          {missing.map((l) => (
            <li key={l.code}>
              {l.name} is not available here: {l.reason}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
