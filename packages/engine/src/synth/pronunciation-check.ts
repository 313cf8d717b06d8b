/**
 * Checking a pronunciation the user gave (docs/engine.md, "Pronunciation"), without loading any synthesis: the
 * server validates job requests with it.
 */
import { parsePhonemes } from '../negatives/phonemes.ts';

export interface Pronunciation {
  soundsLike?: string;
  phonemes?: string;
}

/** What the manifest records (`training.pronunciation`). */
export interface TrainedPronunciation {
  source: 'spelling' | 'sounds_like' | 'phonemes';
  sounds_like: string | null;
  /** The phonemes the positives were synthesised from (espeak-ng's reading of the text, or the given ones). */
  phonemes: string;
}

export const MAX_SOUNDS_LIKE = 100;
export const MAX_PHONEMES = 200;

/** A pronunciation the engine cannot use; `field` names the input at fault. */
export class PronunciationError extends Error {
  override name = 'PronunciationError';
  constructor(
    readonly field: 'sounds_like' | 'phonemes',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Characters of espeak-ng's Kirshenbaum phonemes in other languages than English: the English ones plus palatalisation
 * (;), nasal vowels (~) and (^) of some tables. Those phonemes are only checked for characters and a vowel.
 */
const OTHER_LANGUAGE_PHONEME_CHARS = /^[a-zA-Z0-9@#&:'",;~^ -]+$/;
/** Characters of espeak-ng's English Kirshenbaum phonemes, stress marks (' ,) and word spaces. */
const PHONEME_CHARS = /^[a-zA-Z0-9@#&:'", -]+$/;
/** Single-character phonemes of espeak-ng's English tables (multi-character ones come from `parsePhonemes`). */
const SINGLE = new Set([
  ...'@3aAeEiIoOuUV0'.split(''),
  ...'bdfghjklmnprstvwzDNSTZ'.split(''),
  '&',
  'x',
  'C',
  'Q',
  'W',
  'y',
  'c',
  'q',
  // modifiers espeak-ng prints after a phoneme (O2, @5, t#)
  '2',
  '5',
  '#',
]);
const MULTI_OK =
  /^(aI@|aU@|i@3|aI3|oU#|@2|@5|@L|3:|a#|A:|A@|aI|aU|e#|e@|eI|i:|I#|I2|i@|o@|0#|O:|O@|OI|oU|u:|U@|dZ|tS|t#|d#|n-|l-|m-|r-|t2|d2|aa|z#|s2)$/;

/**
 * Checks and normalises a pronunciation (at most one of the two fields). Throws {@link PronunciationError} with a
 * sentence for the user.
 */
export function validatePronunciation(p: Pronunciation | null | undefined, language = 'en'): Pronunciation {
  const soundsLike = p?.soundsLike?.normalize('NFC').trim().replace(/\s+/g, ' ') || undefined;
  const phonemes = p?.phonemes?.trim().replace(/\s+/g, ' ') || undefined;
  if (soundsLike && phonemes)
    throw new PronunciationError('phonemes', 'Give either a "sounds like" spelling or phonemes, not both.');
  if (soundsLike !== undefined) {
    if (soundsLike.length > MAX_SOUNDS_LIKE)
      throw new PronunciationError(
        'sounds_like',
        `The "sounds like" spelling is longer than ${MAX_SOUNDS_LIKE} characters.`,
      );
    if (!/^[\p{L}][\p{L}' -]*$/u.test(soundsLike) || !/\p{L}/u.test(soundsLike))
      throw new PronunciationError(
        'sounds_like',
        'The "sounds like" spelling may contain only letters, spaces, hyphens and apostrophes, for example "my croft".',
      );
    return { soundsLike };
  }
  if (phonemes !== undefined) {
    if (phonemes.length > MAX_PHONEMES)
      throw new PronunciationError('phonemes', `The phonemes are longer than ${MAX_PHONEMES} characters.`);
    if (language !== 'en') {
      if (!OTHER_LANGUAGE_PHONEME_CHARS.test(phonemes))
        throw new PronunciationError(
          'phonemes',
          "Phonemes use espeak-ng's ASCII notation (as `espeak-ng -x -v <language>` prints it); other characters are not allowed.",
        );
      if (!/[@3aAeEiIoOuUVy0&]/.test(phonemes))
        throw new PronunciationError('phonemes', 'The phonemes contain no vowel.');
      return { phonemes };
    }
    if (!PHONEME_CHARS.test(phonemes))
      throw new PronunciationError(
        'phonemes',
        'Phonemes use espeak-ng\'s ASCII notation (as `espeak-ng -x` prints it), for example "maIkr0ft"; ' +
          'other characters are not allowed.',
      );
    const units = parsePhonemes(phonemes).filter((u) => u.ph !== ' ');
    const unknown = units.filter((u) => !SINGLE.has(u.ph) && !MULTI_OK.test(u.ph)).map((u) => u.ph);
    if (unknown.length > 0)
      throw new PronunciationError('phonemes', `Unknown phonemes: ${[...new Set(unknown)].join(' ')}.`);
    if (!units.some((u) => /^[@3aAeEiIoOuUV0&]/.test(u.ph)))
      throw new PronunciationError('phonemes', 'The phonemes contain no vowel.');
    return { phonemes };
  }
  return {};
}
