/**
 * `violawake train` through the CLI: argument checks, exit codes, and one real training run that writes
 * `<out>/<name>.onnx`, `.json` and `.zip`. It reuses the end-to-end test's data directory (`<repo>/.tmp/e2e-data`,
 * small bank, synthesis cache) and its settings, so after that test it needs no new bank or synthesis.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateManifest } from '../src/artifacts/manifest.ts';
import { Rand } from '../src/audio/random.ts';
import { isCorpusEvalFile } from '../src/bank/corpus.ts';
import { installedRealAudio } from '../src/bank/heldout.ts';
import { deriveRng } from '../src/rng.ts';
import { tfliteFromOnnx } from '../src/tflite/index.ts';

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const repoRoot = resolve(import.meta.dirname, '../../..');
const dev = resolve(repoRoot, '../shared/data/picovoice-dev');
const main = join(repoRoot, 'packages/engine/src/cli/main.ts');
const tsx = join(repoRoot, 'node_modules/.bin/tsx');
const dataDir = join(repoRoot, '.tmp', 'e2e-data');

/** The end-to-end test's data directory and sizes (a small bank, little synthetic audio). */
const SMALL_RUN = ['--data-dir', dataDir, '--bank-scale', '0.05', '--synth-scale', '0.3'];

function cli(...args: string[]) {
  const r = spawnSync(tsx, [main, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 1_500_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;

/** `violawake train` on the ten "computer" recordings into `out`, with more options after. */
function trainComputer(out: string, ...extra: string[]) {
  return cli('train', '--wake-word', 'computer', '--recordings', join(dir, 'rec'), '--out', out, ...extra);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vw-train-cli-'));
  const computer = readdirSync(join(dev, 'computer')).sort();
  const order = new Rand(deriveRng(7, 'e2e-pick', 0)).shuffle(computer.map((_, i) => i));
  mkdirSync(join(dir, 'rec'));
  mkdirSync(join(dir, 'few'));
  for (const i of order.slice(0, 10))
    copyFileSync(join(dev, 'computer', computer[i] as string), join(dir, 'rec', computer[i] as string));
  for (const i of order.slice(0, 3))
    copyFileSync(join(dev, 'computer', computer[i] as string), join(dir, 'few', computer[i] as string));
  // a curated negatives corpus: other people's "snowboy", one file in the evaluation stream, one unreadable file
  mkdirSync(join(dir, 'corpus'));
  const snowboy = readdirSync(join(dev, 'snowboy')).sort();
  const names = Array.from({ length: 64 }, (_, i) => `s${i}.wav`);
  const picked = [names.find(isCorpusEvalFile), ...names.filter((n) => !isCorpusEvalFile(n)).slice(0, 7)];
  picked.forEach((n, i) => {
    copyFileSync(join(dev, 'snowboy', snowboy[i] as string), join(dir, 'corpus', n as string));
  });
  writeFileSync(join(dir, 'corpus', 'broken.wav'), 'not a wav file');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('violawake train', () => {
  it('exit 1 on usage errors, 2 when there are too few usable recordings', () => {
    expect(cli('train', '--recordings', join(dir, 'rec'), '--out', join(dir, 'o')).code).toBe(1);
    expect(cli('train', '--wake-word', 'computer', '--out', join(dir, 'o')).code).toBe(1);
    expect(
      cli(
        'train',
        '--wake-word',
        'computer',
        '--text-only',
        '--recordings',
        join(dir, 'rec'),
        '--out',
        join(dir, 'o'),
      ).code,
    ).toBe(1);
    expect(
      cli('train', '--wake-word', 'computer', '--text-only', '--out', join(dir, 'o'), '--arch', 'rnn').code,
    ).toBe(1);
    const few = cli(
      'train',
      '--wake-word',
      'computer',
      '--recordings',
      join(dir, 'few'),
      '--out',
      join(dir, 'o'),
      '--data-dir',
      dataDir,
    );
    expect(few.code).toBe(2);
    expect(few.err).toMatch(/At least 5 are required/);
  }, 300_000);

  it('trains from a folder of recordings (with a negatives corpus) and writes the model, manifest and bundle', async () => {
    const out = join(dir, 'out');
    const r = trainComputer(
      out,
      '--name',
      'computer',
      '--seed',
      '3',
      '--bundle',
      '--json',
      ...SMALL_RUN,
      '--max-epochs',
      '12',
      '--corpus',
      join(dir, 'corpus'),
    );
    expect(r.code, r.err.slice(-2000)).toBe(0);
    // progress lines on stderr, stage by stage
    for (const stage of ['preparing', 'synthesizing', 'extracting', 'training', 'evaluating', 'exporting']) {
      expect(r.err).toMatch(new RegExp(`\\[${stage} +\\d+ %\\]`));
    }
    const res = JSON.parse(r.out);
    expect(res.files.map((f: string) => f.slice(out.length + 1))).toEqual([
      'computer.onnx',
      'computer.tflite',
      'computer.json',
      'computer.zip',
    ]);
    const onnx = readFileSync(join(out, 'computer.onnx'));
    const manifest = JSON.parse(readFileSync(join(out, 'computer.json'), 'utf8'));
    expect(validateManifest(manifest)).toEqual([]);
    expect(manifest.name).toBe('computer');
    expect(manifest.model_sha256).toBe(createHash('sha256').update(onnx).digest('hex'));
    // the TFLite file is the same head (its scores against the ONNX file's: packages/engine/test/tflite.test.ts)
    const tflite = readFileSync(join(out, 'computer.tflite'));
    expect(tflite.subarray(4, 8).toString('latin1')).toBe('TFL3');
    expect(manifest.tflite_sha256).toBe(createHash('sha256').update(tflite).digest('hex'));
    expect(sha256Hex(tfliteFromOnnx(onnx))).toBe(manifest.tflite_sha256);
    expect(manifest.training.seed).toBe(3);
    // the corpus trained and joined the evaluation stream; its unreadable file is reported
    // (real recordings join it too where this machine has them installed: bank/heldout.ts)
    const real = await installedRealAudio();
    const withReal = real.speech.length + real.music.length > 0;
    expect(manifest.evaluation.negatives_kind).toBe(withReal ? 'synthetic+real+corpus' : 'synthetic+corpus');
    expect(manifest.evaluation.warnings).toContain('1 file of the negatives corpus could not be read.');
    const zip = readFileSync(join(out, 'computer.zip'));
    expect(zip.subarray(0, 4).toString('latin1')).toBe('PK\u0003\u0004');
    expect(zip.includes(Buffer.from('computer/computer.onnx'))).toBe(true);
    expect(zip.includes(Buffer.from('computer/computer.tflite'))).toBe(true);
    expect(zip.includes(Buffer.from('computer/embedding_model.onnx'))).toBe(true);
  }, 1_500_000);

  it('--folds k trains one model per fold, then the final model on every recording, and reports the k-fold estimate', () => {
    const usage = (...extra: string[]) =>
      cli('train', '--wake-word', 'computer', '--out', join(dir, 'o'), '--data-dir', dataDir, ...extra);
    expect(usage('--recordings', join(dir, 'rec'), '--folds', '1').code).toBe(1);
    expect(usage('--recordings', join(dir, 'rec'), '--folds', '11').code).toBe(1);
    expect(usage('--text-only', '--folds', '2').code).toBe(1);
    const tooMany = usage('--recordings', join(dir, 'few'), '--folds', '4');
    expect(tooMany.code).toBe(1);
    expect(tooMany.err).toMatch(/needs at least 4 recordings \(found 3\)/);

    const out = join(dir, 'kfold');
    const r = trainComputer(out, '--folds', '2', '--seed', '3', ...SMALL_RUN, '--max-epochs', '8');
    expect(r.code, r.err.slice(-2000)).toBe(0);
    expect(r.err).toMatch(/Fold 1\/2: /);
    expect(r.err).toMatch(/Fold 2\/2: /);
    expect(r.err).toMatch(/Final model: /);
    const manifest = JSON.parse(readFileSync(join(out, 'computer.json'), 'utf8'));
    expect(validateManifest(manifest)).toEqual([]);
    const kf = manifest.evaluation.kfold;
    expect(kf.k).toBe(2);
    expect(kf.folds.map((f: { fold: number }) => f.fold)).toEqual([1, 2]);
    const held = kf.folds.map((f: { held_out: number }) => f.held_out);
    // the two folds hold out every usable recording once, in parts of 5, and the final model trains on all of them
    expect(held).toEqual([5, 5]);
    expect(manifest.training.n_user_clips).toBe(10);
    expect(manifest.evaluation.user_clips_held_out).toBe(10);
    const rates = kf.folds.map((f: { user_miss_rate: number }) => f.user_miss_rate);
    for (const x of rates) expect(x).toBeGreaterThanOrEqual(0);
    expect(kf.user_miss_rate).toBeCloseTo((rates[0] * 5 + rates[1] * 5) / 10, 12);
    expect(manifest.evaluation.miss_rate_by_source.user).toBe(kf.user_miss_rate);
    // the final model's epoch limit is the folds' mean best epoch (never above --max-epochs)
    const best = kf.folds.map((f: { best_epoch: number }) => f.best_epoch);
    expect(kf.final_max_epochs).toBe(Math.max(1, Math.round((best[0] + best[1]) / 2)));
    expect(kf.final_max_epochs).toBeLessThanOrEqual(8);
    expect(manifest.training.epochs).toBeLessThanOrEqual(kf.final_max_epochs);
    expect(r.out).toMatch(/2-fold user-voice miss rate \d+\.\d %/);
  }, 1_500_000);
});
