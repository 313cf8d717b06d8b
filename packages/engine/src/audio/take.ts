/**
 * Whether the trainer can use a take (docs/engine.md, "Take checks: one function at upload and in the trainer"). The
 * recordings service calls `TakeChecker.check` on the stored 16 kHz samples before it keeps an upload, and the
 * training pipeline calls the same function on the same samples, so a take the upload accepted is a take the trainer
 * uses.
 *
 * The checks: the energy trim of `trim.ts` (a speech run of 0.2–2.5 s, with lower and higher thresholds retried for
 * soft, noisy or breathy takes), then silero VAD on the padded run brought to −20 dBFS (at most +40 dB of gain):
 * the take is speech when the mean of the upper half of its 32 ms frame probabilities is at least 0.4.
 */
import { toInt16Magnitudes } from '@violawake/detector';
import * as detectorNode from '@violawake/detector/node';
import { rms } from './levels.ts';
import { type TrimRejectReason, type TrimResult, trimClipAsync } from './trim.ts';

type Vad = Awaited<ReturnType<typeof detectorNode.loadVad>>;

/** Level the VAD sees (dBFS RMS of the padded run) and the largest gain applied to reach it. */
export const VAD_LEVEL_DBFS = -20;
export const VAD_MAX_GAIN_DB = 40;
/** A take is speech when the mean of the upper half of its frame probabilities reaches this. */
export const VAD_SPEECH_SCORE = 0.4;

/** What the user is told for each reason a take cannot be used (the upload's 422 and the training notes). */
export const TAKE_REJECTION_MESSAGES: Record<TrimRejectReason, string> = {
  empty: 'The take holds no audio.',
  no_speech: 'No speech was found in the take: only silence or steady noise.',
  too_short:
    'The spoken part is too short (under 0.2 s). Say the whole wake word, a little closer to the microphone.',
  too_long:
    'The spoken part is longer than 2.5 s. Say only the wake word, once, with silence before and after.',
  vad_rejected:
    'The take does not sound like speech (a knock, a click, a hum or music?). Say the wake word clearly.',
};

export interface TakeCheck {
  usable: boolean;
  /** Why not, when not usable. */
  reason: TrimRejectReason | null;
  /** The user-facing sentence for `reason` (null when usable). */
  message: string | null;
  /** The trim (the kept samples when usable, and the diagnostics either way). */
  trim: TrimResult;
}

/** The VAD speech score of a run: silero on the level-normalised run, mean of the upper half of the frames. */
export async function speechScore(vad: Vad, run: Float32Array): Promise<number> {
  const level = rms(run);
  const gain = Math.min(10 ** (VAD_MAX_GAIN_DB / 20), 10 ** (VAD_LEVEL_DBFS / 20) / Math.max(level, 1e-9));
  const x = new Float32Array(run.length);
  for (let i = 0; i < run.length; i++) x[i] = Math.max(-1, Math.min(1, (run[i] as number) * gain));
  vad.reset();
  const mags = toInt16Magnitudes(x);
  const probs: number[] = [];
  for (let i = 0; i + 512 <= mags.length; i += 512) {
    await vad.pushMagnitudes(mags.subarray(i, i + 512));
    probs.push(vad.last);
  }
  if (probs.length === 0) return 0;
  probs.sort((a, b) => b - a);
  const k = Math.ceil(probs.length / 2);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += probs[i] as number;
  return sum / k;
}

/** Checks takes with one loaded VAD; calls are serialised (the VAD keeps recurrent state). */
export class TakeChecker {
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(private readonly vad: Vad) {}

  /** Loads silero VAD (pinned model, onnxruntime-node, one thread). */
  static async open(ort: unknown = detectorNode.ort): Promise<TakeChecker> {
    return new TakeChecker(
      await detectorNode.loadVad(ort, await detectorNode.loadVadModel(), { threads: 1 }),
    );
  }

  /** The checks on a 16 kHz mono clip (full scale ±1). */
  check(samples16k: Float32Array): Promise<TakeCheck> {
    const run = this.queue.then(() => this.checkNow(samples16k));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The checks on stored int16 samples (what the recordings service keeps). */
  checkInt16(samples: Int16Array): Promise<TakeCheck> {
    const x = new Float32Array(samples.length);
    for (let i = 0; i < samples.length; i++) x[i] = (samples[i] as number) / 32768;
    return this.check(x);
  }

  private async checkNow(samples16k: Float32Array): Promise<TakeCheck> {
    if (this.disposed) throw new Error('TakeChecker is disposed');
    const trim = await trimClipAsync(samples16k, {
      vadProb: (run) => speechScore(this.vad, run),
      vadThreshold: VAD_SPEECH_SCORE,
    });
    if (trim.ok) return { usable: true, reason: null, message: null, trim };
    return { usable: false, reason: trim.reason, message: TAKE_REJECTION_MESSAGES[trim.reason], trim };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.queue;
    this.disposed = true;
    await this.vad.dispose();
  }
}
