/**
 * Kirshenbaum-style phoneme strings as printed by `espeak-ng -x` (e.g. "h'eI vaI'oUl@"): tokenising, rendering,
 * normalising and a stress-aware weighted edit distance (docs/engine.md §6.4).
 */

/** Multi-character phoneme mnemonics of espeak-ng's English tables, longest first. */
const MULTI = [
  'aI@',
  'aU@',
  'i@3',
  'aI3',
  'oU#',
  '@2',
  '@5',
  '@L',
  '3:',
  'a#',
  'A:',
  'A@',
  'aI',
  'aU',
  'e#',
  'e@',
  'eI',
  'i:',
  'I#',
  'I2',
  'i@',
  'o@',
  '0#',
  'O:',
  'O@',
  'OI',
  'oU',
  'u:',
  'U@',
  'dZ',
  'tS',
  't#',
  'd#',
  'n-',
  'l-',
  'm-',
  'r-',
  't2',
  'd2',
  'aa',
  'z#',
  's2',
];
const VOWEL_START = new Set(['@', '3', 'a', 'A', 'e', 'E', 'i', 'I', 'o', 'O', '0', 'u', 'U', 'V', '&']);

export interface Unit {
  /** Phoneme mnemonic, or ' ' for a word boundary. */
  ph: string;
  /** 1 primary, 2 secondary, 0 unstressed (vowels only). */
  stress: 0 | 1 | 2;
}

export function isVowel(ph: string): boolean {
  return VOWEL_START.has(ph.charAt(0)) && !['n-', 'l-', 'm-', 'r-'].includes(ph);
}

/** Splits a phoneme string into units; stress marks attach to the next vowel; '_' and ':' pauses are dropped. */
export function parsePhonemes(s: string): Unit[] {
  const out: Unit[] = [];
  let pending: 0 | 1 | 2 = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charAt(i);
    if (c === "'") {
      pending = 1;
      i++;
      continue;
    }
    if (c === ',') {
      pending = 2;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (out.length && out[out.length - 1]?.ph !== ' ') out.push({ ph: ' ', stress: 0 });
      i++;
      continue;
    }
    if (c === '_' || c === '|' || c === '=' || c === '!' || c === ';' || (c === '-' && !out.length)) {
      i++;
      continue;
    }
    const multi = MULTI.find((m) => s.startsWith(m, i));
    const ph = multi ?? c;
    i += ph.length;
    if (isVowel(ph)) {
      out.push({ ph, stress: pending });
      pending = 0;
    } else out.push({ ph, stress: 0 });
  }
  while (out.length && out[out.length - 1]?.ph === ' ') out.pop();
  return out;
}

/** Renders units back to a phoneme string, stress marks right before their vowel (as `espeak-ng -x` prints them). */
export function renderPhonemes(units: Unit[]): string {
  let s = '';
  for (const u of units) s += (u.stress === 1 ? "'" : u.stress === 2 ? ',' : '') + u.ph;
  return s;
}

/** Phonemes without stress, word boundaries or allophone markers: the form used for homophone exclusion (§6.4). */
export function normalizePhonemes(s: string): string {
  return parsePhonemes(s)
    .filter((u) => u.ph !== ' ')
    .map((u) => u.ph.replace(/[#2]$/, '').replace(/^@[25L]$/, '@'))
    .join('');
}

const NEAR_PAIRS: Array<[string, string]> = [
  // voicing pairs
  ['b', 'p'],
  ['d', 't'],
  ['g', 'k'],
  ['v', 'f'],
  ['z', 's'],
  ['D', 'T'],
  ['Z', 'S'],
  ['dZ', 'tS'],
  // place neighbours
  ['m', 'n'],
  ['n', 'N'],
  ['l', 'r'],
  ['w', 'v'],
  ['s', 'S'],
  ['f', 'T'],
  ['t#', 'd'],
  ['t#', 't'],
  ['j', 'w'],
  // vowel neighbourhoods
  ['i:', 'I'],
  ['I', 'E'],
  ['E', 'a'],
  ['a', 'V'],
  ['V', '0'],
  ['0', 'O:'],
  ['O:', 'oU'],
  ['U', 'u:'],
  ['u:', 'oU'],
  ['eI', 'E'],
  ['eI', 'aI'],
  ['aI', 'OI'],
  ['aU', 'oU'],
  ['@', 'V'],
  ['@', 'I2'],
  ['3:', '@'],
  ['A:', 'a'],
  ['A:', '0'],
  ['i@', 'e@'],
  ['I#', 'I'],
  ['I', '@'],
  ['eI', 'i:'],
  ['A@', 'O@'],
  ['a#', 'a'],
  ['a#', '@'],
];
const NEAR = new Map<string, Set<string>>();
for (const [a, b] of NEAR_PAIRS) {
  if (!NEAR.has(a)) NEAR.set(a, new Set());
  if (!NEAR.has(b)) NEAR.set(b, new Set());
  NEAR.get(a)?.add(b);
  NEAR.get(b)?.add(a);
}

/** Phonemes close to `ph` (substitution candidates). */
export function nearPhonemes(ph: string): string[] {
  return [...(NEAR.get(ph) ?? [])];
}

function subCost(a: Unit, b: Unit): number {
  if (a.ph === b.ph) return a.stress === b.stress ? 0 : 0.25;
  if (a.ph === ' ' || b.ph === ' ') return 1;
  const base = NEAR.get(a.ph)?.has(b.ph) ? 0.5 : isVowel(a.ph) === isVowel(b.ph) ? 1 : 1.5;
  return base + (a.stress !== b.stress ? 0.25 : 0);
}

function indelCost(u: Unit): number {
  if (u.ph === ' ') return 0.1;
  return u.ph === '@' || u.ph === 'h' ? 0.5 : 1;
}

/** Stress-aware weighted edit distance between two unit sequences. */
export function phonemeDistance(a: Unit[], b: Unit[]): number {
  const n = a.length;
  const m = b.length;
  let prev = new Float64Array(m + 1);
  let cur = new Float64Array(m + 1);
  for (let j = 1; j <= m; j++) prev[j] = (prev[j - 1] as number) + indelCost(b[j - 1] as Unit);
  for (let i = 1; i <= n; i++) {
    const ai = a[i - 1] as Unit;
    cur[0] = (prev[0] as number) + indelCost(ai);
    for (let j = 1; j <= m; j++) {
      const bj = b[j - 1] as Unit;
      cur[j] = Math.min(
        (prev[j - 1] as number) + subCost(ai, bj),
        (prev[j] as number) + indelCost(ai),
        (cur[j - 1] as number) + indelCost(bj),
      );
    }
    [prev, cur] = [cur, prev];
  }
  return prev[m] as number;
}
