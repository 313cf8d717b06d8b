/**
 * The languages an installation can train (docs/languages.md): the engine's list, each with the voices this machine
 * has for it and whether its word lists are installed. Computed once per process (espeak-ng lists its voices).
 */
import {
  LANGUAGE_CODES,
  LANGUAGES,
  LanguageError,
  normalizeLanguage,
  unspeakableCharacters,
} from '@violawake/engine/lang/languages';
import { languageDataInstalled } from '@violawake/engine/lang/sentences';
import { discoverProviders, disposeProviders, listVoices } from '@violawake/engine/synth/index';
import { HttpError } from '../core/http/errors.ts';
import type { Language } from './schemas.ts';

/** Fewest voices a language needs: the engine holds some out for grading and trains on the others. */
export const MIN_VOICES = 3;

export type LanguageAvailability = Language;

let cached: Promise<LanguageAvailability[]> | null = null;

async function compute(): Promise<LanguageAvailability[]> {
  const providers = await discoverProviders();
  try {
    const out: LanguageAvailability[] = [];
    for (const l of LANGUAGES) {
      const voices = await listVoices(providers, l.code).catch(() => []);
      const data = languageDataInstalled(l.code);
      const reason =
        voices.length < MIN_VOICES
          ? voices.length === 0
            ? `No speech synthesizer on this server speaks ${l.name} (install espeak-ng).`
            : `Only ${voices.length} ${l.name} voice${voices.length === 1 ? '' : 's'} on this server (${MIN_VOICES} needed).`
          : !data
            ? `The ${l.name} word lists (npm packages stopwords-iso and ${l.dictionary}) are not installed.`
            : null;
      out.push({
        code: l.code,
        name: l.name,
        native_name: l.nativeName,
        voices: voices.length,
        providers: [...new Set(voices.map((v) => v.provider))].sort(),
        trainable: reason === null,
        reason,
        real_speech_negatives: false,
      });
    }
    return out;
  } finally {
    disposeProviders(providers);
  }
}

/** Every supported language with this installation's availability (cached for the process). */
export function listLanguages(): Promise<LanguageAvailability[]> {
  if (!cached) {
    cached = compute();
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}

/** 422 body for a language code the engine does not train: names the field and lists the supported codes. */
function unknownLanguage(loc: (string | number)[], code: string): HttpError {
  return new HttpError(422, [
    {
      loc,
      msg: `Unknown language "${code}". Supported languages: ${LANGUAGE_CODES.join(', ')}.`,
      type: 'value_error',
      ctx: { supported: [...LANGUAGE_CODES] },
    },
  ]);
}

/**
 * The normalised language of a request (`undefined`/null/'' → 'en'), or a 422 for an unknown code. With
 * `wakeWord` (already normalised), also a 422 naming the letters the language's voices cannot speak.
 */
export function requestLanguage(
  code: string | null | undefined,
  opts: { loc?: (string | number)[]; wakeWord?: string; wakeWordLoc?: (string | number)[] } = {},
): string {
  let language: string;
  try {
    language = normalizeLanguage(code);
  } catch (err) {
    if (err instanceof LanguageError) throw unknownLanguage(opts.loc ?? ['body', 'language'], err.code);
    throw err;
  }
  if (opts.wakeWord !== undefined) {
    const bad = unspeakableCharacters(opts.wakeWord, language);
    if (bad.length > 0) {
      const name = LANGUAGES.find((l) => l.code === language)?.name ?? language;
      throw new HttpError(422, [
        {
          loc: opts.wakeWordLoc ?? ['body', 'wake_word'],
          msg: `The wake word contains ${bad.length === 1 ? 'a character' : 'characters'} that ${name} voices cannot speak: ${bad.map((c) => `"${c}"`).join(', ')}.`,
          type: 'value_error',
          ctx: { language, characters: bad },
        },
      ]);
    }
  }
  return language;
}

/** A 422 when the installation cannot train `language` (no voices, word lists missing), with the reason. */
export async function assertTrainable(language: string, loc: (string | number)[] = ['body', 'language']) {
  const l = (await listLanguages()).find((x) => x.code === language);
  if (l && !l.trainable)
    throw new HttpError(422, [
      { loc, msg: `${l.name} cannot be trained here: ${l.reason}`, type: 'value_error' },
    ]);
}
