import { describe, expect, it } from 'vitest';
import { checkWakeWord, normalizeWakeWord, WAKE_WORD_MESSAGES, WakeWordError } from '../src/wakeword.ts';

function rejection(input: string): { code: string; message: string; status: number } {
  try {
    normalizeWakeWord(input);
  } catch (err) {
    expect(err).toBeInstanceOf(WakeWordError);
    const e = err as WakeWordError;
    return { code: e.code, message: e.message, status: e.status };
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('normalizeWakeWord (docs/api.md §4.4)', () => {
  it('reproduces the examples of docs/api.md §4.4', () => {
    expect(normalizeWakeWord('  Hey   JARVIS ')).toBe('hey jarvis');
    expect(normalizeWakeWord('Café')).toBe('café');
    expect(normalizeWakeWord('ｈｅｙ')).toBe('hey');
    expect(normalizeWakeWord('O’Neil')).toBe("o'neil");
    expect(rejection('hey, jarvis')).toEqual({
      code: 'invalidCharacters',
      message: 'Wake word may only contain letters, digits, spaces, apostrophes and hyphens',
      status: 400,
    });
  });

  it('applies NFKC before checking, so decomposed and composed forms agree', () => {
    const decomposed = 'Cafe\u0301';
    expect(normalizeWakeWord(decomposed)).toBe('caf\u00e9');
    expect(normalizeWakeWord(decomposed)).toBe(normalizeWakeWord('Café'));
    // Ligature and full-width digits are compatibility characters.
    expect(normalizeWakeWord('ﬁre ０７')).toBe('fire 07');
    expect(normalizeWakeWord('Louis Ⅻ')).toBe('louis xii');
  });

  it('maps typographic apostrophes and dashes', () => {
    expect(normalizeWakeWord('it\u2018s')).toBe("it's");
    expect(normalizeWakeWord('it\u02BCs')).toBe("it's");
    for (const dash of ['\u2010', '\u2011', '\u2012', '\u2013', '\u2212']) {
      expect(normalizeWakeWord(`hey${dash}you`)).toBe('hey-you');
    }
    // The em dash is not in the mapped set and stays invalid.
    expect(rejection('hey\u2014you').code).toBe('invalidCharacters');
  });

  it('collapses every kind of whitespace run to one space and trims', () => {
    expect(normalizeWakeWord('\t hey\n\n\u00a0 viola \u3000')).toBe('hey viola');
    expect(normalizeWakeWord('a\u2003\u2003b')).toBe('a b');
  });

  it('lower-cases independently of locale and keeps other scripts', () => {
    expect(normalizeWakeWord('ΟΔΥΣΣΕΥΣ')).toBe('οδυσσευς'); // Unicode final-sigma rule
    expect(normalizeWakeWord('ПРИВЕТ Виола')).toBe('привет виола');
    expect(normalizeWakeWord('नमस्ते')).toBe('नमस्ते'); // Devanagari with combining marks (category M)
    expect(normalizeWakeWord('こんにちは')).toBe('こんにちは');
    expect(normalizeWakeWord('I')).toBe('i'); // not the Turkish dotless ı
    expect(normalizeWakeWord('٣ wishes')).toBe('٣ wishes'); // Arabic-Indic digit is Nd
  });

  it('rejects empty and whitespace-only input', () => {
    for (const input of ['', '   ', '\t\n', '\u3000']) {
      expect(rejection(input)).toEqual({ code: 'required', message: 'wake_word is required', status: 400 });
    }
    expect(() => normalizeWakeWord(undefined)).toThrow('wake_word is required');
    expect(() => normalizeWakeWord(null)).toThrow('wake_word is required');
  });

  it('rejects characters outside letters, digits, space, apostrophe and hyphen', () => {
    for (const input of ['hey!', 'a_b', 'hey.you', 'emoji 🙂', 'tab\u0000', 'x\u200dy', 'a/b', '§', '½']) {
      expect(rejection(input).message).toBe(WAKE_WORD_MESSAGES.invalidCharacters);
    }
  });

  it('rejects input with no letter or digit', () => {
    for (const input of ["'", '--', "' - '", '‐‐']) {
      expect(rejection(input)).toEqual({
        code: 'noValidCharacters',
        message: 'Wake word contains no valid characters',
        status: 400,
      });
    }
  });

  it('limits the normalized form to 64 code points', () => {
    expect(normalizeWakeWord('a'.repeat(64))).toHaveLength(64);
    expect(rejection('a'.repeat(65)).message).toBe('Wake word must be at most 64 characters');
    // Counted after normalization: surrounding and repeated whitespace does not count.
    expect(normalizeWakeWord(`   ${'a'.repeat(30)}     ${'b'.repeat(33)}   `)).toHaveLength(64);
    // Code points, not UTF-16 units: 64 astral letters (2 units each) are accepted.
    const astral = '𐐀'; // Deseret capital long I: astral, category Lu, lower-cases to astral 𐐨
    const word = normalizeWakeWord(astral.repeat(64));
    expect(word).toBe('𐐨'.repeat(64));
    expect(Array.from(word)).toHaveLength(64);
    expect(word.length).toBe(128);
    expect(rejection(astral.repeat(65)).code).toBe('tooLong');
  });

  it('is idempotent on its own output', () => {
    for (const input of ['  Hey   JARVIS ', 'O’Neil', 'ｈｅｙ', 'Cafe\u0301', 'ПРИВЕТ  Виола', 'hey‑you']) {
      const once = normalizeWakeWord(input);
      expect(normalizeWakeWord(once)).toBe(once);
    }
  });

  it('checkWakeWord reports without throwing', () => {
    expect(checkWakeWord(' Hi There ')).toEqual({ ok: true, value: 'hi there' });
    expect(checkWakeWord('hi?')).toEqual({
      ok: false,
      code: 'invalidCharacters',
      message: WAKE_WORD_MESSAGES.invalidCharacters,
    });
  });
});
