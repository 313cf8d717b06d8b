/**
 * `violawake train` (docs/engine.md §10): runs the pipeline and writes `<out>/<name>.onnx`, `<name>.tflite` (when the
 * TFLite export succeeded; docs/formats.md), `.json` and optionally `.zip`.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBundle, manifestJson, slugify } from '../artifacts/index.ts';
import { LanguageError, normalizeLanguage } from '../lang/languages.ts';
import { MAX_FOLDS, trainWakeWordKFold } from '../pipeline/folds.ts';
import { type TrainJob, type TrainResult, trainWakeWord } from '../pipeline/train.ts';
import { bool, num, parseArgs, str, UsageError } from './args.ts';
import { QUICK_BANK_SCALE } from './bank.ts';
import { EXIT_OK } from './errors.ts';
import { listWavs } from './io.ts';
import { engineDataDir } from './paths.ts';

const SPEC = {
  'wake-word': { type: 'string' },
  language: { type: 'string' },
  recordings: { type: 'string' },
  'text-only': { type: 'boolean' },
  out: { type: 'string' },
  name: { type: 'string' },
  'target-fa-per-hour': { type: 'string' },
  seed: { type: 'string' },
  arch: { type: 'string' },
  corpus: { type: 'string' },
  folds: { type: 'string' },
  bundle: { type: 'boolean' },
  json: { type: 'boolean' },
  quick: { type: 'boolean' },
  'bank-scale': { type: 'string' },
  'data-dir': { type: 'string' },
  'exclude-voice': { type: 'list' },
  'synth-scale': { type: 'string' },
  'max-epochs': { type: 'string' },
} as const;

export async function runTrain(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SPEC);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const wakeWord = str(p, 'wake-word');
  const recordings = str(p, 'recordings');
  const textOnly = bool(p, 'text-only');
  const out = str(p, 'out');
  if (!wakeWord) throw new UsageError('--wake-word is required');
  if (!out) throw new UsageError('--out is required');
  if (recordings && textOnly) throw new UsageError('give either --recordings or --text-only, not both');
  if (!recordings && !textOnly) throw new UsageError('give --recordings <dir> or --text-only');
  const arch = str(p, 'arch') ?? 'auto';
  if (!['auto', 'mlp', 'tcn'].includes(arch)) throw new UsageError('--arch must be auto, mlp or tcn');
  const folds = num(p, 'folds', { min: 2, max: MAX_FOLDS, integer: true });
  if (folds !== undefined && textOnly) throw new UsageError('--folds needs --recordings');
  const name = str(p, 'name') ?? slugify(wakeWord);
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new UsageError('--name may contain letters, digits, ".", "_" and "-" only');
  const seed = num(p, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true });
  const target = num(p, 'target-fa-per-hour', { min: 0.05, max: 5 });
  const quick = bool(p, 'quick');
  const bankScale = num(p, 'bank-scale', { min: 0.001, max: 10 }) ?? (quick ? QUICK_BANK_SCALE : 1);
  let language: string;
  try {
    language = normalizeLanguage(str(p, 'language'));
  } catch (err) {
    if (err instanceof LanguageError) throw new UsageError(err.message);
    throw err;
  }
  const clips = recordings ? await listWavs(recordings) : [];
  if (folds !== undefined && folds > clips.length)
    throw new UsageError(`--folds ${folds} needs at least ${folds} recordings (found ${clips.length})`);

  let lastLine = '';
  const job: TrainJob = {
    wakeWord,
    language,
    clips,
    textOnly,
    dataDir: str(p, 'data-dir') ?? engineDataDir(),
    seed,
    targetFaPerHour: target,
    arch: arch as 'auto' | 'mlp' | 'tcn',
    corpusDir: str(p, 'corpus'),
    excludeVoices: p.flags['exclude-voice'] as string[] | undefined,
    bankScale,
    synthScale: num(p, 'synth-scale', { min: 0.05, max: 2 }) ?? (quick ? 0.3 : 1),
    maxEpochs: num(p, 'max-epochs', { min: 1, max: 30, integer: true }),
    name,
    onProgress: (pr) => {
      const line = `[${pr.stage} ${pr.progress.toFixed(0).padStart(3)} %] ${pr.message}`;
      if (line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
    },
  };
  const result: TrainResult =
    folds === undefined ? await trainWakeWord(job) : await trainWakeWordKFold(job, folds);
  await mkdir(out, { recursive: true });
  const files = [join(out, `${name}.onnx`), join(out, `${name}.json`)];
  await writeFile(files[0] as string, result.onnx);
  await writeFile(files[1] as string, manifestJson(result.manifest));
  if (result.tflite) {
    const tflitePath = join(out, `${name}.tflite`);
    await writeFile(tflitePath, result.tflite);
    files.splice(1, 0, tflitePath);
  }
  if (bool(p, 'bundle')) {
    const { loadFrontendModels } = await import('@violawake/detector/node');
    const fm = await loadFrontendModels();
    const zip = await createBundle({
      onnx: result.onnx,
      tflite: result.tflite,
      manifest: result.manifest,
      melModel: fm.mel,
      embeddingModel: fm.embedding,
      slug: slugify(name),
    });
    const zipPath = join(out, `${name}.zip`);
    await writeFile(zipPath, zip);
    files.push(zipPath);
  }
  const m = result.manifest;
  if (bool(p, 'json')) {
    process.stdout.write(
      `${JSON.stringify({ files, manifest: m, timings: result.evaluation.timings, ...(result.tfliteError ? { tflite_error: result.tfliteError } : {}) })}\n`,
    );
  } else {
    process.stdout.write(
      `${[
        `Trained "${m.wake_word}" (${m.training.architecture}, ${m.training.params} parameters) in ${m.training.duration_s} s`,
        `  grade ${m.metrics.quality_grade}, d' ${m.metrics.d_prime.toFixed(2)}, AUC ${m.metrics.auc.toFixed(4)}, EER ${m.metrics.eer.toFixed(4)}`,
        `  threshold ${m.threshold.toFixed(2)}: miss rate ${(m.metrics.miss_rate_at_target * 100).toFixed(1)} %, ${m.evaluation?.false_accepts?.below_resolution ? '≤ ' : ''}${m.metrics.fa_per_hour_at_threshold.toFixed(2)} FA/h${m.evaluation?.false_accepts ? ` (95 %: ${m.evaluation.false_accepts.ci95[0].toFixed(2)}–${m.evaluation.false_accepts.ci95[1].toFixed(2)}, ${m.evaluation.false_accepts.count} in ${m.evaluation.false_accepts.hours.toFixed(2)} h)` : ''} (target ${m.metrics.target_fa_per_hour})`,
        ...(m.evaluation?.kfold
          ? [
              `  ${m.evaluation.kfold.k}-fold user-voice miss rate ${m.evaluation.kfold.user_miss_rate === null ? 'n/a' : `${(m.evaluation.kfold.user_miss_rate * 100).toFixed(1)} %`} (${m.evaluation.kfold.folds.map((f) => (f.user_miss_rate === null ? 'F' : `${(f.user_miss_rate * 100).toFixed(1)} %`)).join(', ')}); final model trained on all ${m.training.n_user_clips} recordings, at most ${m.evaluation.kfold.final_max_epochs} epochs`,
            ]
          : []),
        ...(m.evaluation?.warnings ?? []).map((w) => `  warning: ${w}`),
        ...(result.tfliteError ? [`  warning: no TFLite file: ${result.tfliteError}`] : []),
        ...files.map((f) => `  wrote ${f}`),
      ].join('\n')}\n`,
    );
  }
  return EXIT_OK;
}
