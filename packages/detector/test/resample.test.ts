import { describe, expect, it } from 'vitest';
import { SampleRateError } from '../src/errors.ts';
import { resample, StreamingResampler } from '../src/resample.ts';

function tone(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** Amplitude of the component at `freq` (least-squares fit of sin+cos) over the steady middle of `y`. */
function fitAmplitude(y: Float32Array, freq: number, rate: number): { amp: number; residualRms: number } {
  const from = Math.floor(y.length * 0.2);
  const to = Math.floor(y.length * 0.8);
  let ss = 0;
  let cc = 0;
  let sc = 0;
  let ys = 0;
  let yc = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    const s = Math.sin(w);
    const c = Math.cos(w);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    ys += y[i] * s;
    yc += y[i] * c;
  }
  const det = ss * cc - sc * sc;
  const a = (ys * cc - yc * sc) / det;
  const b = (yc * ss - ys * sc) / det;
  let res = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    const e = y[i] - a * Math.sin(w) - b * Math.cos(w);
    res += e * e;
  }
  return { amp: Math.hypot(a, b), residualRms: Math.sqrt(res / (to - from)) };
}

function rms(y: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += y[i] * y[i];
  return Math.sqrt(s / (to - from));
}

const db = (x: number) => 20 * Math.log10(x);

describe.each([44_100, 48_000])('resampling %i Hz → 16 kHz', (fromRate) => {
  it('passband (20 Hz – 7.2 kHz) is flat within ±0.05 dB and clean', () => {
    const gains: number[] = [];
    for (let f = 20; f <= 7200; f += f < 1000 ? 140 : 310) {
      const y = resample(tone(f, fromRate, 0.25), fromRate, 16_000);
      const { amp, residualRms } = fitAmplitude(y, f, 16_000);
      gains.push(db(amp / 0.5));
      // Whatever is not the tone (aliases, imaging, numerical noise) is ≥ 70 dB below it.
      expect(db(residualRms / (0.5 / Math.SQRT2))).toBeLessThan(-70);
    }
    const f = 7200;
    gains.push(db(fitAmplitude(resample(tone(f, fromRate, 0.25), fromRate, 16_000), f, 16_000).amp / 0.5));
    expect(gains.length).toBeGreaterThan(25);
    expect(Math.max(...gains)).toBeLessThan(0.05);
    expect(Math.min(...gains)).toBeGreaterThan(-0.05);
  });

  it('stopband (8 kHz – Nyquist) is attenuated by at least 70 dB', () => {
    let worst = Number.NEGATIVE_INFINITY;
    for (let f = 8000; f < fromRate / 2; f += 397) {
      const y = resample(tone(f, fromRate, 0.2), fromRate, 16_000);
      const level = db(rms(y, 400, y.length - 400) / (0.5 / Math.SQRT2));
      worst = Math.max(worst, level);
    }
    expect(worst).toBeLessThan(-70);
  });

  it('a full linear sweep keeps the in-band part and removes the out-of-band part', () => {
    // 4 s sweep 0 → Nyquist: the first part (≤ 7.2 kHz) passes at full level, the part above 8 kHz vanishes.
    const seconds = 4;
    const n = fromRate * seconds;
    const nyq = fromRate / 2;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / fromRate;
      x[i] = 0.5 * Math.sin(2 * Math.PI * ((nyq / seconds / 2) * t * t));
    }
    const y = resample(x, fromRate, 16_000);
    expect(y.length).toBe(Math.ceil((n * 16_000) / fromRate));
    // Instantaneous frequency f(t) = nyq · t / seconds.
    const at = (f: number) => Math.round((f / nyq) * seconds * 16_000);
    const inBand = rms(y, at(500), at(7000));
    const outBand = rms(y, at(8200), y.length - 200);
    expect(Math.abs(db(inBand / (0.5 / Math.SQRT2)))).toBeLessThan(0.05);
    expect(db(outBand / (0.5 / Math.SQRT2))).toBeLessThan(-70);
  });
});

describe('StreamingResampler', () => {
  it.each([
    [44_100, 16_000],
    [48_000, 16_000],
    [8_000, 16_000],
    [22_050, 16_000],
    [44_101, 16_000], // more than 4096 phases: quantised phase path
  ])('%i → %i: any chunking gives exactly the one-shot output', (fromRate, toRate) => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const x = new Float32Array(Math.round(fromRate * 0.7));
    for (let i = 0; i < x.length; i++) x[i] = rand() * 2 - 1;
    const ref = resample(x, fromRate, toRate);
    expect(ref.length).toBe(Math.ceil((x.length * toRate) / fromRate));
    const r = new StreamingResampler(fromRate, toRate);
    const parts: Float32Array[] = [];
    let pos = 0;
    while (pos < x.length) {
      const len = Math.min(x.length - pos, 1 + Math.floor(rand() ** 3 * 5000));
      parts.push(r.process(x.subarray(pos, pos + len)));
      pos += len;
    }
    parts.push(r.flush());
    const got = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      got.set(p, o);
      o += p.length;
    }
    expect(got.length).toBe(ref.length);
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
    expect(maxDiff).toBe(0);
  });

  it('one-shot conversion of long input (processed in slices) equals streaming it in small chunks', () => {
    let seed = 99;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const x = Float32Array.from({ length: 48_000 * 8 }, () => rand() - 0.5);
    const ref = resample(x, 48_000, 16_000);
    expect(ref.length).toBe(128_000);
    const r = new StreamingResampler(48_000, 16_000);
    const parts: Float32Array[] = [];
    for (let i = 0; i < x.length; i += 4096) parts.push(r.process(x.subarray(i, i + 4096)));
    parts.push(r.flush());
    let o = 0;
    let maxDiff = 0;
    for (const p of parts) {
      for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i] - ref[o + i]));
      o += p.length;
    }
    expect(o).toBe(ref.length);
    expect(maxDiff).toBe(0);
  });

  it('upsampling 8 kHz keeps a 3 kHz tone and its level', () => {
    const y = resample(tone(3000, 8000, 0.3), 8000, 16_000);
    const { amp, residualRms } = fitAmplitude(y, 3000, 16_000);
    expect(Math.abs(db(amp / 0.5))).toBeLessThan(0.05);
    expect(db(residualRms / (0.5 / Math.SQRT2))).toBeLessThan(-70);
  });

  it('reset() restarts from a clean state and equal rates pass samples through', () => {
    const r = new StreamingResampler(48_000, 16_000);
    const x = tone(440, 48_000, 0.1);
    const a = r.process(x);
    r.process(tone(1000, 48_000, 0.05));
    r.reset();
    const b = r.process(x);
    expect(Array.from(b)).toEqual(Array.from(a));
    const same = new StreamingResampler(16_000, 16_000).process(x);
    expect(Array.from(same)).toEqual(Array.from(x));
  });

  it('rejects unusable rates with a typed error', () => {
    expect(() => new StreamingResampler(0, 16_000)).toThrow(SampleRateError);
    expect(() => resample(new Float32Array(4), 44_100.5, 16_000)).toThrow(SampleRateError);
  });
});
