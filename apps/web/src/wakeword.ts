/** Display-side wake-word normalization (docs/api.md §4.4). The server is authoritative; this gives early feedback. */

export function normalizeWakeWord(raw: string): { value: string; error: string | null } {
  let s = raw.normalize('NFKC');
  s = s.replace(/[\u2018\u2019\u02BC]/g, "'").replace(/[\u2010-\u2013\u2212]/g, '-');
  s = s.toLowerCase().trim().replace(/\s+/g, ' ');
  if (!s) return { value: s, error: 'Enter a wake word.' };
  if (!/^[\p{L}\p{M}\p{Nd} '-]+$/u.test(s)) {
    return { value: s, error: 'Use only letters, digits, spaces, apostrophes and hyphens.' };
  }
  if (!/[\p{L}\p{Nd}]/u.test(s))
    return { value: s, error: 'The wake word needs at least one letter or digit.' };
  if ([...s].length > 64) return { value: s, error: 'Keep the wake word to 64 characters or fewer.' };
  return { value: s, error: null };
}
