/**
 * The curated negatives corpus (engine.md §6.6, paid tiers): any WAV files under `VIOLAWAKE_NEGATIVES_CORPUS_DIR`.
 *
 * Its embeddings form a second bank, cached in `<dataDir>/engine/corpus/<key>/` in the negative bank's layout
 * (store.ts) and keyed by the folder's content (relative paths and file bytes) and the front end, so a changed
 * folder is embedded again and an unchanged one never is. 20 % of the files, chosen by a hash of their relative
 * path, form an evaluation stream (one continuous stream, 0.5 s noise-floor gaps between files); the others are cut
 * into 30 s train segments, one split group per file. A file that cannot be read is skipped and counted.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { noiseFloor } from '../audio/floor.ts';
import { readWavFile16k } from '../audio/wav.ts';
import { ExtractPool } from '../pipeline/extract.ts';
import { openRuntime } from '../pipeline/runtime.ts';
import { deriveRng } from '../rng.ts';
import { BLOCK_SECONDS } from './build.ts';
import { acquireLock } from './lock.ts';
import {
  type BankIndex,
  type BankSegment,
  EMB_DIM,
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

/** WAV files under `dir`, as sorted relative paths with '/' separators. */
export async function listCorpusFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true });
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

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
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
  if (await exists(join(final, 'index.json'))) return load(false);
  await mkdir(root, { recursive: true });
  const lock = await acquireLock(join(root, '.build.lock'), {
    signal: opts.signal,
    onWait: (pid) => opts.onProgress?.(`Waiting for another process (pid ${pid}) embedding the corpus...`, 0),
  });
  const pool = opts.pool ?? new ExtractPool();
  try {
    if (await exists(join(final, 'index.json'))) return load(false);
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
  const blocks: { audio: Float32Array; group: number }[] = [];
  const evalAudio: Float32Array[] = [];
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
      evalFiles.push(f);
      evalAudio.push(x);
    } else {
      trainFiles.push(f);
      const block = BLOCK_SECONDS * SR;
      for (let s = 0; s < x.length; s += block) {
        const piece = x.subarray(s, Math.min(x.length, s + block));
        if (piece.length >= STEP) blocks.push({ audio: piece, group: trainFiles.length - 1 });
      }
    }
    opts.onProgress?.(
      `Reading the negatives corpus (${i + 1}/${files.length} files)...`,
      (0.2 * (i + 1)) / files.length,
    );
  }

  // train part: every block embedded by the pool, kept in file order
  let done = 0;
  const embedded = await Promise.all(
    blocks.map(async (b) => {
      const emb = await pool.embed(b.audio);
      done++;
      opts.onProgress?.(
        `Embedding the negatives corpus (${done}/${blocks.length} blocks)...`,
        0.2 + (0.6 * done) / blocks.length,
      );
      return emb;
    }),
  );
  const segments: BankSegment[] = [];
  let offset = 0;
  let trainSeconds = 0;
  for (const [i, emb] of embedded.entries()) {
    const rows = WARM_ROWS + emb.length / EMB_DIM;
    segments.push({
      offset,
      rows,
      kind: 'speech',
      group: (blocks[i] as { group: number }).group,
      phonemes: [],
    });
    offset += rows;
    trainSeconds += (blocks[i] as { audio: Float32Array }).audio.length / SR;
  }
  const train = new Float32Array(offset * EMB_DIM);
  for (const [i, emb] of embedded.entries()) {
    const o = (segments[i] as BankSegment).offset * EMB_DIM;
    for (let w = 0; w < WARM_ROWS; w++) train.set(rt.warm, o + w * EMB_DIM);
    train.set(emb, o + WARM_ROWS * EMB_DIM);
  }

  // evaluation stream: the eval files one after another with 0.5 s noise-floor gaps, streamed
  const stream = rt.frontend.createStream();
  const chunks: Float32Array[] = [];
  for (let w = 0; w < WARM_ROWS; w++) chunks.push(rt.warm.slice());
  let pending = new Float32Array(0);
  let samples = 0;
  const push = async (x: Float32Array) => {
    const joined = new Float32Array(pending.length + x.length);
    joined.set(pending);
    joined.set(x, pending.length);
    const whole = Math.floor(joined.length / STEP) * STEP;
    if (whole > 0) chunks.push((await stream.push(joined.subarray(0, whole))).embeddings);
    pending = joined.slice(whole);
    samples += x.length;
  };
  for (const [i, x] of evalAudio.entries()) {
    opts.signal?.throwIfAborted();
    await push(noiseFloor(SR / 2, deriveRng(1, 'corpus-gap', i)));
    await push(x);
    opts.onProgress?.(
      `Embedding the negatives corpus (evaluation file ${i + 1}/${evalAudio.length})...`,
      0.8 + (0.2 * (i + 1)) / evalAudio.length,
    );
  }
  if (evalAudio.length > 0 && pending.length > 0) {
    const pad = noiseFloor(STEP - pending.length, deriveRng(1, 'corpus-end', 0));
    await push(pad);
  }
  stream.dispose();
  const evalLen = chunks.reduce((a, c) => a + c.length, 0);
  const evalRows = new Float32Array(evalFiles.length > 0 ? evalLen : 0);
  if (evalFiles.length > 0) {
    let o = 0;
    for (const c of chunks) {
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
    train: { rows: offset, seconds: trainSeconds, segments },
    eval: {
      rows: evalRows.length / EMB_DIM,
      seconds: evalFiles.length > 0 ? samples / SR : 0,
      segments: [],
      spans: [],
    },
  };
  return { index, train, evalRows };
}
