import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_LANGUAGE, languageInfo, normalizeLanguage } from '../lang/languages.ts';
import { phonemize, phonemizeMany } from '../synth/index.ts';
import {
  isVowel,
  nearPhonemes,
  normalizePhonemes,
  parsePhonemes,
  phonemeDistance,
  renderPhonemes,
  type Unit,
} from './phonemes.ts';
import { loadSentences, sentenceVocabulary, sentenceWords } from './sentences.ts';

/** Common first names used for shared-prefix phrases ("hey" + name). */
export const COMMON_NAMES = [
  'Anna',
  'Ben',
  'Carla',
  'David',
  'Emma',
  'Frank',
  'Grace',
  'Henry',
  'Isabel',
  'Jack',
  'Kate',
  'Liam',
  'Maria',
  'Noah',
  'Olivia',
  'Peter',
  'Rachel',
  'Sam',
  'Tina',
  'Victor',
  'Wendy',
  'Zoe',
  'Oscar',
  'Lucy',
  'Marcus',
  'Nina',
  'Paul',
  'Sophie',
  'Tom',
  'Julia',
  'Daniel',
  'Eva',
  'George',
  'Hannah',
  'Laura',
  'Mike',
  'Sara',
  'Nora',
  'Rosa',
  'Alex',
  'Mary',
  'James',
  'Linda',
  'Robert',
  'Susan',
  'Kevin',
  'Joe',
  'Amy',
  'Chris',
  'Dave',
];
/** Onsets tried by the "swap a syllable onset" edit. */
const ONSETS = [
  'b',
  'd',
  'g',
  'k',
  'm',
  'n',
  'p',
  's',
  't',
  'l',
  'r',
  'w',
  'h',
  'f',
  'v',
  'dZ',
  'tS',
  'S',
  'j',
];

export interface ConfusableOptions {
  /** Nonce candidates to keep (40). */
  nonce?: number;
  /** Real-word candidates to keep (20). */
  realWords?: number;
  /** Shared-prefix phrases with names (10). */
  prefixPhrases?: number;
  /**
   * Sentence openings (30; docs/engine.md): for a phrase of several words, training sentences that start with its first
   * word; for one word, training sentences whose first one to three words begin like it ("nobody said that" for
   * "snowboy").
   */
  sentenceOpenings?: number;
  /**
   * Directory for the phonemised lexicon, sentence heads and openings (computed once per installation; in memory only
   * when absent).
   */
  cacheDir?: string;
  /** The wake word's phonemes when the user corrected its pronunciation (default: espeak-ng's reading of the text). */
  wakePhonemes?: string;
  /**
   * Language of the wake word (default English, docs/languages.md): its phonemes, lexicon, sentence openings and names
   * are that language's, and nonce edits keep to the phonemes its lexicon uses.
   */
  language?: string;
}

/** undefined for English (the original code paths), else the normalised language code. */
function otherLanguage(language?: string): string | undefined {
  const l = language ? normalizeLanguage(language) : DEFAULT_LANGUAGE;
  return l === DEFAULT_LANGUAGE ? undefined : l;
}

export interface Confusables {
  /** The wake word's phonemes (Kirshenbaum). */
  wakePhonemes: string;
  /** Nonce candidates as phoneme strings (render with `[[…]]` phoneme input), closest first. */
  nonce: string[];
  /** Real words and two-word phrases (text, any provider), closest first. */
  realWords: string[];
  /** Phonemes of each real-word candidate, same order. */
  realWordPhonemes: string[];
  /** Partial wake word as phoneme strings (first/last word; or leading/trailing ≈ 60 % for one word). */
  partials: string[];
  /** Text form of partials when they are whole words (multi-word phrases), else empty. */
  partialTexts: string[];
  /**
   * Shared-prefix phrases (text), e.g. "hey Anna" or "hey we ran out" for "hey viola", "nobody said that my" for
   * "snowboy".
   */
  prefixPhrases: string[];
  /**
   * The prefix phrases whose beginning is within `CUT_OPENING_DISTANCE` of a one-word wake word ("nobody said that my"
   * for "snowboy"): trained on cut short too, as a streaming detector hears them before the sentence goes on.
   */
  cutPrefixPhrases: string[];
}

/**
 * Largest distance per wake-word phoneme of an opening's closest beginning at which the opening is also trained on
 * cut short (docs/engine.md, "Openings cut short").
 */
export const CUT_OPENING_DISTANCE = 0.45;

/** True when a candidate must not be a negative: same phonemes as the wake word, or containing them (§6.4 step 3). */
export function isExcludedCandidate(candidatePhonemes: string, wakePhonemes: string): boolean {
  const c = normalizePhonemes(candidatePhonemes);
  const w = normalizePhonemes(wakePhonemes);
  return c === w || c.includes(w);
}

/** Single-edit (and for ≥ 6 phonemes, two-edit) phoneme candidates of a unit sequence. */
export function phonemeEdits(units: Unit[], inventory?: ReadonlySet<string>): Unit[][] {
  const known = (ph: string) => !inventory || inventory.has(ph);
  const idx = units.map((u, i) => (u.ph === ' ' ? -1 : i)).filter((i) => i >= 0);
  const out: Unit[][] = [];
  const single = (base: Unit[]): Unit[][] => {
    const res: Unit[][] = [];
    for (let k = 0; k < base.length; k++) {
      const u = base[k] as Unit;
      if (u.ph === ' ') continue;
      for (const near of nearPhonemes(u.ph))
        if (known(near))
          res.push([...base.slice(0, k), { ph: near, stress: u.stress }, ...base.slice(k + 1)]);
      // deletion (keep at least two phonemes)
      if (base.filter((x) => x.ph !== ' ').length > 2) res.push([...base.slice(0, k), ...base.slice(k + 1)]);
      // schwa insertion between two consonants
      const next = base[k + 1];
      if (next && next.ph !== ' ' && !isVowel(u.ph) && !isVowel(next.ph))
        res.push([...base.slice(0, k + 1), { ph: '@', stress: 0 }, ...base.slice(k + 1)]);
      // onset swap: a consonant right before a stressed vowel, or starting a word before a vowel
      const prev = base[k - 1];
      if (!isVowel(u.ph) && next && isVowel(next.ph) && (next.stress > 0 || !prev || prev.ph === ' '))
        for (const o of ONSETS)
          if (o !== u.ph && known(o))
            res.push([...base.slice(0, k), { ph: o, stress: 0 }, ...base.slice(k + 1)]);
    }
    return res;
  };
  const first = single(units);
  out.push(...first);
  if (idx.length >= 6) {
    // two-edit candidates: near substitutions applied to single-edit substitutions
    for (const c of first) {
      if (c.length !== units.length) continue;
      for (let k = 0; k < c.length; k++) {
        const u = c[k] as Unit;
        if (u.ph === ' ' || u.ph !== (units[k] as Unit).ph) continue;
        for (const near of nearPhonemes(u.ph))
          if (known(near)) out.push([...c.slice(0, k), { ph: near, stress: u.stress }, ...c.slice(k + 1)]);
      }
    }
  }
  return out;
}

const phonemeFiles = new Map<string, Promise<Record<string, string>>>();

/**
 * `texts` phonemised, as a text → phonemes record, computed once per installation: kept in memory and, when
 * `cacheDir` is given, in `cacheDir/<name>-<hash of the texts>.json`.
 */
function cachedPhonemes(
  name: string,
  texts: string[],
  cacheDir?: string,
  language?: string,
): Promise<Record<string, string>> {
  // another language's files are named after it: the same texts read in two languages are two phoneme sets
  if (language) name = `${name}-${language}`;
  const hash = createHash('sha256').update(texts.join('\n')).digest('hex').slice(0, 16);
  const file = cacheDir ? join(cacheDir, `${name}-${hash}.json`) : null;
  const key = file ?? `${name}-${hash}`;
  let pending = phonemeFiles.get(key);
  if (!pending) {
    pending = (async () => {
      if (file) {
        try {
          return JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
        } catch {}
      }
      const ph = await phonemizeMany(texts, language);
      const out = Object.fromEntries(texts.map((w, i) => [w, ph[i] as string]));
      if (file) {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(`${file}.${process.pid}.tmp`, JSON.stringify(out));
        await rename(`${file}.${process.pid}.tmp`, file);
      }
      return out;
    })();
    phonemeFiles.set(key, pending);
    pending.catch(() => phonemeFiles.delete(key));
  }
  return pending;
}

/** The lexicon built from each phonemised vocabulary, so that every job does not join the word pairs again. */
const lexicons = new WeakMap<Record<string, string>, Array<{ text: string; phonemes: string }>>();

/**
 * Lexicon for real-word confusables: the sentence list's vocabulary and its adjacent word pairs, phonemised once
 * (cached in `cacheDir/lexicon-<hash>.json` when given).
 */
export async function loadLexicon(
  cacheDir?: string,
  language?: string,
): Promise<Array<{ text: string; phonemes: string }>> {
  const lang = otherLanguage(language);
  const words = await lexiconWords(cacheDir, lang);
  let lexicon = lexicons.get(words);
  if (!lexicon) {
    lexicon = withWordPairs(words, lang);
    lexicons.set(words, lexicon);
  }
  return lexicon;
}

/** The sentence list's vocabulary, phonemised (once per installation). */
function lexiconWords(cacheDir?: string, language?: string): Promise<Record<string, string>> {
  return cachedPhonemes('lexicon', sentenceVocabulary(language), cacheDir, language);
}

/** Phonemes the language's lexicon uses (nonce edits of another language than English keep to these). */
async function phonemeInventory(cacheDir: string | undefined, language: string): Promise<Set<string>> {
  const inv = new Set<string>();
  for (const p of Object.values(await lexiconWords(cacheDir, language)))
    for (const u of parsePhonemes(p)) if (u.ph !== ' ') inv.add(u.ph);
  return inv;
}

function withWordPairs(
  words: Record<string, string>,
  language?: string,
): Array<{ text: string; phonemes: string }> {
  const entries = new Map<string, string>();
  for (const [w, p] of Object.entries(words)) entries.set(w, p);
  const { train, eval: ev } = loadSentences(language);
  for (const s of [...train, ...ev]) {
    const ws = sentenceWords(s, language);
    for (let i = 0; i + 1 < ws.length; i++) {
      const pair = `${ws[i]} ${ws[i + 1]}`;
      if (!entries.has(pair))
        entries.set(pair, `${words[ws[i] as string] ?? ''} ${words[ws[i + 1] as string] ?? ''}`.trim());
    }
  }
  return [...entries].map(([text, phonemes]) => ({ text, phonemes }));
}

function splitUnits(u: Unit[]): Unit[][] {
  const words: Unit[][] = [[]];
  for (const x of u) {
    if (x.ph === ' ') words.push([]);
    else (words[words.length - 1] as Unit[]).push(x);
  }
  return words.filter((w) => w.length > 0);
}

/** Phonemes without word breaks and stress. */
function stripStress(u: Unit[]): Unit[] {
  return u.filter((x) => x.ph !== ' ').map((x) => ({ ph: x.ph, stress: 0 as const }));
}

/**
 * Openings (first four words) of training sentences whose first one, two or three words begin like a one-word wake
 * word: each head is ranked by the phoneme distance per wake-word phoneme of its closest beginning n − 1 … n + 1
 * phonemes long (n = the wake word's phonemes, stress ignored), each opening by its closest head. A streaming detector
 * scores "nobo…" of a sentence-initial "Nobody" before the rest arrives, after the silence that also precedes the wake
 * word (docs/engine.md). Evaluation sentences are never used.
 */
async function oneWordOpenings(
  wake: Unit[],
  excluded: (phonemes: string) => boolean,
  count: number,
  cacheDir?: string,
  language?: string,
): Promise<Array<{ opening: string; distance: number }>> {
  if (count <= 0) return [];
  const sentences = loadSentences(language)
    .train.map((s) => sentenceWords(s, language))
    .filter((w) => w.length > 3);
  const headsOf = (w: string[]) => [1, 2, 3].map((k) => w.slice(0, k).join(' '));
  const heads = [...new Set(sentences.flatMap(headsOf))].sort();
  // another language's generated sentences rarely share a head, so a head's phonemes are its words' phonemes joined
  // (English heads are phonemised as they are)
  const phonemes = language
    ? await lexiconWords(cacheDir, language).then((w) =>
        Object.fromEntries(
          heads.map((h) => [
            h,
            h
              .split(' ')
              .map((x) => w[x] ?? '')
              .join(' '),
          ]),
        ),
      )
    : await cachedPhonemes('sentence-heads', heads, cacheDir);
  const n = wake.length;
  const headDistance = new Map<string, number>();
  heads.forEach((head) => {
    const p = phonemes[head];
    if (!p || excluded(p)) return;
    const u = stripStress(parsePhonemes(p));
    let best = Infinity;
    for (let k = n - 1; k <= Math.min(u.length, n + 1); k++)
      best = Math.min(best, phonemeDistance(u.slice(0, k), wake) / n);
    headDistance.set(head, best);
  });
  const ranked = new Map<string, number>();
  for (const w of sentences) {
    const opening = w.slice(0, 4).join(' ');
    const d = Math.min(...headsOf(w).map((head) => headDistance.get(head) ?? Infinity));
    if (Number.isFinite(d) && d < (ranked.get(opening) ?? Infinity)) ranked.set(opening, d);
  }
  return [...ranked]
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, count)
    .map(([opening, distance]) => ({ opening, distance }));
}

/**
 * Word-specific negatives from phonemes (docs/engine.md §6.4): nonce edits of the wake word's phonemes, real words and
 * two-word phrases from the lexicon ranked by stress-aware distance, partials and shared-prefix phrases. Homophones
 * (same phonemes without stress) and candidates containing the wake word's phonemes are excluded everywhere.
 */
export async function confusables(wakeWord: string, opts: ConfusableOptions = {}): Promise<Confusables> {
  const lang = otherLanguage(opts.language);
  const wakePh = opts.wakePhonemes ?? (await phonemize(wakeWord, lang));
  const inventory = lang ? await phonemeInventory(opts.cacheDir, lang) : undefined;
  const wake = parsePhonemes(wakePh);
  const wakeWords = splitUnits(wake);
  const textWords = wakeWord.trim().toLowerCase().split(/\s+/);
  const excluded = (p: string) => isExcludedCandidate(p, wakePh);
  const wakeFlat = stripStress(wake);

  // nonce candidates
  const seen = new Set<string>([normalizePhonemes(wakePh)]);
  const nonce: Array<{ p: string; d: number }> = [];
  for (const c of phonemeEdits(wake, inventory)) {
    const p = renderPhonemes(c);
    const norm = normalizePhonemes(p);
    if (seen.has(norm) || excluded(p)) continue;
    seen.add(norm);
    nonce.push({ p, d: phonemeDistance(c, wake) });
  }
  nonce.sort((a, b) => a.d - b.d || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0));

  // real words and pairs
  const lexicon = await loadLexicon(opts.cacheDir, lang);
  // the whole phrase, and each of its words that is long enough (≥ 4 phonemes) not to match every short word
  const targets = [
    wakeFlat,
    ...(wakeWords.length > 1 ? wakeWords.map(stripStress).filter((w) => w.length >= 4) : []),
  ];
  const real: Array<{ text: string; p: string; d: number }> = [];
  const realSeen = new Set<string>();
  const wakeText = textWords.join(' ');
  for (const e of lexicon) {
    if (!e.phonemes || e.text === wakeText || textWords.includes(e.text)) continue;
    const norm = normalizePhonemes(e.phonemes);
    if (realSeen.has(norm) || seen.has(norm) || excluded(e.phonemes)) continue;
    const u = stripStress(parsePhonemes(e.phonemes));
    // quick length filter: far longer or shorter entries cannot be close
    let d = Infinity;
    for (const t of targets)
      if (Math.abs(u.length - t.length) <= 3)
        d = Math.min(d, phonemeDistance(u, t) / Math.max(u.length, t.length));
    if (!Number.isFinite(d)) continue;
    realSeen.add(norm);
    real.push({ text: e.text, p: e.phonemes, d });
  }
  real.sort((a, b) => a.d - b.d || (a.text < b.text ? -1 : 1));
  const realTop = real.slice(0, opts.realWords ?? 20);

  // partials
  const partials: string[] = [];
  const partialTexts: string[] = [];
  if (wakeWords.length > 1) {
    for (const [w, t] of [
      [wakeWords[0], textWords[0]],
      [wakeWords[wakeWords.length - 1], textWords[textWords.length - 1]],
    ] as Array<[Unit[], string]>) {
      const p = renderPhonemes(w);
      if (!excluded(p) && !partials.includes(p)) {
        partials.push(p);
        partialTexts.push(t);
      }
    }
  } else {
    const n = wakeFlat.length;
    const k = Math.max(1, Math.round(0.6 * n));
    for (const part of [wake.slice(0, k), wake.slice(n - k)]) {
      const p = renderPhonemes(part);
      if (!excluded(p) && !partials.includes(p)) partials.push(p);
    }
  }

  // shared-prefix phrases: the first word followed by the names, and by the openings of training sentences that start
  // with it ("hey, we ran out"), that sound closest to the rest of the phrase; for one word, openings of training
  // sentences that begin like it
  const prefixPhrases: string[] = [];
  const cutPrefixPhrases: string[] = [];
  if (wakeWords.length > 1) {
    const first = textWords[0] as string;
    const firstPh = renderPhonemes(wakeWords[0] as Unit[]);
    const rest = stripStress(wakeWords.slice(1).flat());
    const closest = async (name: string, texts: string[], n: number) => {
      const ph = await cachedPhonemes(name, texts, opts.cacheDir, lang);
      return texts
        .map((text) => ({ text, p: ph[text] as string }))
        .filter((x) => !excluded(`${firstPh} ${x.p}`))
        .map((x) => ({ ...x, d: phonemeDistance(stripStress(parsePhonemes(x.p)), rest) }))
        .sort((a, b) => a.d - b.d || (a.text < b.text ? -1 : 1))
        .slice(0, n)
        .map((x) => `${first} ${x.text}`);
    };
    const names = (lang ? languageInfo(lang).names : COMMON_NAMES).filter(
      (name) => !textWords.includes(name.toLowerCase()),
    );
    prefixPhrases.push(...(await closest('names', names, opts.prefixPhrases ?? 10)));
    const openings = new Set(
      loadSentences(lang)
        .train.map((s) => sentenceWords(s, lang))
        .filter((w) => w.length > 3 && w[0] === first)
        .map((w) => w.slice(1, 4).join(' ')),
    );
    prefixPhrases.push(...(await closest('openings', [...openings].sort(), opts.sentenceOpenings ?? 30)));
  } else {
    for (const { opening, distance } of await oneWordOpenings(
      wakeFlat,
      excluded,
      opts.sentenceOpenings ?? 30,
      opts.cacheDir,
      lang,
    )) {
      prefixPhrases.push(opening);
      if (distance <= CUT_OPENING_DISTANCE) cutPrefixPhrases.push(opening);
    }
  }

  return {
    wakePhonemes: wakePh,
    nonce: nonce.slice(0, opts.nonce ?? 40).map((x) => x.p),
    realWords: realTop.map((x) => x.text),
    realWordPhonemes: realTop.map((x) => x.p),
    partials,
    partialTexts,
    prefixPhrases,
    cutPrefixPhrases,
  };
}
