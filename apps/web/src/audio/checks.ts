/**
 * Per-take quality checks run in the browser right after each take (16 kHz int16): too short, silent, clipped,
 * noisy. Errors reject the take; warnings let the user keep it but suggest re-recording.
 */

export type TakeIssueCode = 'silent' | 'too_quiet' | 'too_short' | 'cut_off' | 'clipped' | 'noisy';

export interface TakeIssue {
  code: TakeIssueCode;
  severity: 'error' | 'warning';
  message: string;
}

export interface TakeAnalysis {
  durationS: number;
  /** Span from the first to the last frame that stands out from the noise floor. */
  speechS: number;
  rms: number;
  peakDb: number;
  noiseFloorDb: number;
  speechDb: number;
  snrDb: number;
  clippedShare: number;
  issues: TakeIssue[];
  ok: boolean;
}

const FRAME = 320; // 20 ms at 16 kHz
const FULL_SCALE = 32768;

function db(value: number): number {
  return 20 * Math.log10(Math.max(value, 1e-9) / FULL_SCALE);
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return -Infinity;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.round((sorted.length - 1) * p)));
  return sorted[idx];
}

export const CHECK_LIMITS = {
  /** The server rejects int16 RMS below 10 as silent (docs/api.md §4.5). */
  silentRms: 10,
  tooQuietPeakDb: -35,
  minSpeechS: 0.25,
  minDurationS: 0.5,
  clippedShare: 0.005,
  minSnrDb: 12,
};

export function analyzeTake(samples: Int16Array, sampleRate = 16000): TakeAnalysis {
  const durationS = samples.length / sampleRate;
  let sumSq = 0;
  let peak = 0;
  let clipped = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    sumSq += s * s;
    const a = Math.abs(s);
    if (a > peak) peak = a;
    if (a >= 0.999 * 32767) clipped++;
  }
  const rms = samples.length ? Math.sqrt(sumSq / samples.length) : 0;
  const frameSize = Math.round((FRAME * sampleRate) / 16000);
  const frameDb: number[] = [];
  for (let start = 0; start + frameSize <= samples.length; start += frameSize) {
    let e = 0;
    for (let i = start; i < start + frameSize; i++) e += samples[i] * samples[i];
    frameDb.push(db(Math.sqrt(e / frameSize)));
  }
  const sorted = [...frameDb].sort((a, b) => a - b);
  const noiseFloorDb = percentile(sorted, 0.1);
  const speechDb = percentile(sorted, 0.95);
  const snrDb = speechDb - noiseFloorDb;
  const active = Math.max(noiseFloorDb + 10, speechDb - 25, -55);
  let firstActive = -1;
  let lastActive = -1;
  frameDb.forEach((d, i) => {
    if (d >= active) {
      if (firstActive < 0) firstActive = i;
      lastActive = i;
    }
  });
  const speechS = firstActive < 0 ? 0 : ((lastActive - firstActive + 1) * frameSize) / sampleRate;
  const clippedShare = samples.length ? clipped / samples.length : 0;
  const peakDb = db(peak);

  const issues: TakeIssue[] = [];
  if (rms < CHECK_LIMITS.silentRms) {
    issues.push({
      code: 'silent',
      severity: 'error',
      message: 'Nothing was heard. Check that the right microphone is selected and not muted.',
    });
  } else if (peakDb < CHECK_LIMITS.tooQuietPeakDb) {
    issues.push({
      code: 'too_quiet',
      severity: 'error',
      message: 'Too quiet. Move closer to the microphone or speak louder.',
    });
  } else {
    if (durationS < CHECK_LIMITS.minDurationS || speechS < CHECK_LIMITS.minSpeechS) {
      issues.push({
        code: 'too_short',
        severity: 'error',
        message: 'Too short: say the whole phrase after the countdown ends.',
      });
    }
    if (snrDb < CHECK_LIMITS.minSnrDb) {
      issues.push({
        code: 'noisy',
        severity: 'warning',
        message: 'Background noise is high compared with your voice. A quieter room gives a better model.',
      });
    }
  }
  if (clippedShare > CHECK_LIMITS.clippedShare) {
    issues.push({
      code: 'clipped',
      severity: 'warning',
      message: 'The take is distorted (clipped). Speak a little softer or move back from the microphone.',
    });
  }
  return {
    durationS,
    speechS,
    rms,
    peakDb,
    noiseFloorDb,
    speechDb,
    snrDb,
    clippedShare,
    issues,
    ok: !issues.some((i) => i.severity === 'error'),
  };
}

export interface SpeechSegment {
  /** Sample offsets of the kept region (speech plus padding). */
  start: number;
  end: number;
  /** True when the chosen speech touches the start or end of the capture (the phrase may be cut off). */
  touchesEdge: boolean;
}

/**
 * Finds the phrase in a capture window: frames that stand out from the noise floor, merged across short pauses;
 * prefers a region that does not touch the window's edges, then the loudest one; pads it by `padS` each side and
 * to at least `minS`. Returns null when nothing stands out.
 */
export function findSpeech(
  samples: Int16Array,
  sampleRate = 16000,
  padS = 0.25,
  minS = 0.6,
): SpeechSegment | null {
  const frameSize = Math.round((FRAME * sampleRate) / 16000);
  const frames = Math.floor(samples.length / frameSize);
  if (frames < 3) return null;
  const energies: number[] = [];
  for (let f = 0; f < frames; f++) {
    let e = 0;
    for (let i = f * frameSize; i < (f + 1) * frameSize; i++) e += samples[i] * samples[i];
    energies.push(db(Math.sqrt(e / frameSize)));
  }
  const sorted = [...energies].sort((a, b) => a - b);
  const floor = percentile(sorted, 0.1);
  const top = percentile(sorted, 0.98);
  if (top - floor < 10 || top < -60) return null;
  const active = Math.max(floor + 10, top - 30, -60);
  const maxGap = Math.round(0.3 / (frameSize / sampleRate));
  const regions: { a: number; b: number; peak: number }[] = [];
  for (let f = 0; f < frames; f++) {
    if (energies[f] < active) continue;
    const last = regions[regions.length - 1];
    if (last && f - last.b <= maxGap) {
      last.b = f;
      last.peak = Math.max(last.peak, energies[f]);
    } else regions.push({ a: f, b: f, peak: energies[f] });
  }
  const minFrames = Math.max(2, Math.round(0.1 / (frameSize / sampleRate)));
  const candidates = regions.filter((r) => r.b - r.a + 1 >= minFrames);
  if (!candidates.length) return null;
  const inner = candidates.filter((r) => r.a > 0 && r.b < frames - 1);
  const pool = inner.length ? inner : candidates;
  const best = pool.reduce((x, y) => (y.peak > x.peak ? y : x));
  const pad = Math.round(padS * sampleRate);
  let start = Math.max(0, best.a * frameSize - pad);
  let end = Math.min(samples.length, (best.b + 1) * frameSize + pad);
  const minLen = Math.round(minS * sampleRate);
  if (end - start < minLen) {
    const extra = minLen - (end - start);
    start = Math.max(0, start - Math.ceil(extra / 2));
    end = Math.min(samples.length, start + minLen);
    start = Math.max(0, end - minLen);
  }
  return { start, end, touchesEdge: best.a === 0 || best.b === frames - 1 };
}
