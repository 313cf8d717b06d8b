/**
 * On-disk negative bank (docs/engine.md §6.7): float32 per-step embedding sequences plus a JSON index.
 *
 * Layout of `<dataDir>/engine/bank/<key>/`:
 *   index.json   BankIndex
 *   train.f32    train part, little-endian float32, rows × 96
 *   eval.f32     evaluation stream, rows × 96
 *
 * Every segment (a 30 s train block, or the whole evaluation stream) starts with WARM_ROWS copies of the front end's
 * warm-up embedding, followed by e_1 … e_K: exactly the ring a streaming detector holds, so the window ending at step
 * k is rows [k − 1, k + 15) of the segment, and the first usable window (k = 10) starts at row 9.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const EMB_DIM = 96;
export const WINDOW = 16;
export const WARM_ROWS = WINDOW - 1;
/** First step at which a detection may fire (docs/engine.md §2.5). */
export const FIRST_STEP = 10;
export const STEP_SECONDS = 0.08;

export type BankSourceKind = 'speech' | 'noise' | 'music' | 'silence' | 'mixture';

export interface BankSegment {
  /** First row of the segment in its part's float32 file. */
  offset: number;
  /** Rows including the WARM_ROWS warm-up prefix. */
  rows: number;
  kind: BankSourceKind;
  /** Split group (a 30 s block of the train part); -1 for the evaluation stream. */
  group: number;
  /** Phoneme strings (stress marks removed) of the sentences spoken in the segment. */
  phonemes: string[];
  /** Real recordings (held-out bank): the file names of the prompts spoken in the segment. */
  texts?: string[];
}

/** A sentence placed in the evaluation stream: [startStep, endStep) in steps (1-based step numbering). */
export interface StreamSpan {
  startStep: number;
  endStep: number;
  phonemes: string;
  /** Real recordings (held-out bank): the file name of the prompt (no phonemes are known). */
  text?: string;
}

export interface BankPart {
  rows: number;
  seconds: number;
  segments: BankSegment[];
}

export interface BankIndex {
  format: 'violawake.bank.v1';
  key: string;
  generator_version: number;
  scale: number;
  installation_seed: number;
  voices: { train: string[]; eval: string[] };
  providers: string[];
  build_seconds: number;
  train: BankPart;
  eval: BankPart & { spans: StreamSpan[] };
  /** Language of the speech (absent: English). */
  language?: string;
  /** Curated corpus banks only (corpus.ts): relative paths of the files in each part, and of unreadable ones. */
  corpus?: { train: string[]; eval: string[]; skipped: string[] };
  /** Held-out banks only (heldout.ts): where the report half starts and what each part holds. */
  heldout?: import('./heldout.ts').HeldoutInfo;
}

export interface LoadedBank {
  dir: string;
  index: BankIndex;
  train: Float32Array;
  eval: Float32Array;
}

/**
 * Folder of the banks of one language: `<dataDir>/engine/bank/` for English, `<dataDir>/engine/bank-<code>/` for
 * another language, so that publishing one language's bank (which deletes the banks of other keys in its folder)
 * never deletes another language's.
 */
export function bankRoot(dataDir: string, language?: string): string {
  return join(dataDir, 'engine', language && language !== 'en' ? `bank-${language}` : 'bank');
}

function toF32(buf: Buffer): Float32Array {
  const copy = new Float32Array(buf.byteLength / 4);
  new Uint8Array(copy.buffer).set(buf);
  return copy;
}

export async function writeBankDir(
  dir: string,
  index: BankIndex,
  train: Float32Array,
  evalRows: Float32Array,
) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'train.f32'), new Uint8Array(train.buffer, train.byteOffset, train.byteLength));
  await writeFile(
    join(dir, 'eval.f32'),
    new Uint8Array(evalRows.buffer, evalRows.byteOffset, evalRows.byteLength),
  );
  // index last: a directory with an index is complete
  await writeFile(join(dir, 'index.json'), `${JSON.stringify(index)}\n`);
}

/** Whether `dir` holds a finished bank (its index is written last). */
export async function isCompleteBankDir(dir: string): Promise<boolean> {
  return stat(join(dir, 'index.json')).then(
    () => true,
    () => false,
  );
}

export async function readBankDir(dir: string): Promise<LoadedBank> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as BankIndex;
  if (index.format !== 'violawake.bank.v1') throw new Error(`unknown bank format in ${dir}`);
  const train = toF32(await readFile(join(dir, 'train.f32')));
  const ev = toF32(await readFile(join(dir, 'eval.f32')));
  if (train.length !== index.train.rows * EMB_DIM || ev.length !== index.eval.rows * EMB_DIM) {
    throw new Error(`bank ${dir} is truncated`);
  }
  return { dir, index, train, eval: ev };
}

/** Moves a finished temporary directory into place (atomic on one file system) and deletes banks of other keys. */
export async function publishBankDir(root: string, tmpDir: string, key: string): Promise<string> {
  const final = join(root, key);
  await rm(final, { recursive: true, force: true });
  await rename(tmpDir, final);
  for (const name of await readdir(root)) {
    if (name === key || name.startsWith('.')) continue;
    await rm(join(root, name), { recursive: true, force: true });
  }
  return final;
}

/** Window start rows (within a segment of `rows` rows) for every step k ≥ FIRST_STEP. */
export function segmentWindowCount(rows: number): number {
  return Math.max(0, rows - WINDOW - (FIRST_STEP - 1) + 1);
}
