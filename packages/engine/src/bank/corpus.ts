/**
 * The curated negatives corpus (docs/engine.md §6.6, paid tiers): any WAV files under `VIOLAWAKE_NEGATIVES_CORPUS_DIR`.
 *
 * Its embeddings form a second bank, cached in `<dataDir>/engine/corpus/<key>/` in the negative bank's layout
 * (store.ts) and keyed by the folder's content (relative paths and file bytes) and the front end, so a changed
 * folder is embedded again and an unchanged one never is. 20 % of the files, chosen by a hash of their relative
 * path, form an evaluation stream (one continuous stream, 0.5 s noise-floor gaps between files); the others are cut
 * into 30 s train segments, one split group per file. A file that cannot be read is skipped and counted.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { noiseFloor } from '../audio/floor.ts';
import { readWavFile16k } from '../audio/wav.ts';
import { ExtractPool } from '../pipeline/extract.ts';
import { openRuntime } from '../pipeline/runtime.ts';
import { deriveRng } from '../rng.ts';
import { BLOCK_SECONDS, ChunkedStream, SegmentEmbedder } from './build.ts';
import { acquireLock } from './lock.ts';
import {
  type BankIndex,
  EMB_DIM,
  isCompleteBankDir,
  type LoadedBank,
  publishBankDir,
  readBankDir,
  WARM_ROWS,
  writeBankDir,
} from './store.ts';

export const CORPUS_GENERATOR_VERSION = 1;
/** Share of the files (by path hash) that form the evaluation stream. */
export const CORPUS_EVAL_SHARE = 0.2;
const SR = 16000;
const STEP = 1280;

export interface CorpusOptions {
  dataDir: string;
  corpusDir: string;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
  /** Extraction pool to embed with (default: a pool of its own). */
  pool?: ExtractPool;
}

export type LoadedCorpus = LoadedBank & {
  built: boolean;
  files: { train: number; eval: number; skipped: number };
};

/**
 * WAV files under `dir`, as sorted relative paths with '/' separators. `skipUnreadable` passes over folders that
 * cannot be read (installed system audio, bank/heldout.ts) instead of failing.
 */
export async function listCorpusFiles(
  dir: string,
  opts: { skipUnreadable?: boolean } = {},
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if (opts.skipUnreadable) return;
      throw err;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.wav'))
        out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Whether a file (relative path) belongs to the evaluation stream. */
export function isCorpusEvalFile(relPath: string): boolean {
  const h = createHash('sha256').update(relPath).digest();
  return h.readUInt32BE(0) / 2 ** 32 < CORPUS_EVAL_SHARE;
}

/** Key of a corpus folder: its files' relative paths and bytes, the front end and the generator version. */
export async function corpusKey(dir: string, files: string[], frontend: string[]): Promise<string> {
  const h = createHash('sha256');
  h.update(`violawake.corpus.v${CORPUS_GENERATOR_VERSION}\n${frontend.join('\n')}\n`);
  for (const f of files) {
    const bytes = await readFile(join(dir, f));
    h.update(`${f}\n${createHash('sha256').update(bytes).digest('hex')}\n`);
  }
  return h.digest('hex').slice(0, 32);
}

/** Loads the corpus bank of `corpusDir`, embedding the folder first when its content is new. */
export async function ensureCorpusBank(opts: CorpusOptions): Promise<LoadedCorpus> {
  const rt = await openRuntime();
  const files = await listCorpusFiles(opts.corpusDir);
  const key = await corpusKey(opts.corpusDir, files, [rt.melSha256, rt.embeddingSha256]);
  const root = join(opts.dataDir, 'engine', 'corpus');
  const final = join(root, key);
  const load = async (built: boolean): Promise<LoadedCorpus> => {
    const bank = await readBankDir(final);
    const c = bank.index.corpus ?? { train: [], eval: [], skipped: [] };
    return {
      ...bank,
      built,
      files: { train: c.train.length, eval: c.eval.length, skipped: c.skipped.length },
    };
  };
  if (await isCompleteBankDir(final)) return load(false);
  await mkdir(root, { recursive: true });
  const lock = await acquireLock(join(root, '.build.lock'), {
    signal: opts.signal,
    onWait: (pid) => opts.onProgress?.(`Waiting for another process (pid ${pid}) embedding the corpus...`, 0),
  });
  const pool = opts.pool ?? new ExtractPool();
  try {
    if (await isCompleteBankDir(final)) return load(false);
    const t0 = performance.now();
    const { index, train, evalRows } = await buildCorpus(opts, files, key, pool, rt);
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

async function buildCorpus(
  opts: CorpusOptions,
  files: string[],
  key: string,
  pool: ExtractPool,
  rt: Awaited<ReturnType<typeof openRuntime>>,
): Promise<{ index: BankIndex; train: Float32Array; evalRows: Float32Array }> {
  const trainFiles: string[] = [];
  const evalFiles: string[] = [];
  const skipped: string[] = [];
  // one pass over the files: the pool embeds train blocks and stream chunks while the next files are read, with a
  // bounded amount of audio in memory
  const blocks = new SegmentEmbedder(pool);
  const stream = new ChunkedStream(pool);
  let evalSamples = 0;
  const push = async (x: Float32Array) => {
    await stream.push(x);
    evalSamples += x.length;
  };
  for (const [i, f] of files.entries()) {
    opts.signal?.throwIfAborted();
    let x: Float32Array;
    try {
      x = await readWavFile16k(join(opts.corpusDir, f));
    } catch {
      skipped.push(f);
      continue;
    }
    if (x.length < STEP) {
      skipped.push(f);
      continue;
    }
    if (isCorpusEvalFile(f)) {
      // the evaluation stream: the eval files one after another with 0.5 s noise-floor gaps
      evalFiles.push(f);
      await push(noiseFloor(SR / 2, deriveRng(1, 'corpus-gap', evalFiles.length - 1)));
      await push(x);
    } else {
      trainFiles.push(f);
      const block = BLOCK_SECONDS * SR;
      for (let s = 0; s < x.length; s += block) {
        const piece = x.subarray(s, Math.min(x.length, s + block));
        if (piece.length >= STEP)
          await blocks.add(piece, { kind: 'speech', group: trainFiles.length - 1, phonemes: [] });
      }
    }
    opts.onProgress?.(
      `Embedding the negatives corpus (${i + 1}/${files.length} files)...`,
      (i + 1) / files.length,
    );
  }
  const tail = stream.pendingSamples();
  if (evalFiles.length > 0 && tail > 0) await push(noiseFloor(STEP - tail, deriveRng(1, 'corpus-end', 0)));
  const train = await blocks.finish(rt.warm);
  const streamRows = await stream.finish();
  const evalRows = new Float32Array(
    evalFiles.length > 0 ? (WARM_ROWS + streamRows.reduce((n, c) => n + c.length / EMB_DIM, 0)) * EMB_DIM : 0,
  );
  if (evalFiles.length > 0) {
    for (let w = 0; w < WARM_ROWS; w++) evalRows.set(rt.warm, w * EMB_DIM);
    let o = WARM_ROWS * EMB_DIM;
    for (const c of streamRows) {
      evalRows.set(c, o);
      o += c.length;
    }
  }
  const index: BankIndex = {
    format: 'violawake.bank.v1',
    key,
    generator_version: CORPUS_GENERATOR_VERSION,
    scale: 1,
    installation_seed: 0,
    voices: { train: [], eval: [] },
    providers: [],
    corpus: { train: trainFiles, eval: evalFiles, skipped },
    build_seconds: 0,
    train: { rows: train.length / EMB_DIM, seconds: blocks.seconds, segments: blocks.segments },
    eval: {
      rows: evalRows.length / EMB_DIM,
      seconds: evalFiles.length > 0 ? evalSamples / SR : 0,
      segments: [],
      spans: [],
    },
  };
  return { index, train, evalRows };
}
