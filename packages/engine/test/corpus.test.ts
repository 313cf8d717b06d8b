/**
 * The curated negatives corpus (docs/engine.md §6.6): a second bank embedded from a folder of WAV files, keyed by the
 * folder's content, split into train segments and an evaluation stream by path hash.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile16k, writeWav16 } from '../src/audio/wav.ts';
import {
  CORPUS_EVAL_SHARE,
  ensureCorpusBank,
  isCorpusEvalFile,
  listCorpusFiles,
} from '../src/bank/corpus.ts';
import { EMB_DIM, WARM_ROWS } from '../src/bank/store.ts';
import { music } from '../src/negatives/music.ts';
import { openRuntime } from '../src/pipeline/runtime.ts';
import { deriveRng } from '../src/rng.ts';

const dev = resolve(import.meta.dirname, '../../../../shared/data/picovoice-dev');

/** File names of the test corpus: the first that the path hash sends to evaluation, and three that it does not. */
function pickNames() {
  const names = Array.from({ length: 64 }, (_, i) => `speech/clip-${i}.wav`);
  const evalName = names.find((n) => isCorpusEvalFile(n)) as string;
  const trainNames = names.filter((n) => !isCorpusEvalFile(n)).slice(0, 3);
  return { evalName, trainNames };
}

let dir: string;
let corpusDir: string;
let dataDir: string;
const { evalName, trainNames } = pickNames();
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vw-corpus-'));
  corpusDir = join(dir, 'corpus');
  dataDir = join(dir, 'data');
  mkdirSync(join(corpusDir, 'speech'), { recursive: true });
  mkdirSync(join(corpusDir, 'music'));
  const snowboy = readdirSync(join(dev, 'snowboy')).sort();
  [evalName, ...trainNames].forEach((name, i) => {
    copyFileSync(join(dev, 'snowboy', snowboy[i] as string), join(corpusDir, name));
  });
  // 70 s of music-like audio: three train segments of at most 30 s
  const m = music(70, deriveRng(5, 'corpus-test', 0));
  writeFileSync(join(corpusDir, 'music', 'long.wav'), writeWav16(m, 16000));
  writeFileSync(join(corpusDir, 'music', 'broken.wav'), Buffer.from('RIFF....WAVEnot really'));
  writeFileSync(join(corpusDir, 'notes.txt'), 'not audio');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('curated negatives corpus', () => {
  it('lists WAV files recursively and sends about a fifth of the paths to evaluation', async () => {
    expect(await listCorpusFiles(corpusDir)).toEqual(
      ['music/broken.wav', 'music/long.wav', evalName, ...trainNames].sort(),
    );
    const names = Array.from({ length: 2000 }, (_, i) => `f/${i}.wav`);
    const share = names.filter(isCorpusEvalFile).length / names.length;
    expect(share).toBeGreaterThan(CORPUS_EVAL_SHARE - 0.03);
    expect(share).toBeLessThan(CORPUS_EVAL_SHARE + 0.03);
  });

  it('embeds the folder once, as the streaming front end sees each file, and again when a file changes', async () => {
    const progress: string[] = [];
    const first = await ensureCorpusBank({ dataDir, corpusDir, onProgress: (m) => progress.push(m) });
    expect(first.built).toBe(true);
    expect(progress.some((m) => /Embedding the negatives corpus/.test(m))).toBe(true);
    expect(first.files).toEqual({ train: 4, eval: 1, skipped: 1 });
    expect(first.index.corpus?.eval).toEqual([evalName]);
    expect(first.index.corpus?.skipped).toEqual(['music/broken.wav']);
    // music/long.wav (70 s) gives three 30 s-or-shorter segments in one split group; each speech file one segment
    const segs = first.index.train.segments;
    expect(segs.length).toBe(6);
    const musicGroup = segs.filter((s) => s.group === 0);
    expect(musicGroup.length).toBe(3);
    expect(new Set(segs.map((s) => s.group)).size).toBe(4);
    // each segment: warm-up rows, then exactly the batch embeddings of its audio
    const rt = await openRuntime();
    const speech = await readWavFile16k(join(corpusDir, trainNames[0] as string));
    const seg = segs.find((s) => s.group === 1) as (typeof segs)[number];
    const emb = await rt.embed(speech);
    expect(seg.rows).toBe(WARM_ROWS + emb.length / EMB_DIM);
    const rows = first.train.subarray(seg.offset * EMB_DIM, (seg.offset + seg.rows) * EMB_DIM);
    expect(Array.from(rows.subarray(0, EMB_DIM))).toEqual(Array.from(rt.warm));
    expect(Array.from(rows.subarray(WARM_ROWS * EMB_DIM))).toEqual(Array.from(emb));
    // the evaluation stream: 0.5 s gap + the eval file, in whole steps
    const evalAudio = await readWavFile16k(join(corpusDir, evalName));
    expect(first.index.eval.seconds).toBeCloseTo(Math.ceil((8000 + evalAudio.length) / 1280) * 0.08, 5);
    expect(first.eval.length).toBe(first.index.eval.rows * EMB_DIM);

    const again = await ensureCorpusBank({ dataDir, corpusDir });
    expect(again.built).toBe(false);
    expect(again.index.key).toBe(first.index.key);

    copyFileSync(join(corpusDir, trainNames[1] as string), join(corpusDir, trainNames[2] as string));
    const changed = await ensureCorpusBank({ dataDir, corpusDir });
    expect(changed.built).toBe(true);
    expect(changed.index.key).not.toBe(first.index.key);
    // the old key's embeddings are deleted once the new ones are in place
    expect(existsSync(first.dir)).toBe(false);
    expect(existsSync(changed.dir)).toBe(true);
  }, 180_000);
});
