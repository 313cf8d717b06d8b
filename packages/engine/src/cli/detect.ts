/** `violawake detect` (docs/engine.md §10): streams WAV files through one or more heads and prints every detection. */

import { PAD_BEFORE, padForScoring } from '../pipeline/canvas.ts';
import { type HeadRunner, loadHeadRunner } from '../pipeline/heads.ts';
import { fireSteps, openRuntime, scoreAllSteps, withWarmPrefix } from '../pipeline/runtime.ts';
import { deriveRng } from '../rng.ts';
import { bool, list, num, parseArgs, UsageError } from './args.ts';
import { EXIT_OK, InputError } from './errors.ts';
import { modelName, readModel, readSideManifest, readWav16k } from './io.ts';

const SPEC = {
  model: { type: 'list' },
  threshold: { type: 'string' },
  patience: { type: 'string' },
  refractory: { type: 'string' },
  vad: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface Detection {
  file: string;
  t: number;
  model: string;
  score: number;
}

interface LoadedHead {
  name: string;
  runner: HeadRunner;
  threshold: number;
  patience: number;
  refractorySteps: number;
}

export async function runDetect(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SPEC);
  const models = list(p, 'model');
  if (models.length === 0) throw new UsageError('at least one --model is required');
  if (p.positionals.length === 0) throw new UsageError('no input files');
  const thr = num(p, 'threshold', { min: 0, max: 1 });
  const pat = num(p, 'patience', { min: 1, max: 100, integer: true });
  const refr = num(p, 'refractory', { min: 0, max: 3600 });
  const vad = num(p, 'vad', { min: 0, max: 1 });
  const json = bool(p, 'json');

  const rt = await openRuntime();
  const heads: LoadedHead[] = [];
  const detections: Detection[] = [];
  try {
    for (const m of models) {
      const side = await readSideManifest(m);
      let runner: HeadRunner;
      try {
        runner = await loadHeadRunner(rt.ort, await readModel(m));
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError(`${m}: ${(err as Error).message}`);
      }
      heads.push({
        name: modelName(m),
        runner,
        threshold: thr ?? side?.threshold ?? 0.5,
        patience: pat ?? side?.detection?.patience ?? 1,
        refractorySteps: Math.round((refr ?? side?.detection?.refractory_s ?? 2.0) / 0.08),
      });
    }
    const vadGate = vad !== undefined ? await openVadGate(vad) : null;
    for (const [i, file] of p.positionals.entries()) {
      const padded = padForScoring(await readWav16k(file), deriveRng(1, 'detect-pad', i));
      const rows = withWarmPrefix(await rt.embed(padded), rt.warm);
      const speech = vadGate ? await vadGate(padded) : null;
      for (const h of heads) {
        const scores = await scoreAllSteps(h.runner, rows);
        for (const idx of fireSteps(scores, h)) {
          if (speech && !speech(idx + 1)) continue;
          const t = ((idx + 1) * 1280 - PAD_BEFORE) / 16000;
          const d = { file, t: Math.round(t * 1000) / 1000, model: h.name, score: scores[idx] as number };
          detections.push(d);
          if (!json)
            process.stdout.write(`${d.file}\t${d.t.toFixed(2)}\t${d.model}\t${d.score.toFixed(4)}\n`);
        }
      }
    }
  } finally {
    for (const h of heads) await h.runner.release();
  }
  if (json) process.stdout.write(`${JSON.stringify({ detections })}\n`);
  return EXIT_OK;
}

/**
 * VAD gate (docs/engine.md §5 rule 4) through the detector's silero VAD: a firing at step k is kept only when the maximum
 * speech probability over the last 1.0 s (frames ending by the step end) is ≥ the threshold.
 */
async function openVadGate(
  threshold: number,
): Promise<(pcm: Float32Array) => Promise<(step: number) => boolean>> {
  const det = await import('@violawake/detector/node');
  const rt = await openRuntime();
  const vad = await det.loadVad(rt.ort, await det.loadVadModel());
  return async (pcm) => {
    vad.reset();
    const mags = det.toInt16Magnitudes(pcm);
    const open: boolean[] = [false];
    for (let k = 1; k * 1280 <= mags.length; k++) {
      await vad.pushMagnitudes(mags.subarray((k - 1) * 1280, k * 1280));
      open.push(vad.maxOver(k * 1280) >= threshold);
    }
    return (step) => open[step] === true;
  };
}
