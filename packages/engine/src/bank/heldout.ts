/**
 * The held-out bank (docs/engine.md, "Honest metrics"): real recordings and a synthesis engine that training never
 * uses, embedded once per installation in `<dataDir>/engine/heldout/<key>/` (the negative bank's layout, store.ts).
 *
 * - Real speech and music: folders of WAV files (by default the Debian packages `asterisk-core-sounds-en-wav`, one
 *   professional English speaker, and `asterisk-moh-opsound-wav`, music on hold; CC-BY-SA 3.0). Speech files are
 *   assigned by a hash of their path: 50 % train, 25 % calibration, 25 % report; music by track (hash order): half
 *   the tracks train, the others alternate between calibration and report. Train files become 30 s blocks that join
 *   the bank's training windows; the others never train.
 * - The held-out engine's sentences (festival by default; none when it is not installed or its voices are
 *   excluded): reserved sentences in every voice of that engine, half calibration, half report. Jobs then train on
 *   the other engines only.
 *
 * The evaluation part is one stream: the calibration half, then the report half from `heldout.split_step` on. The
 * pipeline sets the threshold on the calibration halves (with a margin) and states FA/h on the report halves only.
 * Nothing is needed: with no folder and no held-out engine the bank is empty and jobs calibrate as before.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { noiseFloor } from '../audio/floor.ts';
import { Rand } from '../audio/random.ts';
import { readWavFile16k } from '../audio/wav.ts';
import { loadSentences, sentencesHash } from '../negatives/sentences.ts';
import { ExtractPool } from '../pipeline/extract.ts';
import { openRuntime } from '../pipeline/runtime.ts';
import { deriveRng } from '../rng.ts';
import { phonemizeMany, synthesizeMany } from '../synth/index.ts';
import type { SpeechProvider, SynthRequest, Voice } from '../synth/types.ts';
import { BLOCK_SECONDS, ChunkedStream, DEFAULT_HELDOUT_ENGINE, SegmentEmbedder } from './build.ts';
import { listCorpusFiles } from './corpus.ts';

export { DEFAULT_HELDOUT_ENGINE };

import { acquireLock } from './lock.ts';
import {
  type BankIndex,
  EMB_DIM,
  isCompleteBankDir,
  type LoadedBank,
  publishBankDir,
  readBankDir,
  type StreamSpan,
  WARM_ROWS,
  writeBankDir,
} from './store.ts';

export const HELDOUT_GENERATOR_VERSION = 1;
const SR = 16000;
const STEP = 1280;

/** Real English speech installed by `asterisk-core-sounds-en-wav` (one speaker; the other languages are the benchmark's). */
export const DEFAULT_REAL_SPEECH_DIRS = ['/usr/share/asterisk/sounds/en_US_f_Allison'];
/**
 * Music on hold installed by `asterisk-moh-opsound-wav`: Macroform's three tracks. The package's two other tracks
 * (Reno Project, Manolo Camp) are the dev benchmark's held-out music and are never used here.
 */
export const DEFAULT_REAL_MUSIC_FILES = [
  '/usr/share/asterisk/moh/macroform-cold_day.wav',
  '/usr/share/asterisk/moh/macroform-robot_dity.wav',
  '/usr/share/asterisk/moh/macroform-the_simplicity.wav',
];
/** Seconds of held-out-engine sentences at bank scale 1 (half calibration, half report). */
export const HELDOUT_ENGINE_SECONDS = 3600;

export type HeldoutRole = 'train' | 'calibration' | 'report';

/** Folders (searched recursively) or single WAV files of real recordings. */
export interface RealAudioDirs {
  speech: string[];
  music: string[];
}

/** The default folders that exist on this machine (none when the packages are not installed). */
export async function installedRealAudio(): Promise<RealAudioDirs> {
  const exists = async (d: string) =>
    stat(d).then(
      () => true,
      () => false,
    );
  const speech: string[] = [];
  const music: string[] = [];
  for (const d of DEFAULT_REAL_SPEECH_DIRS) if (await exists(d)) speech.push(d);
  for (const f of DEFAULT_REAL_MUSIC_FILES) if (await exists(f)) music.push(f);
  return { speech, music };
}

const unit = (s: string) => createHash('sha256').update(s).digest().readUInt32BE(0) / 2 ** 32;

/**
 * Role of a real speech file (by a hash of its path relative to its folder): 50 % train, 25 % calibration, 25 %
 * report.
 */
export function speechRole(relPath: string): HeldoutRole {
  const u = unit(`violawake-heldout-speech:${relPath}`);
  return u < 0.5 ? 'train' : u < 0.75 ? 'calibration' : 'report';
}

/**
 * Roles of music tracks (names): in hash order, half of them (rounded up) train; each other track is held out, its
 * first half calibration and its second half report (`held`).
 */
export function musicRoles(names: string[]): Map<string, 'train' | 'held'> {
  const ordered = [...names].sort(
    (a, b) => unit(`violawake-heldout-music:${a}`) - unit(`violawake-heldout-music:${b}`) || (a < b ? -1 : 1),
  );
  const nTrain = Math.ceil(ordered.length / 2);
  const out = new Map<string, 'train' | 'held'>();
  for (const [i, p] of ordered.entries()) out.set(p, i < nTrain ? 'train' : 'held');
  return out;
}

/** Letters of a text, lower case (file names and wake words compared without spaces or punctuation). */
export const letters = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');

/**
 * Whether a real recording may contain the wake word: its file name (the prompts' names say what they say, e.g.
 * `vm-goodbye.wav`) contains the wake word's letters. Such files are left out of a job's training and scoring.
 */
export function nameMaySay(text: string, wakeWord: string): boolean {
  const w = letters(wakeWord);
  return w.length > 0 && letters(text).includes(w);
}

export interface HeldoutOptions {
  dataDir: string;
  /** Bank size scale (1 = default); below 1 only a share of the real files and engine sentences is used. */
  scale?: number;
  realAudio: RealAudioDirs;
  /** The held-out engine's provider and voices (none: no engine part). */
  engine: { provider: SpeechProvider; voices: Voice[] } | null;
  installationSeed?: number;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
  pool?: ExtractPool;
  /** Providers for synthesis (the engine's provider must be among them). */
  providers: SpeechProvider[];
}

/** What the held-out bank holds (its index's `heldout` field). */
export interface HeldoutInfo {
  /** First step (1-based, as spans) of the report half of the evaluation stream. */
  split_step: number;
  engine: string | null;
  engine_voices: string[];
  /** Seconds of each part by source. */
  seconds: Record<HeldoutRole, { speech: number; music: number; engine: number }>;
  files: Record<HeldoutRole, { speech: number; music: number }>;
  skipped: number;
}

export type LoadedHeldout = LoadedBank & { built: boolean; info: HeldoutInfo };

interface Source {
  dir: string;
  rel: string;
  kind: 'speech' | 'music';
  role: HeldoutRole | 'held';
}

/** A folder's WAV files, or a single file, as (dir, relative path) pairs. */
async function entries(path: string): Promise<{ dir: string; rel: string }[]> {
  const st = await stat(path).catch(() => null);
  if (!st) return [];
  if (st.isFile()) return [{ dir: dirname(path), rel: basename(path) }];
  return (await listCorpusFiles(path, { skipUnreadable: true })).map((rel) => ({ dir: path, rel }));
}

async function sources(dirs: RealAudioDirs, scale: number): Promise<Source[]> {
  const out: Source[] = [];
  for (const d of dirs.speech) {
    const files = await entries(d);
    const picked = scale >= 1 ? files : files.filter((f) => unit(`scale:${f.rel}`) < Math.max(scale, 0.02));
    for (const f of picked) out.push({ ...f, kind: 'speech', role: speechRole(f.rel) });
  }
  const music = (await Promise.all(dirs.music.map(entries))).flat();
  const roles = musicRoles(music.map((m) => m.rel));
  for (const m of music) out.push({ ...m, kind: 'music', role: roles.get(m.rel) as 'train' | 'held' });
  return out;
}

/** Key: generator version, front end, scale, the files (paths, sizes, modification times), the engine's voices, the sentences. */
async function heldoutKey(opts: HeldoutOptions, srcs: Source[], frontend: string[]): Promise<string> {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: HELDOUT_GENERATOR_VERSION,
      frontend,
      scale: opts.scale ?? 1,
      seed: opts.installationSeed ?? 1,
      engine: opts.engine ? opts.engine.voices.map((v) => v.id).sort() : null,
      sentences: opts.engine ? sentencesHash() : null,
    }),
  );
  for (const s of srcs) {
    const st = await stat(join(s.dir, s.rel)).catch(() => null);
    h.update(`\n${s.dir}\t${s.rel}\t${st?.size ?? -1}\t${st?.mtimeMs ?? -1}`);
  }
  return h.digest('hex').slice(0, 32);
}

/** Loads the held-out bank, building it first when its inputs are new. */
export async function ensureHeldoutBank(opts: HeldoutOptions): Promise<LoadedHeldout> {
  const rt = await openRuntime();
  const scale = opts.scale ?? 1;
  const srcs = await sources(opts.realAudio, scale);
  const key = await heldoutKey(opts, srcs, [rt.melSha256, rt.embeddingSha256]);
  const root = join(opts.dataDir, 'engine', 'heldout');
  const final = join(root, key);
  const load = async (built: boolean): Promise<LoadedHeldout> => {
    const bank = await readBankDir(final);
    return { ...bank, built, info: bank.index.heldout as HeldoutInfo };
  };
  if (await isCompleteBankDir(final)) return load(false);
  await mkdir(root, { recursive: true });
  const lock = await acquireLock(join(root, '.build.lock'), {
    signal: opts.signal,
    onWait: (pid) =>
      opts.onProgress?.(`Waiting for another process (pid ${pid}) building the held-out audio...`, 0),
  });
  const pool = opts.pool ?? new ExtractPool();
  try {
    if (await isCompleteBankDir(final)) return load(false);
    const t0 = performance.now();
    const { index, train, evalRows } = await buildHeldout(opts, srcs, key, pool, rt.warm);
    index.build_seconds = Math.round((performance.now() - t0) / 100) / 10;
    const tmp = join(root, `.tmp-${key}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await writeBankDir(tmp, index, train, evalRows);
    await publishBankDir(root, tmp, key);
    return load(true);
  } finally {
    if (!opts.pool) await pool.close();
    await lock.release();
  }
}

interface Piece {
  audio: Float32Array;
  kind: 'speech' | 'music' | 'engine';
  text: string;
  phonemes: string;
}

async function buildHeldout(
  opts: HeldoutOptions,
  srcs: Source[],
  key: string,
  pool: ExtractPool,
  warm: Float32Array,
): Promise<{ index: BankIndex; train: Float32Array; evalRows: Float32Array }> {
  const scale = opts.scale ?? 1;
  const seed = opts.installationSeed ?? 1;
  const report = opts.onProgress ?? (() => {});
  const seconds: HeldoutInfo['seconds'] = {
    train: { speech: 0, music: 0, engine: 0 },
    calibration: { speech: 0, music: 0, engine: 0 },
    report: { speech: 0, music: 0, engine: 0 },
  };
  const files: HeldoutInfo['files'] = {
    train: { speech: 0, music: 0 },
    calibration: { speech: 0, music: 0 },
    report: { speech: 0, music: 0 },
  };
  let skipped = 0;

  // the held-out engine's sentences: reserved sentences, every voice of the engine in turn
  const held: { calibration: Piece[]; report: Piece[] } = { calibration: [], report: [] };
  if (opts.engine && opts.engine.voices.length > 0) {
    const texts = loadSentences().eval;
    const n = Math.max(4, Math.ceil(((HELDOUT_ENGINE_SECONDS * scale) / 2.3) * 1.05));
    const r = new Rand(deriveRng(seed, 'heldout-engine', 0));
    const reqs: SynthRequest[] = [];
    for (let i = 0; i < n; i++)
      reqs.push({
        text: texts[(i * 7919 + r.int(0, texts.length - 1)) % texts.length] as string,
        voice: (opts.engine.voices[i % opts.engine.voices.length] as Voice).id,
        rate: r.uniform(0.85, 1.2),
        pitch: r.uniform(0.85, 1.15),
      });
    report('Synthesizing the held-out engine’s sentences...', 0);
    const audio = await synthesizeMany(opts.providers, reqs, {
      cacheDir: join(opts.dataDir, 'engine', 'synth-cache'),
      signal: opts.signal,
      onProgress: (d, t) => report('Synthesizing the held-out engine’s sentences...', (0.6 * d) / t),
    });
    const phon = await phonemizeMany(reqs.map((q) => q.text as string));
    audio.forEach((a, i) => {
      if (!a || a.length < SR * 0.3) return;
      const role = i % 2 === 0 ? 'calibration' : 'report';
      held[role].push({
        audio: a,
        kind: 'engine',
        text: reqs[i]?.text as string,
        phonemes: (phon[i] ?? '').replace(/['',_%=]/g, ''),
      });
      seconds[role].engine += a.length / SR;
    });
  }

  // real recordings: train blocks now, held-out pieces into the stream below
  const blocks = new SegmentEmbedder(pool);
  let block: { parts: Float32Array[]; length: number; texts: string[] } = { parts: [], length: 0, texts: [] };
  let groups = 0;
  const gapRng = (i: number) => deriveRng(seed, 'heldout-gap', i);
  const flush = async () => {
    if (block.length === 0) return;
    const x = new Float32Array(block.length);
    let o = 0;
    for (const p of block.parts) {
      x.set(p, o);
      o += p.length;
    }
    await blocks.add(x, { kind: 'speech', group: groups++, phonemes: [], texts: block.texts });
    block = { parts: [], length: 0, texts: [] };
  };
  const realHeld: { calibration: Piece[]; report: Piece[] } = { calibration: [], report: [] };
  for (const [i, s] of srcs.entries()) {
    opts.signal?.throwIfAborted();
    let x: Float32Array;
    try {
      x = await readWavFile16k(join(s.dir, s.rel));
    } catch {
      skipped++;
      continue;
    }
    if (x.length < STEP) {
      skipped++;
      continue;
    }
    // a smaller bank (tests) takes the first share of each track, at least 10 s
    if (s.kind === 'music' && scale < 1)
      x = x.subarray(0, Math.min(x.length, Math.max(10 * SR, Math.round(x.length * scale))));
    const text = basename(s.rel, '.wav');
    if (s.role === 'held') {
      // a held-out track: its first half calibrates, its second half reports
      const half = Math.floor(x.length / 2);
      for (const [role, part] of [
        ['calibration', x.subarray(0, half)],
        ['report', x.subarray(half)],
      ] as const) {
        seconds[role].music += part.length / SR;
        files[role].music++;
        realHeld[role].push({ audio: part, kind: 'music', text, phonemes: '' });
      }
      continue;
    }
    seconds[s.role][s.kind] += x.length / SR;
    files[s.role][s.kind]++;
    if (s.role === 'train') {
      if (s.kind === 'music') {
        await flush();
        // a track: 30 s pieces, one split group for the whole track
        const g = groups++;
        for (let o = 0; o < x.length; o += BLOCK_SECONDS * SR) {
          const piece = x.subarray(o, Math.min(x.length, o + BLOCK_SECONDS * SR));
          if (piece.length >= STEP) await blocks.add(piece, { kind: 'music', group: g, phonemes: [] });
        }
      } else {
        // prompts one after another with 0.2–1.0 s floor gaps, up to 30 s per block
        const gap = noiseFloor(Math.round((0.2 + 0.8 * unit(`gap:${s.rel}`)) * SR), gapRng(i));
        if (block.length + gap.length + x.length > BLOCK_SECONDS * SR) await flush();
        block.parts.push(gap, x);
        block.length += gap.length + x.length;
        block.texts.push(text);
      }
    } else realHeld[s.role].push({ audio: x, kind: s.kind, text, phonemes: '' });
    report('Embedding real recordings...', 0.6 + (0.2 * (i + 1)) / srcs.length);
  }
  await flush();
  const train = await blocks.finish(warm);

  // the evaluation stream: calibration half, then report half (each: engine sentences and real pieces interleaved)
  const stream = new ChunkedStream(pool);
  let samples = 0;
  const spans: StreamSpan[] = [];
  let gapNo = 0;
  const push = async (x: Float32Array) => {
    await stream.push(x);
    samples += x.length;
  };
  const pushHalf = async (pieces: Piece[]) => {
    for (const p of pieces) {
      opts.signal?.throwIfAborted();
      await push(
        noiseFloor(Math.round((0.2 + 0.8 * unit(`sgap:${gapNo}`)) * SR), gapRng(1_000_000 + gapNo++)),
      );
      const startStep = Math.floor(samples / STEP) + 1;
      await push(p.audio);
      if (p.kind !== 'music')
        spans.push({
          startStep,
          endStep: Math.ceil(samples / STEP) + 1,
          phonemes: p.phonemes,
          ...(p.kind === 'speech' ? { text: p.text } : {}),
        });
    }
  };
  const mix = (a: Piece[], b: Piece[]) => {
    // interleave by position so both kinds spread over the half
    const out: Piece[] = [];
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (i < a.length) out.push(a[i] as Piece);
      if (i < b.length) out.push(b[i] as Piece);
    }
    return out;
  };
  const anyHeld =
    held.calibration.length + held.report.length + realHeld.calibration.length + realHeld.report.length > 0;
  if (anyHeld) await pushHalf(mix(held.calibration, realHeld.calibration));
  // the report half starts on a whole step after 2 s of floor (no window straddles real audio of both halves)
  if (anyHeld) await push(noiseFloor(2 * SR + (STEP - (samples % STEP)), gapRng(2_000_000)));
  const splitStep = Math.floor(samples / STEP) + 1;
  if (anyHeld) await pushHalf(mix(held.report, realHeld.report));
  const tail = stream.pendingSamples();
  if (samples > 0 && tail > 0) await push(noiseFloor(STEP - tail, gapRng(3_000_000)));
  report('Embedding the held-out stream...', 0.9);
  const chunks = samples > 0 ? await stream.finish() : [];
  const streamRows = chunks.reduce((n, c) => n + c.length / EMB_DIM, 0);
  const evalRows = new Float32Array(streamRows > 0 ? (WARM_ROWS + streamRows) * EMB_DIM : 0);
  if (streamRows > 0) {
    for (let w = 0; w < WARM_ROWS; w++) evalRows.set(warm, w * EMB_DIM);
    let o = WARM_ROWS * EMB_DIM;
    for (const c of chunks) {
      evalRows.set(c, o);
      o += c.length;
    }
  }
  const info: HeldoutInfo = {
    split_step: splitStep,
    engine: opts.engine && held.calibration.length + held.report.length > 0 ? opts.engine.provider.id : null,
    engine_voices: opts.engine ? opts.engine.voices.map((v) => v.id).sort() : [],
    seconds: JSON.parse(
      JSON.stringify(seconds, (_, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v)),
    ),
    files,
    skipped,
  };
  const index: BankIndex = {
    format: 'violawake.bank.v1',
    key,
    generator_version: HELDOUT_GENERATOR_VERSION,
    scale,
    installation_seed: seed,
    voices: { train: [], eval: info.engine_voices },
    providers: info.engine ? [info.engine] : [],
    heldout: info,
    build_seconds: 0,
    train: { rows: train.length / EMB_DIM, seconds: blocks.seconds, segments: blocks.segments },
    eval: {
      rows: evalRows.length / EMB_DIM,
      seconds: samples / SR,
      segments: [],
      spans,
    },
  };
  return { index, train, evalRows };
}
