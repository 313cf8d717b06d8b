/**
 * Wake-word normalization (docs/api.md §4.4): the one function used by the recordings upload, the recordings list
 * filter, training submission and everything stored. The console uses the same rules for display; the server is
 * authoritative. Isomorphic: no Node or browser APIs.
 */

export const WAKE_WORD_MAX_LENGTH = 64;

export const WAKE_WORD_MESSAGES = {
  required: 'wake_word is required',
  invalidCharacters: 'Wake word may only contain letters, digits, spaces, apostrophes and hyphens',
  noValidCharacters: 'Wake word contains no valid characters',
  tooLong: 'Wake word must be at most 64 characters',
} as const;

export type WakeWordErrorCode = keyof typeof WAKE_WORD_MESSAGES;

/** A wake word the rules reject. `message` is the exact client-facing text (the server answers 400 with it). */
export class WakeWordError extends Error {
  override name = 'WakeWordError';
  readonly status = 400;
  constructor(readonly code: WakeWordErrorCode) {
    super(WAKE_WORD_MESSAGES[code]);
  }
}

export type WakeWordResult =
  | { ok: true; value: string }
  | { ok: false; code: WakeWordErrorCode; message: string };

// Step 2: typographic apostrophes and dashes.
const APOSTROPHES = /[\u2018\u2019\u02BC]/g;
const DASHES = /[\u2010-\u2013\u2212]/g;
// Step 3: any Unicode whitespace run (JS \s covers the Unicode White_Space set plus BOM).
const WHITESPACE_RUN = /\s+/gu;
// Step 5: letters (L), marks (M), decimal digits (Nd), space, apostrophe, hyphen.
const ALLOWED = /^[\p{L}\p{M}\p{Nd} '-]*$/u;
// Step 6: at least one letter or digit.
const HAS_LETTER_OR_DIGIT = /[\p{L}\p{Nd}]/u;

/** Normalize without throwing: `{ok: true, value}` or the failing rule's code and exact message. */
export function checkWakeWord(input: string): WakeWordResult {
  let s = input.normalize('NFKC');
  s = s.replace(APOSTROPHES, "'").replace(DASHES, '-');
  // Locale-independent lower-casing: String.prototype.toLowerCase uses the Unicode default mapping.
  s = s.toLowerCase();
  s = s.trim().replace(WHITESPACE_RUN, ' ');
  const fail = (code: WakeWordErrorCode): WakeWordResult => ({
    ok: false,
    code,
    message: WAKE_WORD_MESSAGES[code],
  });
  if (s.length === 0) return fail('required');
  if (!ALLOWED.test(s)) return fail('invalidCharacters');
  if (!HAS_LETTER_OR_DIGIT.test(s)) return fail('noValidCharacters');
  if (Array.from(s).length > WAKE_WORD_MAX_LENGTH) return fail('tooLong');
  return { ok: true, value: s };
}

/**
 * Normalize a wake word per docs/api.md §4.4 and return it; throws {@link WakeWordError} (status 400, exact message)
 * when a rule rejects it. `null`/`undefined` count as empty.
 */
export function normalizeWakeWord(input: string | null | undefined): string {
  const r = checkWakeWord(input ?? '');
  if (!r.ok) throw new WakeWordError(r.code);
  return r.value;
}
