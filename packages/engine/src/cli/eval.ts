/** `violawake eval` (docs/engine.md §10): held-out metrics of any head (ours or openWakeWord's) on WAV folders. */

import { noiseFloor } from '../audio/floor.ts';
import { padForScoring } from '../pipeline/canvas.ts';
import { evaluateScores, type ScoreEvaluation } from '../pipeline/evaluate.ts';
import { loadHeadRunner } from '../pipeline/heads.ts';
import { clipScore, openRuntime, scoreAllSteps, withWarmPrefix } from '../pipeline/runtime.ts';
import { deriveRng } from '../rng.ts';
import { bool, num, parseArgs, str, UsageError } from './args.ts';
import { EXIT_OK, InputError } from './errors.ts';
import { listWavs, readModel, readSideManifest, readWav16k } from './io.ts';

const SPEC = {
  model: { type: 'string' },
  positives: { type: 'string' },
  negatives: { type: 'string' },
  threshold: { type: 'string' },
  'target-fa-per-hour': { type: 'string' },
  patience: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const GAP_SAMPLES = 4000; // 0.25 s between negative files

export interface EvalReport extends ScoreEvaluation {
  model: string;
  positives_dir: string;
  negatives_dir: string;
  n_negative_files: number;
  patience: number;
  positive_scores: number[];
}

export async function evaluateModelOnDirs(opts: {
  model: string;
  positives: string;
  negatives: string;
  threshold?: number;
  targetFaPerHour: number;
  patience?: number;
}): Promise<EvalReport> {
  const modelBytes = await readModel(opts.model);
  const side = await readSideManifest(opts.model);
  const rt = await openRuntime();
  let head: Awaited<ReturnType<typeof loadHeadRunner>>;
  try {
    head = await loadHeadRunner(rt.ort, modelBytes);
  } catch (err) {
    throw new InputError(`${opts.model}: ${(err as Error).message}`);
  }
  try {
    const posFiles = await listWavs(opts.positives);
    const negFiles = await listWavs(opts.negatives);
    if (posFiles.length === 0) throw new InputError(`no .wav files in ${opts.positives}`);
    if (negFiles.length === 0) throw new InputError(`no .wav files in ${opts.negatives}`);
    const positiveSteps: Float32Array[] = [];
    for (const [i, f] of posFiles.entries()) {
      const padded = padForScoring(await readWav16k(f), deriveRng(1, 'eval-pad', i));
      positiveSteps.push(await scoreAllSteps(head, withWarmPrefix(await rt.embed(padded), rt.warm)));
    }
    // negatives: one stream in path order with 0.25 s gaps of the −72 dBFS floor
    const parts: Float32Array[] = [];
    let total = 0;
    for (const [i, f] of negFiles.entries()) {
      const x = await readWav16k(f);
      parts.push(x);
      total += x.length;
      if (i < negFiles.length - 1) {
        const gap = noiseFloor(GAP_SAMPLES, deriveRng(1, 'eval-gap', i));
        parts.push(gap);
        total += gap.length;
      }
    }
    const stream = new Float32Array(total);
    let o = 0;
    for (const p of parts) {
      stream.set(p, o);
      o += p.length;
    }
    const streamScores = await scoreAllSteps(head, withWarmPrefix(await rt.embedLong(stream), rt.warm));
    const patience = opts.patience ?? side?.detection?.patience ?? 1;
    const threshold = opts.threshold ?? side?.threshold;
    const positives = positiveSteps.map(clipScore);
    const ev = evaluateScores({
      positives,
      positiveSteps,
      stream: streamScores,
      streamHours: total / 16000 / 3600,
      targetFaPerHour: opts.targetFaPerHour,
      threshold,
      patience,
    });
    return {
      model: opts.model,
      positives_dir: opts.positives,
      negatives_dir: opts.negatives,
      n_negative_files: negFiles.length,
      patience,
      ...ev,
      positive_scores: positives,
    };
  } finally {
    await head.release();
  }
}

const f = (v: number | null, d = 4) => (v === null ? 'n/a' : v.toFixed(d));

export function formatEvalReport(r: EvalReport): string {
  return [
    `model                      ${r.model}`,
    `positives                  ${r.n_positives} clips`,
    `negatives                  ${r.n_negative_files} files, ${(r.negatives_hours * 3600).toFixed(1)} s (${r.n_negative_clips} negative clips)`,
    `d_prime                    ${f(r.d_prime, 3)}`,
    `auc                        ${f(r.auc)}`,
    `eer                        ${f(r.eer)}`,
    `calibrated threshold       ${r.calibrated_threshold.toFixed(2)} for ${r.target_fa_per_hour} FA/h (measured ${r.fa_per_hour_at_calibrated.toFixed(3)} FA/h${r.resolution_limited ? ', resolution-limited: stream too short for this target' : ''})`,
    `threshold                  ${r.threshold.toFixed(2)} (patience ${r.patience})`,
    `miss rate at threshold     ${f(r.miss_rate_at_threshold)}`,
    `FA/h at threshold          ${r.fa_per_hour_at_threshold.toFixed(3)}`,
    `quality grade              ${r.quality_grade}`,
  ].join('\n');
}

export async function runEval(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SPEC);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const model = str(p, 'model');
  const positives = str(p, 'positives');
  const negatives = str(p, 'negatives');
  if (!model || !positives || !negatives)
    throw new UsageError('--model, --positives and --negatives are required');
  const report = await evaluateModelOnDirs({
    model,
    positives,
    negatives,
    threshold: num(p, 'threshold', { min: 0, max: 1 }),
    targetFaPerHour: num(p, 'target-fa-per-hour', { min: 0.01, max: 100 }) ?? 0.5,
    patience: num(p, 'patience', { min: 1, max: 100, integer: true }),
  });
  process.stdout.write(bool(p, 'json') ? `${JSON.stringify(report)}\n` : `${formatEvalReport(report)}\n`);
  return EXIT_OK;
}
