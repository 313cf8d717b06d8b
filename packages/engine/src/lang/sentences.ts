/**
 * Sentences for the negatives of a language other than English (docs/languages.md): generated at run time, the same
 * every time, from two npm word lists that install offline —
 *
 * - the language's function words (articles, pronouns, prepositions, auxiliaries: `stopwords-iso`, MIT), which are
 *   the most frequent words of ordinary speech;
 * - content words from the language's Hunspell dictionary (`dictionary-<code>`, the dictionary's stems).
 *
 * A sentence is 4–10 words mixing the two (never more than two function words in a row), capitalised, ending in "."
 * or "?". They are not grammatical sentences but they have the language's words, sounds, syllable patterns and rhythm
 * of function and content words, which is what the negative bank needs: ordinary speech in that language that is not
 * the wake word. Nothing generated is stored in the repository (the dictionaries' licences stay with them).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng } from '../rng.ts';
import { languageInfo } from './languages.ts';

/** Bump when the generator's output for the same word lists changes. */
export const LANGUAGE_SENTENCES_VERSION = 1;
/** Distinct sentences per language. */
export const LANGUAGE_SENTENCE_COUNT = 6000;
/** Content words drawn from the dictionary (a deterministic sample of its words of 3–9 letters; keeps the phonemised lexicon small). */
export const CONTENT_WORDS = 2500;

const require = createRequire(import.meta.url);

/** A word list a language needs is not installed. */
export class LanguageDataError extends Error {
  override name = 'LanguageDataError';
}

/** Whether the npm word lists of `code` are installed (always true for English, which ships its sentences). */
export function languageDataInstalled(code: string): boolean {
  const info = languageInfo(code);
  if (!info.dictionary) return true;
  try {
    require.resolve('stopwords-iso');
    require.resolve(info.dictionary);
    return true;
  } catch {
    return false;
  }
}

/** Whole words in the language's own script (the stop word lists hold a few Latin look-alikes in Cyrillic lists). */
function scriptOf(code: string): RegExp {
  switch (languageInfo(code).scripts[0]) {
    case 'Cyrillic':
      return /^[\p{Script=Cyrillic}\p{M}]+$/u;
    case 'Greek':
      return /^[\p{Script=Greek}\p{M}]+$/u;
    default:
      return /^[\p{Script=Latin}\p{M}]+$/u;
  }
}

/** The language's function words (lower case, letters of its script only), sorted. */
export function functionWords(code: string): string[] {
  let all: Record<string, string[]>;
  try {
    all = require('stopwords-iso') as Record<string, string[]>;
  } catch {
    throw new LanguageDataError('The npm package stopwords-iso is not installed.');
  }
  const list = all[code] ?? [];
  const words = new Set<string>();
  for (const w of list) {
    const x = w.normalize('NFC').toLowerCase().trim();
    if (x.length >= 1 && x.length <= 12 && scriptOf(code).test(x)) words.add(x);
  }
  return [...words].sort();
}

/** Stems of the language's Hunspell dictionary that look like ordinary words (no abbreviations, names or digits). */
export function dictionaryWords(code: string): string[] {
  const info = languageInfo(code);
  if (!info.dictionary) return [];
  let dir: string;
  try {
    dir = dirname(require.resolve(info.dictionary));
  } catch {
    throw new LanguageDataError(`The npm package ${info.dictionary} is not installed.`);
  }
  const text = readFileSync(join(dir, 'index.dic'), 'utf8');
  const words = new Set<string>();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const w =
      (lines[i] as string)
        .split(/[/\t ]/)[0]
        ?.normalize('NFC')
        .trim() ?? '';
    if (w.length < 3 || w.length > 12 || !scriptOf(code).test(w)) continue;
    // German writes nouns with a capital: keep Capitalised words there, lower-case words elsewhere (proper names out)
    const lower = w.toLowerCase();
    if (w !== lower) {
      if (code !== 'de' || w.slice(1) !== lower.slice(1)) continue;
    }
    words.add(code === 'de' ? w : lower);
  }
  return [...words].sort();
}

const cache = new Map<string, { train: string[]; eval: string[]; hash: string }>();

/** True for the ≈ 20 % of sentences reserved for evaluation streams (the same rule as the English list). */
function isEval(line: string): boolean {
  return createHash('sha256').update(line).digest().readUInt32BE(0) / 4294967296 < 0.2;
}

/** Generates the language's sentences (deterministic). */
export function generateSentences(code: string, count = LANGUAGE_SENTENCE_COUNT): string[] {
  const fn = functionWords(code);
  const all = dictionaryWords(code);
  if (fn.length < 20 || all.length < 200)
    throw new LanguageDataError(`Not enough words for ${languageInfo(code).name} sentences.`);
  const rng = new Rng(0x5e17e9ce);
  // a fixed sample of content words; frequent words are short (Zipf), so at most 9 letters
  const pool = all.filter((w) => w.length <= 9);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.nextUint32() % (i + 1);
    [pool[i], pool[j]] = [pool[j] as string, pool[i] as string];
  }
  const content = pool.slice(0, CONTENT_WORDS);
  const pick = (list: string[]) => list[rng.nextUint32() % list.length] as string;
  const out = new Set<string>();
  let tries = 0;
  while (out.size < count && tries++ < count * 20) {
    const len = 4 + (rng.nextUint32() % 7);
    const words: string[] = [];
    let fnRun = 0;
    for (let i = 0; i < len; i++) {
      const useFn = fnRun < 2 && (i === 0 ? rng.nextUint32() % 10 < 6 : rng.nextUint32() % 2 === 0);
      words.push(useFn ? pick(fn) : pick(content));
      fnRun = useFn ? fnRun + 1 : 0;
    }
    const first = words[0] as string;
    words[0] = first.charAt(0).toLocaleUpperCase(code) + first.slice(1);
    out.add(`${words.join(' ')}${rng.nextUint32() % 5 === 0 ? '?' : '.'}`);
  }
  return [...out];
}

/** The language's sentences split into training and evaluation sentences, with the SHA-256 of the list. */
export function languageSentences(code: string): { train: string[]; eval: string[]; hash: string } {
  let c = cache.get(code);
  if (!c) {
    const lines = generateSentences(code);
    c = {
      train: lines.filter((l) => !isEval(l)),
      eval: lines.filter(isEval),
      hash: createHash('sha256')
        .update(`violawake.sentences.${code}.v${LANGUAGE_SENTENCES_VERSION}\n${lines.join('\n')}`)
        .digest('hex'),
    };
    cache.set(code, c);
  }
  return c;
}
