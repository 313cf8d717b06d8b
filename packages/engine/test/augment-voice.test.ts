import FFT from 'fft.js';
import { describe, expect, it } from 'vitest';
import { biquad } from '../src/audio/biquad.ts';
import { rms } from '../src/audio/levels.ts';
import {
  AUGMENT_CONFIG,
  type AugmentLog,
  augment,
  augmentPlaced,
  augmentUtterance,
  formantWarp,
  micResponse,
  OPUS_DELAY,
  opusRoundTrip,
  randomMicBands,
  spectralTilt,
  telephone,
  VOICE_CHANNEL_CONFIG,
} from '../src/augment/index.ts';
import { deriveRng } from '../src/rng.ts';

const SR = 16000;

/** A steady vowel: a 125 Hz pulse train through one resonance at `formantHz` (Q 4), 1 s. */
function vowel(formantHz: number, seconds = 1): Float32Array {
  const x = new Float32Array(Math.round(seconds * SR));
  for (let i = 0; i < x.length; i += SR / 125) x[i] = 1;
  const y = biquad(x, 'bandpass', formantHz, 4);
  const g = 0.3 / Math.max(...y.map(Math.abs));
  return y.map((v) => v * g);
}

function whiteNoise(seed: number, seconds = 1): Float32Array {
  const r = deriveRng(seed, 'white', 0);
  return Float32Array.from({ length: Math.round(seconds * SR) }, () => 0.1 * (2 * r.next() - 1));
}

/** Power spectrum of the middle of `x` (bins of SR / size Hz). */
function powerSpectrum(x: Float32Array, size = 8192): Float64Array {
  const fft = new FFT(size);
  const start = Math.max(0, Math.floor((x.length - size) / 2));
  const frame = new Array<number>(size).fill(0);
  for (let i = 0; i < size && start + i < x.length; i++)
    frame[i] = (x[start + i] as number) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
  const out = fft.createComplexArray() as number[];
  fft.realTransform(out, frame);
  const p = new Float64Array(size / 2 + 1);
  for (let k = 0; k <= size / 2; k++) p[k] = (out[2 * k] as number) ** 2 + (out[2 * k + 1] as number) ** 2;
  return p;
}

/** Mean power (dB) of `x` between `lo` and `hi` Hz. */
function bandDb(x: Float32Array, lo: number, hi: number, size = 8192): number {
  const p = powerSpectrum(x, size);
  let s = 0;
  let n = 0;
  for (let k = Math.ceil((lo * size) / SR); k <= Math.floor((hi * size) / SR); k++, n++) s += p[k] as number;
  return 10 * Math.log10(s / n + 1e-30);
}

/** Power-weighted mean frequency between `lo` and `hi` Hz: where a resonance sits. */
function centroidHz(x: Float32Array, lo: number, hi: number): number {
  const size = 8192;
  const p = powerSpectrum(x, size);
  let s = 0;
  let w = 0;
  for (let k = Math.ceil((lo * size) / SR); k <= Math.floor((hi * size) / SR); k++) {
    s += (p[k] as number) * ((k * SR) / size);
    w += p[k] as number;
  }
  return s / w;
}

/** Period (samples) of the strongest autocorrelation peak between 2.5 and 12.5 ms: the pitch. */
function periodOf(x: Float32Array): number {
  const a = Math.floor(x.length / 4);
  const b = Math.floor((3 * x.length) / 4);
  let best = -Infinity;
  let lag = 0;
  for (let L = 40; L <= 200; L++) {
    let s = 0;
    for (let i = a; i < b; i++) s += (x[i] as number) * (x[i + L] as number);
    if (s > best) {
      best = s;
      lag = L;
    }
  }
  return lag;
}

/** Checks that `f` returns a new array of the input's length, the same for the same input, and leaves it as it was. */
function pureOfLength(f: (x: Float32Array) => Float32Array, x: Float32Array): Float32Array {
  const copy = x.slice();
  const a = f(x);
  const b = f(x);
  expect(a).not.toBe(x);
  expect(a.length).toBe(x.length);
  expect(b).toEqual(a);
  expect(x).toEqual(copy);
  expect(a.every(Number.isFinite)).toBe(true);
  return a;
}

describe('formant warp (vocal-tract length)', () => {
  it('moves the resonance towards alpha times its frequency and keeps the pitch, the length and the level', () => {
    const x = vowel(1000);
    const before = centroidHz(x, 400, 2500);
    for (const alpha of [0.85, 1.2]) {
      const y = pureOfLength((v) => formantWarp(v, alpha), x);
      const after = centroidHz(y, 400, 2500);
      // the smoothed envelope is broader than the resonance, so it moves by most of the factor's change, not all
      const moved = (after / before - 1) / (alpha - 1);
      expect(moved).toBeGreaterThan(0.5);
      expect(moved).toBeLessThan(1.2);
      expect(periodOf(y)).toBe(periodOf(x)); // 128 samples: 125 Hz
      expect(rms(y)).toBeCloseTo(rms(x), 5);
    }
    expect(periodOf(x)).toBe(128);
  });

  it('is the identity at alpha 1 and refuses a non-positive factor', () => {
    const x = vowel(700, 0.3);
    expect(formantWarp(x, 1)).toEqual(x);
    expect(formantWarp(new Float32Array(0), 1.1).length).toBe(0);
    expect(() => formantWarp(x, 0)).toThrow(RangeError);
  });
});

describe('microphone response', () => {
  it('spectral tilt raises the highs against the lows by about its dB, at the same RMS', () => {
    const x = whiteNoise(1);
    for (const db of [-8, 8]) {
      const y = pureOfLength((v) => spectralTilt(v, db), x);
      const change =
        bandDb(y, 4500, 7000) - bandDb(y, 40, 120) - (bandDb(x, 4500, 7000) - bandDb(x, 40, 120));
      expect(Math.abs(change - db)).toBeLessThan(1.5);
      expect(rms(y)).toBeCloseTo(rms(x), 5);
    }
  });

  it('peaks and dips change their bands by about their gain, and the bands are drawn within range per seed', () => {
    const x = whiteNoise(2);
    const y = pureOfLength(
      (v) =>
        micResponse(v, [
          { hz: 1000, gainDb: 8, q: 2 },
          { hz: 4000, gainDb: -8, q: 2 },
        ]),
      x,
    );
    const rel = (v: Float32Array, lo: number, hi: number) => bandDb(v, lo, hi) - bandDb(v, 200, 400);
    expect(Math.abs(rel(y, 970, 1030) - rel(x, 970, 1030) - 8)).toBeLessThan(1.5);
    expect(Math.abs(rel(y, 3900, 4100) - rel(x, 3900, 4100) + 8)).toBeLessThan(1.5);
    expect(micResponse(x, [])).toEqual(x);
    const a = randomMicBands(deriveRng(3, 'mic', 0));
    expect(randomMicBands(deriveRng(3, 'mic', 0))).toEqual(a);
    expect(randomMicBands(deriveRng(3, 'mic', 1))).not.toEqual(a);
    for (let i = 0; i < 50; i++)
      for (const b of randomMicBands(deriveRng(4, 'mic', i))) {
        expect(b.hz).toBeGreaterThanOrEqual(150);
        expect(b.hz).toBeLessThanOrEqual(6000);
        expect(Math.abs(b.gainDb)).toBeLessThanOrEqual(8);
        expect(b.q).toBeGreaterThanOrEqual(0.7);
        expect(b.q).toBeLessThanOrEqual(3);
      }
  });
});

describe('codecs', () => {
  it('telephone audio keeps 300–3,400 Hz, drops the rest, and has at most 256 levels', () => {
    const x = whiteNoise(5);
    const y = pureOfLength(telephone, x);
    const voice = bandDb(y, 800, 2500) - bandDb(x, 800, 2500);
    expect(Math.abs(voice)).toBeLessThan(1);
    expect(bandDb(y, 5500, 7500) - bandDb(x, 5500, 7500)).toBeLessThan(-25);
    expect(bandDb(y, 30, 80) - bandDb(x, 30, 80)).toBeLessThan(-15);
    expect(new Set(y).size).toBeLessThanOrEqual(256);
    expect(new Set(x).size).toBeGreaterThan(256);
  });

  it('an Opus round trip stays aligned with its input, loses more at a lower bit rate, and is deterministic', () => {
    const second = vowel(2200, 1);
    const x = vowel(900, 1).map((v, i) => v + 0.5 * (second[i] as number));
    const hi = pureOfLength((v) => opusRoundTrip(v, 24000), x);
    const lo = opusRoundTrip(x, 8000);
    // cross-correlation is highest at lag 0 (the codec's delay of OPUS_DELAY samples removed)
    const corrAt = (y: Float32Array, lag: number) => {
      let s = 0;
      for (let i = 2000; i < x.length - 2000; i++) s += (x[i] as number) * (y[i + lag] as number);
      return s;
    };
    let bestLag = 0;
    for (let lag = -OPUS_DELAY - 20; lag <= OPUS_DELAY + 20; lag++)
      if (corrAt(hi, lag) > corrAt(hi, bestLag)) bestLag = lag;
    expect(Math.abs(bestLag)).toBeLessThanOrEqual(1);
    const snr = (y: Float32Array) => {
      let s = 0;
      let e = 0;
      for (let i = 2000; i < x.length - 2000; i++) {
        s += (x[i] as number) ** 2;
        e += ((x[i] as number) - (y[i] as number)) ** 2;
      }
      return 10 * Math.log10(s / e);
    };
    expect(snr(hi)).toBeGreaterThan(snr(lo));
    expect(lo).not.toEqual(hi);
    expect(() => opusRoundTrip(x, 1000)).toThrow(RangeError);
    expect(opusRoundTrip(new Float32Array(0), 12000).length).toBe(0);
  });
});

describe('voice and channel draws in the augmentation', () => {
  it('applies formants, microphone and codec with their probabilities and ranges, after the earlier draws', () => {
    const C = VOICE_CHANNEL_CONFIG;
    const utt = vowel(800, 0.5);
    const canvas = new Float32Array(SR);
    canvas.set(utt, 4000);
    const n = 200;
    const counts = { formant: 0, mic: 0, codec: 0, phone: 0 };
    for (let i = 0; i < n; i++) {
      const log: Partial<AugmentLog> = {};
      const offLog: Partial<AugmentLog> = {};
      augmentUtterance(utt, deriveRng(6, 'voice', i), log, C);
      augmentUtterance(utt, deriveRng(6, 'voice', i), offLog, AUGMENT_CONFIG);
      // the first design's draws do not move when the formant draw is turned off
      expect(offLog.speed).toBe(log.speed);
      expect(offLog.pitchSemitones).toBe(log.pitchSemitones);
      expect(offLog.rt60).toBe(log.rt60);
      expect(offLog.formantAlpha).toBeUndefined();
      if (log.formantAlpha !== undefined) {
        counts.formant++;
        expect(log.formantAlpha).toBeGreaterThanOrEqual(C.formant.alpha[0]);
        expect(log.formantAlpha).toBeLessThanOrEqual(C.formant.alpha[1]);
      }
      const placedLog = { gainDb: 0 } as AugmentLog;
      const region: [number, number] = [4000, 4000 + utt.length];
      const y = augmentPlaced(canvas, deriveRng(7, 'voice', i), { region, log: placedLog }, C);
      expect(y.length).toBe(canvas.length);
      if (placedLog.mic) {
        counts.mic++;
        expect(Math.abs(placedLog.mic.tiltDb)).toBeLessThanOrEqual(8);
      }
      if (placedLog.codec) {
        counts.codec++;
        if (placedLog.codec === 'telephone') counts.phone++;
        else expect(placedLog.codec).toMatch(/^opus (\d{4}|\d{5})$/);
      }
      // with the default table (these transforms off) the same draws give what they gave before them
      const offPlaced = { gainDb: 0 } as AugmentLog;
      augmentPlaced(canvas, deriveRng(7, 'voice', i), { region, log: offPlaced });
      expect(offPlaced.mic).toBeUndefined();
      expect(offPlaced.codec).toBeUndefined();
      expect(offPlaced.gainDb).toBe(placedLog.gainDb);
      expect(offPlaced.noise).toEqual(placedLog.noise);
      expect(offPlaced.channel).toEqual(placedLog.channel);
    }
    const within = (count: number, p: number, m = n) =>
      Math.abs(count / m - p) < 4 * Math.sqrt((p * (1 - p)) / m);
    expect(within(counts.formant, C.formant.p)).toBe(true);
    expect(within(counts.mic, C.mic.p)).toBe(true);
    expect(within(counts.codec, C.codec.p)).toBe(true);
    expect(counts.phone).toBeGreaterThan(0);
    expect(counts.phone).toBeLessThan(counts.codec);
  }, 60_000);

  it('is deterministic per seed with the voice and channel transforms on', () => {
    const x = vowel(600, 0.8);
    const a = augment(x, deriveRng(8, 'voice-aug', 1));
    expect(augment(x, deriveRng(8, 'voice-aug', 1))).toEqual(a);
    const on = (seed: number) => {
      const pre = augmentUtterance(x, deriveRng(seed, 'pre', 0), undefined, VOICE_CHANNEL_CONFIG);
      return augmentPlaced(pre, deriveRng(seed, 'post', 0), {}, VOICE_CHANNEL_CONFIG);
    };
    expect(on(9)).toEqual(on(9));
    expect(on(10)).not.toEqual(on(9));
  });
});
