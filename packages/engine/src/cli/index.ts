/**
 * Engine commands of the `violawake` CLI (docs/engine.md §10): train, eval, detect, bank, bench.
 * Exit codes: 0 success; 1 usage error; 2 unreadable or invalid input; 3 grade F.
 */
import { UsageError } from './args.ts';
import { EXIT_GRADE_F, EXIT_INPUT, EXIT_OK, EXIT_USAGE, InputError } from './errors.ts';

export { EXIT_GRADE_F, EXIT_INPUT, EXIT_OK, EXIT_USAGE, InputError };

export const ENGINE_COMMANDS = ['train', 'eval', 'detect', 'bank', 'bench'] as const;

const COMMAND_USAGE: Record<string, string> = {
  train: `violawake train --wake-word "<text>" (--recordings <dir> | --text-only) --out <dir> [--name model]
                [--target-fa-per-hour 0.5] [--seed N] [--arch auto|mlp|tcn] [--corpus <dir>] [--folds k] [--bundle]
                [--json] [--data-dir <dir>] [--bank-scale s] [--synth-scale s] [--max-epochs n] [--quick]
                [--language en|de|fr|es|it|pt|nl|pl|ru]
  Trains a head from WAV recordings (or from text alone) and writes <out>/<name>.onnx and .json (.zip with --bundle).
  --language: the wake word's language (default en; docs/languages.md).
  --folds k (2-10) estimates the user-voice miss rate by k-fold and then trains on every recording (k + 1 trainings).
  Progress goes to stderr. Exit codes: 0 ok, 1 usage, 2 invalid input, 3 grade F (the reason on stderr).`,
  eval: `violawake eval --model <onnx> --positives <dir> --negatives <dir> [--threshold t]
               [--target-fa-per-hour r] [--patience n] [--json]
  Scores one utterance per positive file and the negatives as one stream (FA/h over its real duration).`,
  detect: `violawake detect --model <onnx> [--model …] [--threshold t] [--patience n] [--refractory s] [--vad p]
                 [--json] <file.wav…>
  Streams each file through the detector and prints one line per detection.`,
  bank: `violawake bank build [--force] [--quick]
  Builds the negative embedding bank in <data dir>/engine/bank (otherwise built on the first training).`,
  bench: `violawake bench [--quick] [--neg-hours h] [--words a,b] [--seed N] [--training-seeds 1-5] [--text-seeds s]
                [--held-out-engine festival] [--bank-scale s] [--cache-dir dir] [--out dir]
  The engine's held-out development benchmark (docs/engine.md §11); results in bench/results/engine.md and .json.`,
};

const USAGE = `Engine commands:\n${Object.values(COMMAND_USAGE)
  .map((u) => `  ${u.split('\n')[0]}`)
  .join('\n')}\nRun "violawake <command> --help" for details.\n`;

export async function runEngineCommand(cmd: string, argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    const usage = COMMAND_USAGE[cmd];
    if (usage) {
      process.stdout.write(`Usage: ${usage}\n`);
      return EXIT_OK;
    }
  }
  try {
    switch (cmd) {
      case 'detect':
        return await (await import('./detect.ts')).runDetect(argv);
      case 'eval':
        return await (await import('./eval.ts')).runEval(argv);
      case 'train':
        return await (await import('./train.ts')).runTrain(argv);
      case 'bank':
        return await (await import('./bank.ts')).runBank(argv);
      case 'bench':
        return await (await import('./bench.ts')).runBench(argv);
      default:
        process.stderr.write(`unknown engine command "${cmd}"\n${USAGE}`);
        return EXIT_USAGE;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`violawake ${cmd}: ${err.message}\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (err instanceof InputError) {
      process.stderr.write(`violawake ${cmd}: ${err.message}\n`);
      return EXIT_INPUT;
    }
    const e = err as Error & { code?: string };
    if (e?.code === 'quality_gate') {
      process.stderr.write(`violawake ${cmd}: ${e.message}\n`);
      return EXIT_GRADE_F;
    }
    if (e?.code === 'insufficient_data') {
      process.stderr.write(`violawake ${cmd}: ${e.message}\n`);
      return EXIT_INPUT;
    }
    process.stderr.write(`violawake ${cmd}: ${e?.stack ?? String(err)}\n`);
    return EXIT_INPUT;
  }
}

export { USAGE as ENGINE_USAGE };
