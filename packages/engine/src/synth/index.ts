import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rand, type RandomSource } from '../audio/random.ts';
import { readWav, to16k, writeWav16 } from '../audio/wav.ts';
import { languageInfo } from '../lang/languages.ts';
import { EspeakProvider } from './espeak.ts';
import { FestivalProvider } from './festival.ts';
import { FliteProvider } from './flite.ts';
import { PiperProvider } from './piper.ts';
import { ResamplePool } from './resample-pool.ts';
import { type SpeechProvider, SynthesisError, type SynthRequest, type Voice } from './types.ts';

export { buildSsml, ESPEAK_ACCENTS, ESPEAK_VARIANTS, EspeakProvider, LANGUAGE_VARIANTS } from './espeak.ts';
export { FestivalProvider } from './festival.ts';
export { FliteProvider } from './flite.ts';
export { PiperProvider, piperPhonemeIds } from './piper.ts';
export { ResamplePool } from './resample-pool.ts';
export { splitOnSilence, trimSilence } from './split.ts';
export * from './types.ts';

/** Bump when synthesis output for the same request changes (invalidates the cache). */
export const SYNTH_CACHE_VERSION = 2;

export interface DiscoverOptions {
  /** Piper voices directory (default: `VIOLAWAKE_PIPER_VOICES_DIR`). */
  piperDir?: string;
  /** Use only these provider ids (`espeak`, `espeak-wasm`, `flite`, `festival`, `piper`). */
  only?: string[];
  /** Child processes per provider (default 2). */
  poolSize?: number;
}

/**
 * Providers that are available on this machine. The system espeak-ng is preferred; the npm WebAssembly build is used
 * only when there is no system binary (both give the same voices, so listing both would duplicate voices across the
 * train/eval split) or when asked for explicitly with `only`.
 */
export async function discoverProviders(opts: DiscoverOptions = {}): Promise<SpeechProvider[]> {
  const want = (id: string) => !opts.only || opts.only.includes(id);
  const out: SpeechProvider[] = [];
  const sys = new EspeakProvider('espeak', opts.poolSize ?? 2);
  const wasm = new EspeakProvider('espeak-wasm', opts.poolSize ?? 2);
  const sysOk = await sys.available();
  let espeak: EspeakProvider | null = null;
  if (want('espeak') && sysOk) {
    espeak = sys;
    out.push(sys);
  }
  if (want('espeak-wasm') && (opts.only ? true : !sysOk) && (await wasm.available())) {
    out.push(wasm);
    espeak ??= wasm;
  }
  for (const p of [new FliteProvider(), new FestivalProvider()])
    if (want(p.id) && (await p.available())) out.push(p);
  if (want('piper')) {
    const phon = espeak ?? (sysOk ? sys : (await wasm.available()) ? wasm : null);
    const piper = new PiperProvider(opts.piperDir ?? process.env.VIOLAWAKE_PIPER_VOICES_DIR, phon);
    if (await piper.available()) out.push(piper);
  }
  return out;
}

/** Every provider's voices of `language` (default English). */
export async function listVoices(providers: SpeechProvider[], language?: string): Promise<Voice[]> {
  const all: Voice[] = [];
  for (const p of providers)
    all.push(...(await (language && language !== 'en' ? p.voices(language) : p.voices())));
  return all;
}

export function disposeProviders(providers: SpeechProvider[]): void {
  for (const p of providers) p.dispose?.();
}

/** Uniform [0,1) from SHA-256 of the text. */
function hashUnit(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 4294967296;
}

/**
 * Deterministic ≈ 80/20 train/eval split (docs/engine.md §6.3), made within each provider so that every synthesizer with two or more
 * voice groups has voices on both sides (training that never hears flite, say, generalises worse to flite and to
 * people). Voices are grouped (whole espeak accents, a Piper model's speakers); a provider's groups are ordered by
 * SHA-256 of (installation seed, group id) and moved to eval in that order until eval holds ≈ `evalFraction` of the
 * provider's voices, keeping at least one group in train. A provider with a single group trains; when no provider has
 * two groups, the group first in hash order evaluates, so both sides are non-empty whenever there are two groups.
 * `exclude` (voice ids, e.g. the benchmark's reserved voices) removes voices AFTER splitting the whole inventory, so
 * the split of the remaining voices is the same as the bank's (pass the full inventory, not a pre-filtered one).
 */
export function splitVoices(
  voices: Voice[],
  installationSeed: number,
  evalFraction = 0.2,
  opts: { exclude?: Iterable<string> } = {},
): { train: Voice[]; eval: Voice[] } {
  const groupOf = (v: Voice) => v.group ?? v.id;
  // one SHA-256 per group, not one per comparison
  const hash = new Map<string, number>();
  for (const v of voices) {
    const g = groupOf(v);
    if (!hash.has(g)) hash.set(g, hashUnit(`violawake-voice-split:${installationSeed}:${g}`));
  }
  const byHash = (a: string, b: string) =>
    (hash.get(a) as number) - (hash.get(b) as number) || (a < b ? -1 : 1);
  const evalGroups = new Set<string>();
  const allGroups = new Set<string>();
  for (const provider of [...new Set(voices.map((v) => v.provider))].sort()) {
    const size = new Map<string, number>();
    for (const v of voices)
      if (v.provider === provider) size.set(groupOf(v), (size.get(groupOf(v)) ?? 0) + 1);
    const ordered = [...size.keys()].sort(byHash);
    for (const g of ordered) allGroups.add(g);
    const target = evalFraction * [...size.values()].reduce((a, b) => a + b, 0);
    let count = 0;
    let taken = 0;
    for (const g of ordered) {
      if (count >= target || taken >= ordered.length - 1) break;
      const n = size.get(g) as number;
      // skip a group that would overshoot the target by more than half of it, unless nothing is in eval yet
      if (count > 0 && count + n > target * 1.5) continue;
      evalGroups.add(g);
      taken++;
      count += n;
    }
  }
  if (evalGroups.size === 0 && allGroups.size >= 2) evalGroups.add([...allGroups].sort(byHash)[0] as string);
  const excluded = new Set(opts.exclude ?? []);
  return {
    train: voices.filter((v) => !evalGroups.has(groupOf(v)) && !excluded.has(v.id)),
    eval: voices.filter((v) => evalGroups.has(groupOf(v)) && !excluded.has(v.id)),
  };
}

let phonemizer: Promise<EspeakProvider | null> | null = null;

function defaultPhonemizer(): Promise<EspeakProvider | null> {
  if (!phonemizer) {
    phonemizer = (async () => {
      for (const id of ['espeak', 'espeak-wasm'] as const) {
        const p = new EspeakProvider(id, 1);
        if (await p.available()) return p;
      }
      return null;
    })();
  }
  return phonemizer;
}

const phonemeCache = new Map<string, Promise<string>>();

/** espeak-ng voice that phonemises `language` (undefined for English: the en-us default). */
function phonemeVoice(language?: string): string | undefined {
  return typeof language === 'string' && language && language !== 'en'
    ? languageInfo(language).espeakVoice
    : undefined;
}

/**
 * Kirshenbaum phonemes of `text` (espeak-ng `-x`; en-us, or the voice of `language`), words separated by single
 * spaces.
 */
export function phonemize(text: string, language?: string): Promise<string> {
  const voice = phonemeVoice(language);
  const key = voice ? `${voice}\u0000${text}` : text;
  let p = phonemeCache.get(key);
  if (!p) {
    p = (async () => {
      const e = await defaultPhonemizer();
      if (!e)
        throw new SynthesisError('espeak-ng is not available for phonemisation', {
          produced: 0,
          requested: 1,
          voices: 0,
        });
      return e.phonemes(text, voice);
    })();
    phonemeCache.set(key, p);
    p.catch(() => phonemeCache.delete(key));
  }
  return p;
}

/** Phonemises many texts in one espeak call per ≤ 200 texts (one line each). */
export async function phonemizeMany(texts: string[], language?: string): Promise<string[]> {
  const voice = phonemeVoice(language);
  const e = await defaultPhonemizer();
  if (!e)
    throw new SynthesisError('espeak-ng is not available for phonemisation', {
      produced: 0,
      requested: texts.length,
      voices: 0,
    });
  const out: string[] = [];
  for (let i = 0; i < texts.length; i += 200) {
    const chunk = texts.slice(i, i + 200);
    // one text per line, each ending a sentence, so espeak prints one phoneme line per text
    const lines = await e.phonemeLines(chunk, voice);
    if (lines.length === chunk.length) out.push(...lines);
    else for (const t of chunk) out.push(await phonemize(t, language));
  }
  return out;
}

/** Phrase variants of a wake word (§6.3): as typed; comma between words; "?" and "!" endings; lower-case. */
export function phraseVariants(wakeWord: string): string[] {
  const base = wakeWord.trim().replace(/\s+/g, ' ');
  const words = base.split(' ');
  const out = [base];
  if (words.length > 1) out.push(words.join(', '));
  out.push(`${base}?`, `${base}!`, base.toLowerCase());
  return [...new Set(out)];
}

/** Per-utterance prosody (§6.3): rate 0.85–1.2, pitch ±15 %. */
export function randomProsody(rng: RandomSource): { rate: number; pitch: number } {
  const r = new Rand(rng);
  return { rate: r.uniform(0.85, 1.2), pitch: r.uniform(0.85, 1.15) };
}

export function cacheKey(req: SynthRequest): string {
  const body = JSON.stringify([
    SYNTH_CACHE_VERSION,
    req.voice,
    req.text ?? null,
    req.phonemes ?? null,
    Math.round(req.rate * 1e4) / 1e4,
    Math.round(req.pitch * 1e4) / 1e4,
  ]);
  return createHash('sha256').update(body).digest('hex');
}

export interface SynthesizeManyOptions {
  /** Cache directory (16 kHz 16-bit WAVs keyed by provider, voice, text or phonemes, prosody). */
  cacheDir?: string;
  /** Parallel processes per provider (default 2). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /**
   * Worker threads for resampling to 16 kHz (default 2, or `VIOLAWAKE_RESAMPLE_THREADS`; 0 = main thread). The
   * result is identical either way.
   */
  resampleThreads?: number;
}

let sharedPool: ResamplePool | null = null;
function resamplePool(threads: number): ResamplePool | null {
  if (threads <= 0) return null;
  if (!sharedPool) sharedPool = new ResamplePool(threads);
  return sharedPool;
}

export interface SynthStats {
  requested: number;
  produced: number;
  cached: number;
  failed: number;
  byProvider: Record<string, { requested: number; produced: number }>;
}

/** Statistics of the last `synthesizeMany` call in this process (diagnostics). */
export let lastSynthStats: SynthStats | null = null;

/** Quantises to the int16 grid so cached and fresh results are identical. */
function quantize(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round((x[i] as number) * 32768) | 0; // | 0 also turns −0 into 0
    out[i] = (v > 32767 ? 32767 : Math.max(v, -32768)) / 32768;
  }
  return out;
}

/**
 * Synthesises every request with the provider owning its voice (`<provider>:…`), resampled to 16 kHz, on the int16
 * grid, in request order; null where synthesis failed or the voice's provider is not given. Cached per request.
 */
export async function synthesizeMany(
  providers: SpeechProvider[],
  reqs: SynthRequest[],
  opts: SynthesizeManyOptions = {},
): Promise<Array<Float32Array | null>> {
  const out = new Array<Float32Array | null>(reqs.length).fill(null);
  const stats: SynthStats = { requested: reqs.length, produced: 0, cached: 0, failed: 0, byProvider: {} };
  let done = 0;
  const tick = (n: number) => {
    done += n;
    opts.onProgress?.(done, reqs.length);
  };
  const keys = opts.cacheDir ? reqs.map(cacheKey) : [];
  const todo: number[] = [];
  for (let i = 0; i < reqs.length; i++) {
    if (opts.cacheDir) {
      try {
        const k = keys[i] as string;
        out[i] = readWav(
          new Uint8Array(await readFile(join(opts.cacheDir, k.slice(0, 2), `${k}.wav`))),
        ).samples;
        stats.cached++;
        continue;
      } catch {}
    }
    todo.push(i);
  }
  if (stats.cached) tick(stats.cached);
  const threads = opts.resampleThreads ?? Number(process.env.VIOLAWAKE_RESAMPLE_THREADS ?? 2);
  const pool = todo.length >= 20 ? resamplePool(threads) : null;
  const byProvider = new Map<string, number[]>();
  for (const i of todo) {
    const pid = (reqs[i] as SynthRequest).voice.split(':')[0] as string;
    const l = byProvider.get(pid) ?? [];
    l.push(i);
    byProvider.set(pid, l);
  }
  await Promise.all(
    [...byProvider].map(async ([pid, idx]) => {
      const p = providers.find((x) => x.id === pid);
      const st = { requested: idx.length, produced: 0 };
      stats.byProvider[pid] = st;
      if (!p) {
        tick(idx.length);
        return;
      }
      // progress in slices so long jobs report as they go; resampling of one slice overlaps synthesis of the next
      const slice = 80;
      const pending: Array<Promise<void>> = [];
      for (let s = 0; s < idx.length; s += slice) {
        opts.signal?.throwIfAborted();
        const part = idx.slice(s, s + slice);
        const res = await p.synthesize(
          part.map((i) => reqs[i] as SynthRequest),
          { signal: opts.signal, concurrency: opts.concurrency ?? 2 },
        );
        pending.push(
          (async () => {
            await Promise.all(
              part.map(async (i, k) => {
                const a = res[k];
                if (!a || a.samples.length === 0) return;
                const x = quantize(
                  a.sampleRate === 16000
                    ? a.samples
                    : pool
                      ? await pool.resample(a.samples, a.sampleRate, 16000)
                      : to16k(a.samples, a.sampleRate),
                );
                out[i] = x;
                st.produced++;
                if (opts.cacheDir) {
                  const key = keys[i] as string;
                  const dir = join(opts.cacheDir, key.slice(0, 2));
                  await mkdir(dir, { recursive: true });
                  const tmp = join(dir, `${key}.${process.pid}.${i}.tmp`);
                  await writeFile(tmp, writeWav16(x, 16000));
                  await rename(tmp, join(dir, `${key}.wav`));
                }
              }),
            );
            tick(part.length);
          })(),
        );
      }
      await Promise.all(pending);
    }),
  );
  stats.produced = out.filter((x) => x !== null).length;
  stats.failed = reqs.length - stats.produced;
  lastSynthStats = stats;
  return out;
}

/**
 * Checks the §6.3 minimum: at least `minUtterances` (100) synthetic positives from at least `minVoices` (3)
 * distinct voices; throws `SynthesisError` (code `synthesis_unavailable`) otherwise.
 */
export function assertSynthesisCounts(
  reqs: SynthRequest[],
  results: Array<Float32Array | null>,
  opts: { minUtterances?: number; minVoices?: number } = {},
): { produced: number; voices: number } {
  const voices = new Set<string>();
  let produced = 0;
  results.forEach((r, i) => {
    if (r) {
      produced++;
      voices.add((reqs[i] as SynthRequest).voice);
    }
  });
  const minU = opts.minUtterances ?? 100;
  const minV = opts.minVoices ?? 3;
  if (produced < minU || voices.size < minV)
    throw new SynthesisError(
      `speech synthesis produced ${produced} of ${reqs.length} utterances from ${voices.size} voices (need ≥ ${minU} from ≥ ${minV} voices)`,
      { produced, requested: reqs.length, voices: voices.size },
    );
  return { produced, voices: voices.size };
}
