/**
 * Wake words in other languages than English (docs/languages.md): language codes, speakable characters, the
 * generated sentences, each language's voices, a negative bank built once per language and cached under its own key,
 * and one short text-only training in German end to end (small bank and synthesis volume, few epochs).
 *
 * The banks and caches live in `<os tmpdir>/violawake-test-engine-cache-languages` so that reruns are quick.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateManifest } from '../src/artifacts/manifest.ts';
import { ensureBank } from '../src/bank/build.ts';
import { bankRoot } from '../src/bank/store.ts';
import { EngineError } from '../src/eval/errors.ts';
import {
  assertSpeakable,
  LANGUAGE_CODES,
  LanguageError,
  normalizeLanguage,
  UnspeakableError,
  unspeakableCharacters,
} from '../src/lang/languages.ts';
import { generateSentences, LANGUAGE_SENTENCE_COUNT, languageDataInstalled } from '../src/lang/sentences.ts';
import { loadSentences, sentencesHash, sentenceWords } from '../src/negatives/sentences.ts';
import { type TrainResult, trainWakeWord } from '../src/pipeline/train.ts';
import {
  discoverProviders,
  disposeProviders,
  listVoices,
  phonemize,
  splitVoices,
} from '../src/synth/index.ts';

const dataDir = join(tmpdir(), 'violawake-test-engine-cache-languages');
const OTHER = ['de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'ru'];

describe('language codes and speakable characters', () => {
  it('normalises BCP-47 tags to the supported primary subtag and defaults to English', () => {
    expect(normalizeLanguage(undefined)).toBe('en');
    expect(normalizeLanguage('')).toBe('en');
    expect(normalizeLanguage('de-DE')).toBe('de');
    expect(normalizeLanguage('PT-br')).toBe('pt');
    expect(LANGUAGE_CODES).toEqual(['en', ...OTHER]);
  });

  it('refuses unknown codes with the list of supported ones', () => {
    for (const bad of ['xx', 'klingon', 'de_DE', '12', 'zh']) {
      const err = (() => {
        try {
          normalizeLanguage(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(LanguageError);
      expect((err as LanguageError).supported).toEqual([...LANGUAGE_CODES]);
      expect((err as Error).message).toContain('en, de, fr, es, it, pt, nl, pl, ru');
    }
  });

  it("names the letters a language's voices cannot speak", () => {
    expect(unspeakableCharacters('привет вера', 'ru')).toEqual([]);
    expect(unspeakableCharacters('ok вера', 'ru')).toEqual([]);
    expect(unspeakableCharacters('hallo straße', 'de')).toEqual([]);
    expect(unspeakableCharacters('zażółć', 'pl')).toEqual([]);
    expect(unspeakableCharacters('hallo вера', 'de')).toEqual(['в', 'е', 'р', 'а']);
    expect(unspeakableCharacters('hey 世界 2', 'en')).toEqual(['世', '界']);
    expect(unspeakableCharacters('γεια nova', 'fr')).toEqual(['γ', 'ε', 'ι', 'α']);
    expect(() => assertSpeakable('hola λ', 'es')).toThrow(UnspeakableError);
    expect(() => assertSpeakable('hola λ', 'es')).toThrow(/Spanish voices cannot speak: "λ"/);
  });
});

describe('generated sentences per language', () => {
  it.each(OTHER)('%s: thousands of distinct sentences in the language, the same every time', (code) => {
    expect(languageDataInstalled(code)).toBe(true);
    const a = generateSentences(code, 300);
    expect(generateSentences(code, 300)).toEqual(a);
    const { train, eval: ev } = loadSentences(code);
    expect(new Set([...train, ...ev]).size).toBe(LANGUAGE_SENTENCE_COUNT);
    expect(ev.length / LANGUAGE_SENTENCE_COUNT).toBeGreaterThan(0.15);
    expect(ev.length / LANGUAGE_SENTENCE_COUNT).toBeLessThan(0.25);
    expect(train.some((s) => ev.includes(s))).toBe(false);
    const script = code === 'ru' ? /^\p{Script=Cyrillic}+$/u : /^\p{Script=Latin}+$/u;
    for (const s of train.slice(0, 200)) for (const w of sentenceWords(s, code)) expect(w).toMatch(script);
    expect(sentencesHash(code)).not.toBe(sentencesHash('en'));
  });

  it('leaves English on its shipped sentence list', () => {
    expect(loadSentences('en')).toEqual(loadSentences());
    expect(sentencesHash('en')).toBe(sentencesHash());
  });
});

describe('voices and phonemes per language', () => {
  it("lists each language's espeak-ng voices only, with held-out variants", async () => {
    const providers = await discoverProviders();
    try {
      const en = await listVoices(providers);
      expect(await listVoices(providers, 'en')).toEqual(en);
      for (const code of OTHER) {
        const voices = await listVoices(providers, code);
        expect(voices.length, code).toBeGreaterThanOrEqual(10);
        for (const v of voices) {
          expect(v.provider).toMatch(/^espeak/);
          expect(v.language === code || v.language?.startsWith(`${code}-`), v.id).toBe(true);
        }
        const split = splitVoices(voices, 1);
        expect(split.train.length).toBeGreaterThan(0);
        expect(split.eval.length).toBeGreaterThan(0);
      }
    } finally {
      disposeProviders(providers);
    }
  });

  it("phonemises with the language's rules", async () => {
    expect(await phonemize('viola', 'de')).not.toBe(await phonemize('viola'));
    expect(await phonemize('привет', 'ru')).toMatch(/r/);
  });
});

describe('a German wake word end to end (small bank)', () => {
  let result: TrainResult;
  let first: Awaited<ReturnType<typeof ensureBank>>;
  beforeAll(async () => {
    first = await ensureBank({ dataDir, scale: 0.02, language: 'de' });
    result = await trainWakeWord({
      wakeWord: 'hallo viola',
      language: 'de',
      textOnly: true,
      dataDir,
      seed: 3,
      bankScale: 0.02,
      synthScale: 0.15,
      maxEpochs: 8,
      now: () => new Date('2026-12-07T15:00:00Z'),
    });
  }, 600_000);

  it('caches the German bank in its own folder under a key of its own', async () => {
    expect(first.dir.startsWith(bankRoot(dataDir, 'de'))).toBe(true);
    expect(bankRoot(dataDir, 'de')).not.toBe(bankRoot(dataDir));
    expect(first.index.language).toBe('de');
    for (const v of [...first.index.voices.train, ...first.index.voices.eval])
      expect(v).toMatch(/^espeak[^:]*:de/);
    const again = await ensureBank({ dataDir, scale: 0.02, language: 'de' });
    expect(again.built).toBe(false);
    expect(again.dir).toBe(first.dir);
  });

  it('trains from German voices and records the language in the manifest', () => {
    const m = result.manifest;
    expect(validateManifest(JSON.parse(JSON.stringify(m)))).toEqual([]);
    expect(m.language).toBe('de');
    expect(m.wake_word).toBe('hallo viola');
    expect(m.training.pronunciation?.phonemes).toMatch(/h'alo/);
    expect(m.evaluation?.voices.eval).toBeGreaterThan(0);
    expect(m.evaluation?.providers.every((p) => p.startsWith('espeak'))).toBe(true);
    expect(['A', 'B', 'C', 'D']).toContain(m.metrics.quality_grade);
  });

  it('refuses a wake word with letters German voices cannot speak, naming them', async () => {
    const err = await trainWakeWord({
      wakeWord: 'hallo вера',
      language: 'de',
      textOnly: true,
      dataDir,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).details).toEqual({ language: 'de', characters: ['в', 'е', 'р', 'а'] });
  });
});
