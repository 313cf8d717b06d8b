/**
 * Negative embedding bank (docs/engine.md §6.7): generic negatives embedded once per installation.
 *
 * Train part (≈ 1.5 h × scale): 30 s blocks, each a split group of one kind — 70 % sentences from train voices, 10 %
 * noise, 10 % music-like, 5 % silence, 5 % mixtures; a noise or music block is a run of 3–10 s pieces.
 * Evaluation stream (≈ 4 h × scale): one continuous stream with 0.2–1.0 s gaps, same proportions, eval voices,
 * reserved sentences, other seeds.
 * Building takes a file lock and writes to a temporary folder renamed into place.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { noiseFloor } from '../audio/floor.ts';
import { atLevel } from '../audio/levels.ts';
import { Rand, type RandomSource } from '../audio/random.ts';
import { addNoiseAtSnr } from '../augment/transforms.ts';
import { DEFAULT_LANGUAGE, normalizeLanguage } from '../lang/languages.ts';
import { music } from '../negatives/music.ts';
import { babble, NOISE_KINDS, noise, silence } from '../negatives/noise.ts';
import { loadSentences, sentencesHash } from '../negatives/sentences.ts';
import { ExtractPool } from '../pipeline/extract.ts';
import { type EngineRuntime, openRuntime } from '../pipeline/runtime.ts';
import { assignVoices } from '../pipeline/voices.ts';
import { deriveRng } from '../rng.ts';
import {
  discoverProviders,
  disposeProviders,
  listVoices,
  phonemizeMany,
  splitVoices,
  synthesizeMany,
} from '../synth/index.ts';
import type { SpeechProvider, SynthRequest, Voice } from '../synth/types.ts';
import { BANK_GENERATOR_VERSION, bankKey } from './key.ts';
import { acquireLock } from './lock.ts';
import { type BankBuildProgress, BuildTracker, bankBlockCount, watchBuildStatus } from './progress.ts';
import {
  type BankIndex,
  type BankSegment,
  type BankSourceKind,
  bankRoot,
  EMB_DIM,
  isCompleteBankDir,
  type LoadedBank,
  publishBankDir,
  readBankDir,
  type StreamSpan,
  WARM_ROWS,
  writeBankDir,
} from './store.ts';

const SR = 16000;
const STEP = 1280;
/** The synthesis engine held out of training when it is installed (the one with the fewest voices). */
export const DEFAULT_HELDOUT_ENGINE = 'festival';
/** Audio pieces (train blocks, stream chunks) waiting for the extraction workers at most. */
const MAX_PENDING = 4;
/** Steps per evaluation-stream chunk (96 s). */
const CHUNK_STEPS = 1200;
/**
 * Steps of audio before a chunk that its embedding also sees: e_k of a clip reads mel frames of steps k − 9 … k, and
 * only step 1 of a clip differs from the same audio inside a stream, so from the 12th step on a chunk's embeddings
 * are the stream's.
 */
const CONTEXT_STEPS = 12;

/**
 * Segments (each its own stream: WARM_ROWS warm-up rows, then e_1 … e_K) embedded on the extraction pool as their
 * audio arrives. A segment's rows are known from its length, so the layout is fixed before the embeddings return;
 * at most MAX_PENDING pieces of audio wait for the workers.
 */
export class SegmentEmbedder {
  readonly segments: BankSegment[] = [];
  /** Seconds of audio added. */
  seconds = 0;
  private rows = 0;
  private jobs: Promise<Float32Array>[] = [];
  private done = 0;

  constructor(
    private readonly pool: ExtractPool,
    private readonly onEmbedded?: (done: number) => void,
  ) {}

  async add(audio: Float32Array, seg: Omit<BankSegment, 'offset' | 'rows'>): Promise<void> {
    const rows = WARM_ROWS + Math.ceil(audio.length / STEP);
    this.segments.push({ ...seg, offset: this.rows, rows });
    this.rows += rows;
    this.seconds += audio.length / SR;
    this.jobs.push(
      this.pool.embed(audio).then((emb) => {
        this.done++;
        this.onEmbedded?.(this.done);
        return emb;
      }),
    );
    if (this.jobs.length - this.done > MAX_PENDING) await this.jobs[this.jobs.length - 1 - MAX_PENDING];
  }

  /** All segments' rows, in the order they were added. */
  async finish(warm: Float32Array): Promise<Float32Array> {
    const out = new Float32Array(this.rows * EMB_DIM);
    for (const [i, job] of this.jobs.entries()) {
      const emb = await job;
      const o = (this.segments[i] as BankSegment).offset * EMB_DIM;
      for (let w = 0; w < WARM_ROWS; w++) out.set(warm, o + w * EMB_DIM);
      out.set(emb, o + WARM_ROWS * EMB_DIM);
    }
    return out;
  }
}

/**
 * One continuous stream embedded in chunks on the extraction pool: each chunk is embedded together with the
 * CONTEXT_STEPS steps of audio before it, whose embeddings are dropped, so the result is the streaming front end's
 * (up to float rounding, as batch and streaming features always agree) while the chunks run in parallel.
 */
export class ChunkedStream {
  private buffered: Float32Array[] = [];
  private bufferedLength = 0;
  private context = new Float32Array(0);
  private jobs: Promise<Float32Array>[] = [];
  private done: Float32Array[] = [];

  constructor(
    private readonly pool: ExtractPool,
    private readonly chunkSteps = CHUNK_STEPS,
  ) {}

  /** Samples pushed since the last whole step. */
  pendingSamples(): number {
    return this.bufferedLength % STEP;
  }

  async push(x: Float32Array): Promise<void> {
    this.buffered.push(x);
    this.bufferedLength += x.length;
    while (this.bufferedLength >= this.chunkSteps * STEP)
      await this.submit(this.take(this.chunkSteps * STEP));
  }

  /** Embeddings of every whole step pushed, in order. */
  async finish(): Promise<Float32Array[]> {
    const whole = Math.floor(this.bufferedLength / STEP) * STEP;
    if (whole > 0) await this.submit(this.take(whole));
    for (const j of this.jobs) this.done.push(await j);
    this.jobs = [];
    return this.done;
  }

  private take(n: number): Float32Array {
    const all = new Float32Array(this.bufferedLength);
    let o = 0;
    for (const b of this.buffered) {
      all.set(b, o);
      o += b.length;
    }
    this.buffered = n < all.length ? [all.slice(n)] : [];
    this.bufferedLength = all.length - n;
    return all.subarray(0, n);
  }

  private async submit(chunk: Float32Array): Promise<void> {
    const input = new Float32Array(this.context.length + chunk.length);
    input.set(this.context);
    input.set(chunk, this.context.length);
    const drop = (this.context.length / STEP) * EMB_DIM;
    this.jobs.push(this.pool.embed(input).then((e) => e.subarray(drop)));
    this.context = chunk.slice(Math.max(0, chunk.length - CONTEXT_STEPS * STEP));
    if (this.jobs.length > MAX_PENDING) this.done.push(await (this.jobs.shift() as Promise<Float32Array>));
  }
}
export const BLOCK_SECONDS = 30;
export const TRAIN_SECONDS = 5400; // 1.5 h at scale 1
/**
 * 4 h at scale 1: the pipeline calibrates on the first half and states FA/h on the second (docs/engine.md, "Honest
 * metrics"), so that half must resolve 0.5 FA/h (≥ 2 h) even where no held-out engine or real audio is installed.
 */
export const EVAL_SECONDS = 14400;
/** 20 slots: 14 speech, 2 noise, 2 music, 1 silence, 1 mixture (70/10/10/5/5 %). */
const KIND_PATTERN: BankSourceKind[] = [
  'speech',
  'speech',
  'noise',
  'speech',
  'music',
  'speech',
  'speech',
  'silence',
  'speech',
  'speech',
  'mixture',
  'speech',
  'noise',
  'speech',
  'speech',
  'music',
  'speech',
  'speech',
  'speech',
  'speech',
];

export interface BankOptions {
  dataDir: string;
  /** 1 = ≈ 1.5 h train part + ≈ 3 h evaluation stream; e.g. 0.02 for a CI-sized bank. */
  scale?: number;
  installationSeed?: number;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
  /**
   * Build progress in blocks with a time estimate (bank/progress.ts): this process's build, or, while it waits on the
   * lock, the other builder's (from its status file).
   */
  onBuild?: (p: BankBuildProgress) => void;
  /** Voices (ids) that neither the train part nor the evaluation stream may use (benchmark reservations). */
  excludeVoices?: string[];
  /**
   * Synthesis engine (provider id) held out of training (docs/engine.md, "Honest metrics"): its voices are in neither
   * part; they speak the held-out bank (heldout.ts). Default DEFAULT_HELDOUT_ENGINE; null: none.
   */
  heldoutEngine?: string | null;
  providers?: SpeechProvider[];
  /** Extraction pool to embed with (default: a pool of its own while building). */
  pool?: ExtractPool;
  /**
   * Language of the bank's speech (default English; docs/languages.md): that language's voices and sentences, built
   * once per language and cached in its own folder under its own key.
   */
  language?: string;
}

export interface BankContext {
  providers: SpeechProvider[];
  voices: { train: Voice[]; eval: Voice[] };
  key: string;
  root: string;
  /** undefined for English. */
  language?: string;
}

/** Providers, voice split and key of the bank these options describe. */
export async function bankContext(opts: BankOptions, rt: EngineRuntime): Promise<BankContext> {
  const lang = normalizeLanguage(opts.language);
  const language = lang === DEFAULT_LANGUAGE ? undefined : lang;
  const providers = opts.providers ?? (await discoverProviders());
  const exclude = new Set(opts.excludeVoices ?? []);
  const heldoutEngine = opts.heldoutEngine === undefined ? DEFAULT_HELDOUT_ENGINE : opts.heldoutEngine;
  const all = (await listVoices(providers, language)).filter(
    (v) => !exclude.has(v.id) && v.provider !== heldoutEngine,
  );
  const split = splitVoices(all, opts.installationSeed ?? 1);
  const key = bankKey({
    melSha256: rt.melSha256,
    embeddingSha256: rt.embeddingSha256,
    generatorVersion: BANK_GENERATOR_VERSION,
    sentencesSha256: sentencesHash(language),
    voices: all.map((v) => v.id),
    installationSeed: opts.installationSeed ?? 1,
    scale: opts.scale ?? 1,
    language,
  });
  return { providers, voices: split, key, root: bankRoot(opts.dataDir, language), language };
}

/** Loads the bank, building it first when it is missing (or when `force`). */
export async function ensureBank(
  opts: BankOptions,
): Promise<LoadedBank & { built: boolean; buildSeconds: number }> {
  const rt = await openRuntime();
  const ownProviders = !opts.providers;
  const ctx = await bankContext(opts, rt);
  try {
    const final = join(ctx.root, ctx.key);
    if (!opts.force && (await isCompleteBankDir(final))) {
      return { ...(await readBankDir(final)), built: false, buildSeconds: 0 };
    }
    await mkdir(ctx.root, { recursive: true });
    let stopWatch: (() => void) | undefined;
    const lock = await acquireLock(join(ctx.root, '.build.lock'), {
      signal: opts.signal,
      onWait: (pid) => {
        opts.onProgress?.(`Waiting for another process (pid ${pid}) building the negative bank...`, 0);
        if (opts.onBuild) stopWatch = watchBuildStatus(ctx.root, ctx.key, opts.onBuild);
      },
    }).finally(() => stopWatch?.());
    try {
      // another process may have finished it while we waited
      if (!opts.force && (await isCompleteBankDir(final))) {
        return { ...(await readBankDir(final)), built: false, buildSeconds: 0 };
      }
      const t0 = performance.now();
      const tmp = join(ctx.root, `.tmp-${ctx.key}-${process.pid}`);
      await rm(tmp, { recursive: true, force: true });
      const pool = opts.pool ?? new ExtractPool();
      let built: Awaited<ReturnType<typeof buildBankData>>;
      const blocks = bankBlockCount(opts.scale ?? 1, BLOCK_SECONDS, TRAIN_SECONDS, EVAL_SECONDS);
      const tracker = new BuildTracker(ctx.root, ctx.key, blocks, opts.onBuild);
      const onProgress = (m: string, f: number) => {
        opts.onProgress?.(m, f);
        tracker.update(f);
      };
      try {
        built = await buildBankData({ ...opts, onProgress }, ctx, rt, pool);
      } finally {
        await tracker.clear();
        if (!opts.pool) await pool.close();
      }
      const { index, train, evalRows } = built;
      index.build_seconds = Math.round((performance.now() - t0) / 100) / 10;
      await writeBankDir(tmp, index, train, evalRows);
      const dir = await publishBankDir(ctx.root, tmp, ctx.key);
      return { ...(await readBankDir(dir)), built: true, buildSeconds: index.build_seconds };
    } finally {
      await lock.release();
    }
  } finally {
    if (ownProviders) disposeProviders(ctx.providers);
  }
}

interface Sentence {
  text: string;
  audio: Float32Array;
  phonemes: string;
}

const stripStress = (p: string) => p.replace(/['',_%=]/g, '');

async function synthSentences(
  texts: string[],
  voices: Voice[],
  n: number,
  seed: number,
  purpose: string,
  ctx: BankContext,
  opts: BankOptions,
  progress: (f: number) => void,
): Promise<Sentence[]> {
  if (voices.length === 0 || texts.length === 0 || n === 0) return [];
  const r = new Rand(deriveRng(seed, `${purpose}-pick`, 0));
  const chosenVoices = assignVoices(voices, ctx.providers, n, deriveRng(seed, `${purpose}-voices`, 0));
  const reqs: SynthRequest[] = [];
  for (let i = 0; i < n; i++) {
    const text = texts[(i * 7919 + r.int(0, texts.length - 1)) % texts.length] as string;
    reqs.push({
      text,
      voice: (chosenVoices[i] as Voice).id,
      rate: r.uniform(0.85, 1.2),
      pitch: r.uniform(0.85, 1.15),
    });
  }
  const audio = await synthesizeMany(ctx.providers, reqs, {
    cacheDir: join(opts.dataDir, 'engine', 'synth-cache'),
    signal: opts.signal,
    onProgress: (d, t) => progress(d / t),
  });
  const phon = await phonemizeMany(
    reqs.map((q) => q.text as string),
    ctx.language,
  );
  const out: Sentence[] = [];
  audio.forEach((a, i) => {
    if (a && a.length > SR * 0.3)
      out.push({ text: reqs[i]?.text as string, audio: a, phonemes: stripStress(phon[i] ?? '') });
  });
  return out;
}

/** Audio of one piece of a given kind (speech pieces are taken from the sentence queue). */
function pieceAudio(
  kind: Exclude<BankSourceKind, 'speech'>,
  seconds: number,
  r: Rand,
  sentences: Sentence[],
  speechFill: (seconds: number) => { audio: Float32Array; phonemes: string[] },
): { audio: Float32Array; phonemes: string[] } {
  const sub = () => {
    const seed = r.int(0, 0x7fffffff);
    return deriveRng(seed, 'piece', 0);
  };
  switch (kind) {
    case 'noise': {
      const useBabble = sentences.length >= 3 && r.chance(1 / 7);
      const x = useBabble
        ? babble(
            sentences.map((s) => s.audio),
            seconds,
            sub(),
          )
        : noise(r.pick(NOISE_KINDS), seconds, sub());
      return { audio: atLevel(x, r.uniform(-45, -15)), phonemes: [] };
    }
    case 'music':
      return { audio: atLevel(music(seconds, sub()), r.uniform(-40, -12)), phonemes: [] };
    case 'silence':
      return { audio: silence(seconds, sub()), phonemes: [] };
    case 'mixture': {
      const sp = speechFill(seconds);
      const bed = r.chance(0.5) ? music(seconds, sub()) : noise(r.pick(NOISE_KINDS), seconds, sub());
      return { audio: addNoiseAtSnr(sp.audio, bed, r.uniform(0, 20), sub()), phonemes: sp.phonemes };
    }
  }
}

/** Pieces of one kind from 3 to 10 s long between 0.2–1.0 s floor gaps, each with its own generator draw and level. */
export const SHORT_PIECE_SECONDS: readonly [number, number] = [3, 10];

/**
 * A train block of noise or music-like audio as a run of short pieces: the block is one split group as before, but
 * holds ≈ 5 different pieces instead of one 30 s draw, so the bank's ≈ 9 min of noise covers each noise kind (clicks,
 * hum, fan…) in dozens of draws of rate, colour and level rather than in two or three.
 */
export function shortPieces(
  kind: 'noise' | 'music',
  seconds: number,
  r: Rand,
  sentences: Sentence[],
  gapRng: RandomSource,
): { audio: Float32Array; phonemes: string[] } {
  const n = Math.round(seconds * SR);
  const out = noiseFloor(n, gapRng);
  const none = () => ({ audio: new Float32Array(0), phonemes: [] });
  let t = Math.round(r.uniform(0.2, 1.0) * SR);
  while (t < n) {
    const len = Math.min(n - t, Math.round(r.uniform(...SHORT_PIECE_SECONDS) * SR));
    const piece = pieceAudio(kind, len / SR, r, sentences, none);
    out.set(piece.audio.subarray(0, len), t);
    t += len + Math.round(r.uniform(0.2, 1.0) * SR);
  }
  return { audio: out, phonemes: [] };
}

async function buildBankData(
  opts: BankOptions,
  ctx: BankContext,
  rt: EngineRuntime,
  pool: ExtractPool,
): Promise<{ index: BankIndex; train: Float32Array; evalRows: Float32Array }> {
  const scale = opts.scale ?? 1;
  const seed = opts.installationSeed ?? 1;
  const report = opts.onProgress ?? (() => {});
  const sentenceLists = loadSentences(ctx.language);
  const nBlocks = Math.max(
    KIND_PATTERN.length > 0 ? 2 : 1,
    Math.ceil((TRAIN_SECONDS * scale) / BLOCK_SECONDS),
  );
  const evalSeconds = Math.max(60, EVAL_SECONDS * scale);
  const trainKinds = Array.from(
    { length: nBlocks },
    (_, i) => KIND_PATTERN[i % KIND_PATTERN.length] as BankSourceKind,
  );
  // ≈ 2.5 s per sentence; speech and mixture blocks need speech
  const speechSecondsTrain =
    trainKinds.filter((k) => k === 'speech' || k === 'mixture').length * BLOCK_SECONDS;
  const nTrainSent = Math.ceil((speechSecondsTrain / 2.3) * 1.1) + 8;
  const nEvalSent = Math.ceil(((evalSeconds * 0.75) / 2.3) * 1.1) + 8;

  report('Synthesizing speech for the negative bank...', 0);
  const trainSent = await synthSentences(
    sentenceLists.train,
    ctx.voices.train,
    nTrainSent,
    seed,
    'bank-train',
    ctx,
    opts,
    (f) => report('Synthesizing speech for the negative bank (train part)...', 0.3 * f),
  );
  const evalSent = await synthSentences(
    sentenceLists.eval,
    ctx.voices.eval,
    nEvalSent,
    seed,
    'bank-eval',
    ctx,
    opts,
    (f) => report('Synthesizing speech for the negative bank (evaluation stream)...', 0.3 + 0.2 * f),
  );

  // ---- train part: 30 s blocks, each its own stream and split group
  const r = new Rand(deriveRng(seed, 'bank-train-layout', 0));
  const speechFill = (list: Sentence[], cursor: { i: number }, rr: Rand) => (seconds: number) => {
    const n = Math.round(seconds * SR);
    const out = noiseFloor(n, deriveRng(seed, 'bank-gap', cursor.i));
    const phonemes: string[] = [];
    let t = Math.round(rr.uniform(0.2, 1.0) * SR);
    while (list.length > 0 && t < n) {
      const s = list[cursor.i++ % list.length] as Sentence;
      const len = Math.min(s.audio.length, n - t);
      out.set(s.audio.subarray(0, len), t);
      phonemes.push(s.phonemes);
      t += s.audio.length + Math.round(rr.uniform(0.2, 1.0) * SR);
    }
    return { audio: out, phonemes };
  };
  const trainCursor = { i: 0 };
  const blocks = new SegmentEmbedder(pool, (done) =>
    report(`Embedding the negative bank (train block ${done}/${nBlocks})...`, 0.5 + (0.2 * done) / nBlocks),
  );
  for (let b = 0; b < nBlocks; b++) {
    opts.signal?.throwIfAborted();
    const kind = trainKinds[b] as BankSourceKind;
    const piece =
      kind === 'speech'
        ? speechFill(trainSent, trainCursor, r)(BLOCK_SECONDS)
        : kind === 'noise' || kind === 'music'
          ? shortPieces(kind, BLOCK_SECONDS, r, trainSent, deriveRng(seed, 'bank-piece-gap', b))
          : pieceAudio(kind, BLOCK_SECONDS, r, trainSent, speechFill(trainSent, trainCursor, r));
    await blocks.add(piece.audio, { kind, group: b, phonemes: piece.phonemes });
  }
  const segments = blocks.segments;
  const train = await blocks.finish(rt.warm);
  const offset = train.length / EMB_DIM;

  // ---- evaluation stream: one continuous stream, pieces of 5–30 s (speech: sentences) with 0.2–1.0 s gaps
  const er = new Rand(deriveRng(seed, 'bank-eval-layout', 0));
  const stream = new ChunkedStream(pool);
  const evalChunks: Float32Array[] = [rt.warm.slice()];
  for (let w = 1; w < WARM_ROWS; w++) evalChunks.push(rt.warm.slice());
  const spans: StreamSpan[] = [];
  const evalCursor = { i: 0 };
  let samples = 0;
  const total = Math.round(evalSeconds * SR);
  let pieceNo = 0;
  const push = async (x: Float32Array) => {
    await stream.push(x);
    samples += x.length;
  };
  while (samples < total) {
    opts.signal?.throwIfAborted();
    const kind = KIND_PATTERN[pieceNo++ % KIND_PATTERN.length] as BankSourceKind;
    const gap = noiseFloor(Math.round(er.uniform(0.2, 1.0) * SR), deriveRng(seed, 'bank-eval-gap', pieceNo));
    await push(gap);
    if (kind === 'speech') {
      // a run of 2–6 sentences, each recorded as a span
      const n = er.int(2, 6);
      for (let i = 0; i < n && evalSent.length > 0 && samples < total; i++) {
        const s = evalSent[evalCursor.i++ % evalSent.length] as Sentence;
        const startStep = Math.floor(samples / STEP) + 1;
        await push(s.audio);
        spans.push({ startStep, endStep: Math.ceil(samples / STEP) + 1, phonemes: s.phonemes });
        await push(
          noiseFloor(Math.round(er.uniform(0.2, 1.0) * SR), deriveRng(seed, 'bank-eval-sgap', evalCursor.i)),
        );
      }
    } else {
      const secs = er.uniform(5, 30);
      const startStep = Math.floor(samples / STEP) + 1;
      const p = pieceAudio(kind, secs, er, evalSent, speechFill(evalSent, evalCursor, er));
      await push(p.audio);
      for (const ph of p.phonemes)
        spans.push({ startStep, endStep: Math.ceil(samples / STEP) + 1, phonemes: ph });
    }
    report(
      `Embedding the negative bank (evaluation stream ${Math.min(100, Math.round((100 * samples) / total))} %)...`,
      0.7 + (0.3 * Math.min(samples, total)) / total,
    );
  }
  const tail = stream.pendingSamples();
  if (tail > 0) {
    await push(noiseFloor(STEP - tail, deriveRng(seed, 'bank-eval-end', 0)));
  }
  evalChunks.push(...(await stream.finish()));
  const evalLen = evalChunks.reduce((a, c) => a + c.length, 0);
  const evalRows = new Float32Array(evalLen);
  {
    let o = 0;
    for (const c of evalChunks) {
      evalRows.set(c, o);
      o += c.length;
    }
  }
  const evalRowCount = evalLen / EMB_DIM;
  const index: BankIndex = {
    format: 'violawake.bank.v1',
    key: ctx.key,
    generator_version: BANK_GENERATOR_VERSION,
    scale,
    installation_seed: seed,
    ...(ctx.language ? { language: ctx.language } : {}),
    voices: { train: ctx.voices.train.map((v) => v.id), eval: ctx.voices.eval.map((v) => v.id) },
    providers: ctx.providers.map((p) => p.id),
    build_seconds: 0,
    train: { rows: offset, seconds: nBlocks * BLOCK_SECONDS, segments },
    eval: {
      rows: evalRowCount,
      seconds: samples / SR,
      segments: [{ offset: 0, rows: evalRowCount, kind: 'speech', group: -1, phonemes: [] }],
      spans,
    },
  };
  return { index, train, evalRows };
}
