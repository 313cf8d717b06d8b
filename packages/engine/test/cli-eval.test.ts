import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openWakeWordModelPath } from '@violawake/detector/node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readWavFile16k } from '../src/audio/wav.ts';
import { runEngineCommand } from '../src/cli/index.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const dev = resolve(repoRoot, '../shared/data/picovoice-dev');
const main = join(repoRoot, 'packages/engine/src/cli/main.ts');
const tsx = join(repoRoot, 'node_modules/.bin/tsx');
const jarvis = openWakeWordModelPath('hey_jarvis_v0.1.onnx'); // test fixture only (non-commercial)

function cli(...args: string[]) {
  const r = spawnSync(tsx, [main, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The same command in this process (no tsx start-up; the front end stays loaded). */
async function run(...args: string[]) {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => {
    out += String(c);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => {
    err += String(c);
    return true;
  });
  try {
    const code = await runEngineCommand(args[0] as string, args.slice(1));
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let dir: string;
const pos = () => join(dir, 'pos');
const neg = () => join(dir, 'neg');
const negWithWord = () => join(dir, 'neg-with-word');
const voices = ['en', 'en-us', 'en-gb-scotland', 'en+f2', 'en-us+m3'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vw-eval-'));
  for (const d of [pos(), neg(), negWithWord(), join(dir, 'empty')]) mkdirSync(d);
  voices.forEach((v, i) => {
    const r = spawnSync('espeak-ng', ['-v', v, '-w', join(pos(), `hj${i}.wav`), 'hey jarvis']);
    if (r.status !== 0) throw new Error('espeak-ng is needed for this fixture');
  });
  const snowboy = readdirSync(join(dev, 'snowboy')).sort().slice(0, 8);
  for (const f of snowboy) {
    copyFileSync(join(dev, 'snowboy', f), join(neg(), f));
    copyFileSync(join(dev, 'snowboy', f), join(negWithWord(), f));
  }
  // the same real negatives plus three spoken wake words, far apart in path order
  for (const [i, name] of ['01.wav', '02.wav', '03.wav'].entries())
    copyFileSync(join(pos(), `hj${i}.wav`), join(negWithWord(), name));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function durationSeconds(d: string): Promise<number> {
  const files = readdirSync(d).filter((f) => f.endsWith('.wav'));
  let n = 0;
  for (const f of files) n += (await readWavFile16k(join(d, f))).length;
  return (n + 4000 * (files.length - 1)) / 16000;
}

describe('violawake eval', () => {
  it('measures the pretrained hey_jarvis head on synthesized positives and real negative speech', async () => {
    const r = await run('eval', '--model', jarvis, '--positives', pos(), '--negatives', neg(), '--json');
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.n_positives).toBe(voices.length);
    expect(rep.n_negative_files).toBe(8);
    expect(rep.negatives_hours * 3600).toBeCloseTo(await durationSeconds(neg()), 1);
    expect(rep.auc).toBeGreaterThan(0.95);
    expect(rep.d_prime).toBeGreaterThan(2);
    expect(rep.miss_rate_at_threshold).toBeLessThanOrEqual(0.2);
    // a stream of well under an hour cannot resolve 0.5 FA/h
    expect(rep.resolution_limited).toBe(true);
    // nothing fired, and the stated rate is the stream's resolution, never 0 (docs/engine.md, "Honest metrics")
    expect(rep.false_accepts.count).toBe(0);
    expect(rep.false_accepts.below_resolution).toBe(true);
    expect(rep.fa_per_hour_at_threshold).toBeCloseTo(1 / rep.negatives_hours, 3);
    expect(rep.false_accepts.statement).toMatch(/cannot resolve 0\.5 false accepts per hour/);
    expect(rep.calibrated_threshold).toBeGreaterThanOrEqual(0.1);
    expect(rep.calibrated_threshold).toBeLessThanOrEqual(0.99);
    expect(rep.positive_scores).toHaveLength(voices.length);
  });

  it('counts false accepts by streaming the negatives through the rules, and reports the miss rate at --threshold', async () => {
    const r = await run(
      'eval',
      '--model',
      jarvis,
      '--positives',
      pos(),
      '--negatives',
      negWithWord(),
      '--threshold',
      '0.5',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    const hours = (await durationSeconds(negWithWord())) / 3600;
    expect(rep.threshold).toBe(0.5);
    // the three spoken wake words fire once each
    expect(rep.fa_per_hour_at_threshold).toBeCloseTo(3 / hours, 3);
    const strict = JSON.parse(
      (
        await run(
          'eval',
          '--model',
          jarvis,
          '--positives',
          pos(),
          '--negatives',
          neg(),
          '--threshold',
          '1',
          '--json',
        )
      ).out,
    );
    expect(strict.miss_rate_at_threshold).toBe(1);
    const text = cli('eval', '--model', jarvis, '--positives', pos(), '--negatives', neg());
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/d_prime\s+\d/);
    expect(text.out).toMatch(/calibrated threshold\s+0\.\d\d for 0.5 FA\/h/);
  });

  it('exit codes: 1 for usage errors, 2 for unusable input', async () => {
    expect(cli('eval', '--model', jarvis, '--positives', pos()).code).toBe(1);
    expect(
      (await run('eval', '--model', jarvis, '--positives', pos(), '--negatives', neg(), '--patience', '0'))
        .code,
    ).toBe(1);
    expect(cli('eval', '--model', jarvis, '--positives', join(dir, 'empty'), '--negatives', neg()).code).toBe(
      2,
    );
    expect(
      (await run('eval', '--model', jarvis, '--positives', join(dir, 'nope'), '--negatives', neg())).code,
    ).toBe(2);
  });
});
