/** `violawake bank build [--force] [--quick] [--scale s]` (docs/engine.md §6.7, §10). */
import { DEFAULT_HELDOUT_ENGINE, ensureBank } from '../bank/build.ts';
import { ensureHeldoutBank, installedRealAudio } from '../bank/heldout.ts';
import { discoverProviders, disposeProviders } from '../synth/index.ts';
import { bool, num, parseArgs, str, UsageError } from './args.ts';
import { EXIT_OK } from './errors.ts';
import { engineDataDir } from './paths.ts';

const SPEC = {
  force: { type: 'boolean' },
  quick: { type: 'boolean' },
  scale: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Scale of a `--quick` bank (≈ 2 min train part, ≈ 4 min evaluation stream). */
export const QUICK_BANK_SCALE = 0.02;

export async function runBank(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SPEC);
  const [sub, ...rest] = p.positionals;
  if (sub !== 'build' || rest.length > 0)
    throw new UsageError('usage: violawake bank build [--force] [--quick]');
  const scale = num(p, 'scale', { min: 0.001, max: 10 }) ?? (bool(p, 'quick') ? QUICK_BANK_SCALE : 1);
  const dataDir = str(p, 'data-dir') ?? engineDataDir();
  let last = '';
  const bank = await ensureBank({
    dataDir,
    scale,
    force: bool(p, 'force'),
    onProgress: (message, fraction) => {
      const line = `[bank ${String(Math.round(fraction * 100)).padStart(3)} %] ${message}`;
      if (line !== last) process.stderr.write(`${line}\n`);
      last = line;
    },
  });
  // the held-out bank a job of this installation uses (docs/engine.md §6.7): real recordings, the held-out engine
  const providers = await discoverProviders();
  let held: Awaited<ReturnType<typeof ensureHeldoutBank>> | null = null;
  try {
    const engine = providers.find((x) => x.id === DEFAULT_HELDOUT_ENGINE);
    const voices = engine ? await engine.voices() : [];
    const realAudio = await installedRealAudio();
    if (voices.length > 0 || realAudio.speech.length + realAudio.music.length > 0)
      held = await ensureHeldoutBank({
        dataDir,
        scale,
        realAudio,
        engine: engine && voices.length > 0 ? { provider: engine, voices } : null,
        providers,
        onProgress: (message, fraction) => {
          const line = `[held-out ${String(Math.round(fraction * 100)).padStart(3)} %] ${message}`;
          if (line !== last) process.stderr.write(`${line}\n`);
          last = line;
        },
      });
  } finally {
    disposeProviders(providers);
  }
  const summary = {
    dir: bank.dir,
    key: bank.index.key,
    built: bank.built,
    build_seconds: bank.buildSeconds,
    train_hours: bank.index.train.seconds / 3600,
    eval_hours: bank.index.eval.seconds / 3600,
    train_windows_rows: bank.index.train.rows,
    voices: { train: bank.index.voices.train.length, eval: bank.index.voices.eval.length },
    providers: bank.index.providers,
    heldout: held
      ? {
          dir: held.dir,
          built: held.built,
          build_seconds: held.index.build_seconds,
          engine: held.info.engine,
          seconds: held.info.seconds,
        }
      : null,
  };
  if (bool(p, 'json')) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `${bank.built ? `Built the negative bank in ${bank.buildSeconds} s` : 'The negative bank is up to date'}: ${bank.dir}\n` +
        `  train part ${(summary.train_hours * 60).toFixed(1)} min, evaluation stream ${(summary.eval_hours * 60).toFixed(1)} min, ` +
        `voices ${summary.voices.train} train / ${summary.voices.eval} eval (${summary.providers.join(', ')})\n` +
        (held
          ? `${held.built ? `Built the held-out audio in ${held.index.build_seconds} s` : 'The held-out audio is up to date'}: ${held.dir} (engine ${held.info.engine ?? 'none'}, calibration ${((held.info.seconds.calibration.speech + held.info.seconds.calibration.music + held.info.seconds.calibration.engine) / 60).toFixed(1)} min, report ${((held.info.seconds.report.speech + held.info.seconds.report.music + held.info.seconds.report.engine) / 60).toFixed(1)} min)\n`
          : 'No held-out audio is installed (docs/engine.md §6.7).\n'),
    );
  }
  return EXIT_OK;
}
