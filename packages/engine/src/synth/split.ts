/**
 * Splitting of batched synthesis output (docs/engine.md §6.3): utterances are separated by a 700 ms break and the output
 * is cut at silences of at least `minGapSec`. Pieces are returned without their leading/trailing silence.
 */
export function splitOnSilence(
  samples: Float32Array,
  sampleRate: number,
  opts: { minGapSec?: number; thresholdDbfs?: number; frameSec?: number } = {},
): Float32Array[] {
  // Frame-level decision (10 ms RMS against −60 dBFS): some espeak variants add breath noise to pauses, so single
  // samples are not a reliable silence test.
  const frame = Math.max(1, Math.round((opts.frameSec ?? 0.01) * sampleRate));
  const thr = 10 ** ((opts.thresholdDbfs ?? -60) / 20);
  const thr2 = thr * thr * frame;
  const nFrames = Math.ceil(samples.length / frame);
  const minGapFrames = Math.ceil(((opts.minGapSec ?? 0.5) * sampleRate) / frame);
  const pieces: Float32Array[] = [];
  let startF = -1;
  let lastLoudF = -1;
  for (let f = 0; f < nFrames; f++) {
    let e = 0;
    const end = Math.min(samples.length, (f + 1) * frame);
    for (let i = f * frame; i < end; i++) e += (samples[i] as number) ** 2;
    if (e > thr2) {
      if (startF < 0) startF = f;
      else if (f - lastLoudF - 1 >= minGapFrames) {
        pieces.push(trimSilence(samples.subarray(startF * frame, (lastLoudF + 1) * frame)));
        startF = f;
      }
      lastLoudF = f;
    }
  }
  if (startF >= 0)
    pieces.push(
      trimSilence(samples.subarray(startF * frame, Math.min(samples.length, (lastLoudF + 1) * frame))),
    );
  return pieces;
}

/** Removes leading and trailing samples at or below `threshold` in magnitude. */
export function trimSilence(samples: Float32Array, threshold = 1e-3): Float32Array {
  let a = 0;
  let b = samples.length - 1;
  while (a <= b && Math.abs(samples[a] as number) <= threshold) a++;
  while (b >= a && Math.abs(samples[b] as number) <= threshold) b--;
  return samples.slice(a, b + 1);
}
