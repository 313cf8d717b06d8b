import { describe, expect, it } from 'vitest';
import { rms } from '../src/audio/levels.ts';
import {
  AUGMENT_CONFIG,
  type AugmentLog,
  addNoiseAtSnr,
  applyGain,
  applyRoom,
  augment,
  augmentUtterance,
  bandLimit,
  changeSpeed,
  fftConvolve,
  pitchShift,
  roomImpulseResponse,
  timeMask,
  USER_VOICE_CONFIG,
  wsola,
} from '../src/augment/index.ts';
import { music, noise } from '../src/negatives/index.ts';
import { deriveRng } from '../src/rng.ts';

const SR = 16000;

/** Speech-like test signal: a voiced harmonic burst with a syllable envelope inside silence. */
function utterance(seed: number, seconds = 1.2): Float32Array {
  const r = deriveRng(seed, 'test-utt', 0);
  const f0 = r.uniform(100, 220);
  const x = new Float32Array(Math.round(seconds * SR));
  for (let i = Math.round(0.1 * SR); i < x.length - Math.round(0.1 * SR); i++) {
    const t = i / SR;
    const env = 0.5 - 0.5 * Math.cos(2 * Math.PI * 3 * t);
    let v = 0;
    for (let k = 1; k <= 10; k++) v += Math.sin(2 * Math.PI * k * f0 * t) / k;
    x[i] = 0.2 * env * v + 0.002 * r.normal();
  }
  return x;
}

/** Frequency of a steady tone by zero crossings over the middle of the signal. */
function toneHz(x: Float32Array, from = 0.25, to = 0.75): number {
  const a = Math.floor(from * x.length);
  const b = Math.floor(to * x.length);
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = a + 1; i < b; i++)
    if (x[i - 1]! < 0 && x[i]! >= 0) {
      const frac = -x[i - 1]! / (x[i]! - x[i - 1]!);
      const pos = i - 1 + frac;
      if (first < 0) first = pos;
      last = pos;
      count++;
    }
  return ((count - 1) * SR) / (last - first);
}

const tone = (hz: number, seconds: number) =>
  Float32Array.from(
    { length: Math.round(seconds * SR) },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / SR),
  );

describe('additive noise', () => {
  it('hits the requested SNR within ±0.5 dB for every noise kind', () => {
    const sig = utterance(1);
    const beds: Array<[string, Float32Array]> = [
      ['white', noise('white', 3, deriveRng(1, 'n', 1))],
      ['pink', noise('pink', 3, deriveRng(1, 'n', 2))],
      ['brown', noise('brown', 3, deriveRng(1, 'n', 3))],
      ['hum', noise('hum', 3, deriveRng(1, 'n', 4))],
      ['music', music(0.5, deriveRng(1, 'n', 5))], // shorter than the signal: tiled
    ];
    for (const [, bed] of beds)
      for (const snr of [5, 12.5, 30]) {
        const out = addNoiseAtSnr(sig, bed, snr, deriveRng(2, 'off', snr));
        let ps = 0;
        let pn = 0;
        for (let i = 0; i < sig.length; i++) {
          ps += sig[i]! ** 2;
          pn += (out[i]! - sig[i]!) ** 2;
        }
        expect(Math.abs(10 * Math.log10(ps / pn) - snr)).toBeLessThan(0.5);
      }
  });

  it('measures the SNR against the utterance region when given', () => {
    const canvas = new Float32Array(SR * 2);
    const utt = utterance(3, 0.8);
    canvas.set(utt, 16000);
    const out = addNoiseAtSnr(canvas, noise('pink', 2, deriveRng(3, 'n', 0)), 10, undefined, {
      region: [16000, 16000 + utt.length],
    });
    let pn = 0;
    for (let i = 16000; i < 16000 + utt.length; i++) pn += (out[i]! - canvas[i]!) ** 2;
    const ps = rms(utt) ** 2 * utt.length;
    expect(Math.abs(10 * Math.log10(ps / pn) - 10)).toBeLessThan(0.5);
  });
});

describe('room impulse response', () => {
  /** Independent T30 measurement by Schroeder backward integration (−5 … −35 dB). */
  function rt60Of(h: Float32Array): number {
    const edc = new Float64Array(h.length);
    let acc = 0;
    for (let i = h.length - 1; i >= 0; i--) edc[i] = acc += h[i]! ** 2;
    const pts: Array<[number, number]> = [];
    for (let i = 0; i < h.length; i++) {
      const db = 10 * Math.log10(edc[i]! / edc[0]!);
      if (db <= -5 && db >= -35) pts.push([i / SR, db]);
    }
    const n = pts.length;
    const mx = pts.reduce((a, p) => a + p[0], 0) / n;
    const my = pts.reduce((a, p) => a + p[1], 0) / n;
    const slope =
      pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
    return -60 / slope;
  }

  it('has the requested RT60 within ±20 %', () => {
    for (const rt of [0.1, 0.2, 0.35, 0.5, 0.8])
      for (let seed = 0; seed < 4; seed++) {
        const h = roomImpulseResponse(rt, deriveRng(seed, 'rir', Math.round(rt * 100)));
        expect(h[0]).toBe(1);
        const measured = rt60Of(h);
        expect(Math.abs(measured - rt) / rt).toBeLessThan(0.2);
      }
  });

  it('FFT convolution equals direct convolution', () => {
    const r = deriveRng(5, 'conv', 0);
    const a = Float32Array.from({ length: 300 }, () => r.normal());
    const b = Float32Array.from({ length: 77 }, () => r.normal());
    const c = fftConvolve(a, b);
    expect(c.length).toBe(376);
    for (let n = 0; n < c.length; n++) {
      let s = 0;
      for (let k = 0; k < b.length; k++) if (n - k >= 0 && n - k < a.length) s += a[n - k]! * b[k]!;
      expect(c[n]).toBeCloseTo(s, 3);
    }
  });

  it('reverberates with the input length and RMS', () => {
    const x = utterance(7);
    const y = applyRoom(x, roomImpulseResponse(0.6, deriveRng(7, 'rir', 0)));
    expect(y.length).toBe(x.length);
    expect(rms(y)).toBeCloseTo(rms(x), 6);
    // energy is smeared into the trailing silence
    expect(rms(y, x.length - 1500, x.length)).toBeGreaterThan(10 * rms(x, x.length - 1500, x.length));
  });
});

describe('speed, pitch, gain, mask', () => {
  it('speed changes tempo and pitch together', () => {
    const x = tone(500, 1);
    for (const f of [0.9, 0.95, 1.05, 1.1]) {
      const y = changeSpeed(x, f);
      expect(Math.abs(y.length - x.length / f)).toBeLessThanOrEqual(1);
      expect(toneHz(y) / 500).toBeCloseTo(f, 2);
    }
  });

  it('WSOLA stretches time without changing pitch', () => {
    const x = tone(300, 1);
    for (const s of [0.8, 1.12, 1.25]) {
      const y = wsola(x, s);
      expect(y.length).toBe(Math.round(x.length * s));
      expect(Math.abs(toneHz(y) - 300)).toBeLessThan(3);
    }
  });

  it('pitch shift keeps the duration to the sample and moves the pitch by the semitones', () => {
    for (const semis of [-2, -1.3, 0.7, 2]) {
      for (const len of [16000, 19999, 25431]) {
        const x = tone(220, len / SR);
        const y = pitchShift(x, semis);
        expect(Math.abs(y.length - x.length)).toBeLessThanOrEqual(1);
        if (len === 16000)
          expect(toneHz(y) / 220).toBeCloseTo(
            2 ** (Math.round(2 ** (semis / 12) * 400) / 400 === 0 ? 0 : semis / 12),
            2,
          );
      }
    }
    // the word stays where it was: the envelope of a burst keeps its position
    const burst = new Float32Array(SR);
    burst.set(tone(200, 0.3), 5000);
    const y = pitchShift(burst, 2);
    const onset = (z: Float32Array) => z.findIndex((v) => Math.abs(v) > 0.1);
    expect(Math.abs(onset(y) - onset(burst))).toBeLessThan(160);
  });

  it('gain is exact in dB and clips at full scale', () => {
    const x = tone(440, 0.1);
    const y = applyGain(x, -6);
    expect(20 * Math.log10(rms(y) / rms(x))).toBeCloseTo(-6, 4);
    expect(Math.max(...applyGain(x, 12))).toBe(1);
  });

  it('time mask zeroes 1–2 spans ≤ 50 ms, ≤ 10 % of the utterance', () => {
    const x = Float32Array.from({ length: SR * 2 }, (_, i) => 0.1 + i * 0);
    for (let s = 0; s < 50; s++) {
      const region: [number, number] = [4000, 4000 + 9000 + s * 300];
      const { samples, spans } = timeMask(x, deriveRng(s, 'mask', 0), region);
      expect(spans.length).toBeGreaterThanOrEqual(1);
      expect(spans.length).toBeLessThanOrEqual(2);
      let total = 0;
      for (const [a, b] of spans) {
        expect(b - a).toBeLessThanOrEqual(800);
        expect(a).toBeGreaterThanOrEqual(region[0]);
        expect(b).toBeLessThanOrEqual(region[1]);
        total += b - a;
      }
      expect(total).toBeLessThanOrEqual(0.1 * (region[1] - region[0]));
      const zeros = samples.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
      expect(zeros).toBeGreaterThan(0);
      expect(zeros).toBeLessThanOrEqual(total);
    }
  });
});

describe('augment', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const x = utterance(11);
    const a = augment(x, deriveRng(1, 'augment', 5));
    const b = augment(x, deriveRng(1, 'augment', 5));
    expect(b).toEqual(a);
    let differs = 0;
    for (let i = 6; i < 10; i++)
      if (augment(x, deriveRng(1, 'augment', i)).some((v, k) => v !== a[k])) differs++;
    expect(differs).toBe(4);
  });

  it('applies each transform with the probability of docs/engine.md §6.9 and within its range', () => {
    const x = utterance(12, 0.6);
    const n = 300;
    const counts = { speed: 0, pitch: 0, room: 0, noise: 0, mask: 0, channel: 0 };
    const beds = [noise('fan', 1, deriveRng(0, 'bed', 0))];
    for (let i = 0; i < n; i++) {
      const log: AugmentLog = { gainDb: 0 };
      const y = augment(x, deriveRng(2, 'augment', i), { noiseBeds: beds, log });
      expect(Number.isFinite(rms(y))).toBe(true);
      expect(Math.abs(log.gainDb)).toBeLessThanOrEqual(6);
      if (log.speed !== undefined) {
        counts.speed++;
        expect(log.speed).toBeGreaterThanOrEqual(0.9);
        expect(log.speed).toBeLessThanOrEqual(1.1);
        expect(Math.abs(y.length - x.length / log.speed)).toBeLessThan(x.length * 0.003 + 2);
      } else expect(y.length).toBe(x.length);
      if (log.pitchSemitones !== undefined) {
        counts.pitch++;
        expect(Math.abs(log.pitchSemitones)).toBeLessThanOrEqual(2);
      }
      if (log.rt60 !== undefined) {
        counts.room++;
        expect(log.rt60).toBeGreaterThanOrEqual(0.1);
        expect(log.rt60).toBeLessThanOrEqual(0.8);
      }
      if (log.noise) {
        counts.noise++;
        expect(log.noise.snrDb).toBeGreaterThanOrEqual(5);
        expect(log.noise.snrDb).toBeLessThanOrEqual(30);
      }
      if (log.timeMask) counts.mask++;
      if (log.channel) {
        counts.channel++;
        expect(log.channel.lowpassHz).toBeGreaterThanOrEqual(3000);
        expect(log.channel.lowpassHz).toBeLessThanOrEqual(7500);
        expect(log.channel.highpassHz).toBeGreaterThanOrEqual(50);
        expect(log.channel.highpassHz).toBeLessThanOrEqual(300);
      }
    }
    const within = (count: number, p: number) => Math.abs(count / n - p) < 4 * Math.sqrt((p * (1 - p)) / n);
    expect(within(counts.speed, AUGMENT_CONFIG.speed.p)).toBe(true);
    expect(within(counts.pitch, AUGMENT_CONFIG.pitch.p)).toBe(true);
    expect(within(counts.room, AUGMENT_CONFIG.room.p)).toBe(true);
    expect(within(counts.noise, AUGMENT_CONFIG.noise.p)).toBe(true);
    expect(within(counts.mask, AUGMENT_CONFIG.timeMask.p)).toBe(true);
    expect(within(counts.channel, AUGMENT_CONFIG.channel.p)).toBe(true);
  }, 60_000);

  it('band-limits like a microphone: the voice band passes, what lies above the low-pass and below the high-pass does not', () => {
    const tone = (hz: number) =>
      new Float32Array(SR).map((_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / SR));
    // level after the filters settle (the last half second), in dB against the input
    const gainDb = (hz: number) => {
      const y = bandLimit(tone(hz), 3500, 200);
      return 20 * Math.log10(rms(y.subarray(SR / 2)) / rms(tone(hz).subarray(SR / 2)));
    };
    expect(Math.abs(gainDb(1000))).toBeLessThan(0.5);
    expect(gainDb(3500)).toBeCloseTo(-3, 0); // Butterworth corner
    expect(gainDb(7000)).toBeLessThan(-22); // 4th order: ≈ 24 dB per octave
    expect(gainDb(50)).toBeLessThan(-20); // 2nd-order high-pass two octaves below its corner
    expect(gainDb(200)).toBeCloseTo(-3, 0);
  });

  it("widens speed and pitch for the user's own voice (USER_VOICE_CONFIG), with the same draws otherwise", () => {
    const x = new Float32Array(8000).map((_, i) => 0.2 * Math.sin(i / 9));
    const n = 300;
    let speed = 0;
    let pitch = 0;
    let beyondSpec = 0;
    for (let i = 0; i < n; i++) {
      const log: Partial<AugmentLog> = {};
      augmentUtterance(x, deriveRng(5, 'user-voice', i), log, USER_VOICE_CONFIG);
      if (log.speed !== undefined) {
        speed++;
        expect(log.speed).toBeGreaterThanOrEqual(0.85);
        expect(log.speed).toBeLessThanOrEqual(1.15);
        if (log.speed < 0.9 || log.speed > 1.1) beyondSpec++;
      }
      if (log.pitchSemitones !== undefined) {
        pitch++;
        expect(Math.abs(log.pitchSemitones)).toBeLessThanOrEqual(4);
        if (Math.abs(log.pitchSemitones) > 2) beyondSpec++;
      }
    }
    const within = (count: number, p: number) => Math.abs(count / n - p) < 4 * Math.sqrt((p * (1 - p)) / n);
    expect(within(speed, USER_VOICE_CONFIG.speed.p)).toBe(true);
    expect(within(pitch, USER_VOICE_CONFIG.pitch.p)).toBe(true);
    expect(beyondSpec).toBeGreaterThan(n / 5);
  }, 60_000);
});
