import { resample } from '@violawake/detector';
import { biquad } from '../audio/biquad.ts';
import { rms } from '../audio/levels.ts';
import { Rand, type RandomSource } from '../audio/random.ts';
import { fftConvolve } from './fftconv.ts';

const SR = 16000;

/** Multiplies by 10^(db/20) and hard-clips to −1..1. */
export function applyGain(x: Float32Array, db: number): Float32Array {
  const g = 10 ** (db / 20);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = (x[i] as number) * g;
    out[i] = v > 1 ? 1 : Math.max(v, -1);
  }
  return out;
}

/**
 * Factors are quantised to 1/400 so the resampler's rate pair (16000·f → 16000) has a small polyphase bank
 * (≤ 400 phases); the quantised factor is the one applied.
 */
export function quantizeFactor(f: number): number {
  return Math.round(f * 400) / 400;
}

/** Speed change by resampling (tempo and pitch together): output length ≈ length / factor. */
export function changeSpeed(x: Float32Array, factor: number): Float32Array {
  const q = quantizeFactor(factor);
  if (q === 1) return x.slice();
  return resample(x, Math.round(SR * q), SR);
}

/**
 * WSOLA time-stretch (waveform-similarity overlap-add): Hann frames of 20 ms at a 10 ms synthesis hop, each analysis
 * frame moved within ±5 ms of its nominal position to best continue the previous frame (cross-correlation: coarse
 * search on every 4th offset and sample, refined ±3 samples at full resolution).
 * Output length is exactly round(length · stretch).
 */
export function wsola(
  x: Float32Array,
  stretch: number,
  opts: { frame?: number; tolerance?: number } = {},
): Float32Array {
  const N = opts.frame ?? 320;
  const Hs = N / 2;
  const tol = opts.tolerance ?? 80;
  const outLen = Math.round(x.length * stretch);
  const out = new Float32Array(outLen + N);
  const norm = new Float32Array(outLen + N);
  const win = new Float32Array(N);
  for (let i = 0; i < N; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N);
  const Ha = Hs / stretch;
  // zero-padded copy so frame reads never need bounds checks: input sample i is at pad + i
  const pad = tol + N;
  const xp = new Float32Array(x.length + 2 * pad + N);
  xp.set(x, pad);
  const maxStart = x.length + pad; // keep reads inside xp
  const clamp = (c: number) => Math.max(-pad, Math.min(maxStart - N, c));
  const corr = (c: number, natural: number, step: number) => {
    let s = 0;
    const a = pad + c;
    const b = pad + natural;
    for (let i = 0; i < N; i += step) s += (xp[a + i] as number) * (xp[b + i] as number);
    return s;
  };
  let prev = 0; // input position of the previous frame
  for (let k = 0; k * Hs < outLen; k++) {
    const sPos = k * Hs;
    const nominal = Math.round(k * Ha);
    let chosen = clamp(nominal);
    if (k > 0) {
      const natural = clamp(prev + Hs); // where the previous frame would naturally continue
      // coarse search (every 4th offset, every 4th sample), then refine ±3 around the best at full resolution
      let best = -Infinity;
      let coarse = chosen;
      for (let d = -tol; d <= tol; d += 4) {
        const c = clamp(nominal + d);
        const v = corr(c, natural, 4);
        if (v > best) {
          best = v;
          coarse = c;
        }
      }
      best = -Infinity;
      for (let d = -3; d <= 3; d++) {
        const c = clamp(coarse + d);
        const v = corr(c, natural, 1);
        if (v > best) {
          best = v;
          chosen = c;
        }
      }
    }
    const base = pad + chosen;
    for (let i = 0; i < N; i++) {
      out[sPos + i] = (out[sPos + i] as number) + (win[i] as number) * (xp[base + i] as number);
      norm[sPos + i] = (norm[sPos + i] as number) + (win[i] as number);
    }
    prev = chosen;
  }
  const y = new Float32Array(outLen);
  for (let i = 0; i < outLen; i++) {
    const w = norm[i] as number;
    y[i] = w > 1e-3 ? (out[i] as number) / w : (out[i] as number);
  }
  return y;
}

/**
 * Pitch shift by `semitones` keeping the duration: WSOLA stretch by the pitch ratio, then resample back. The output
 * has exactly the input's length.
 */
export function pitchShift(x: Float32Array, semitones: number): Float32Array {
  const ratio = quantizeFactor(2 ** (semitones / 12));
  if (ratio === 1 || x.length === 0) return x.slice();
  const stretched = wsola(x, ratio);
  const back = resample(stretched, Math.round(SR * ratio), SR);
  const out = new Float32Array(x.length);
  out.set(back.subarray(0, Math.min(back.length, x.length)));
  return out;
}

/**
 * Adds `noise` to `signal` at `snrDb` (power ratio of the signal to the added noise, both over `region`, default
 * the whole signal). The noise is tiled if short and starts at a random offset when `rng` is given.
 */
export function addNoiseAtSnr(
  signal: Float32Array,
  noise: Float32Array,
  snrDb: number,
  rng?: RandomSource,
  opts: { region?: [number, number] } = {},
): Float32Array {
  if (noise.length === 0) throw new RangeError('empty noise');
  const n = signal.length;
  const offset = rng ? Math.floor(new Rand(rng).u() * noise.length) : 0;
  const seg = new Float32Array(n);
  for (let i = 0; i < n; i++) seg[i] = noise[(offset + i) % noise.length] as number;
  const [a, b] = opts.region ?? [0, n];
  const ps = rms(signal, a, b) ** 2;
  const pn = rms(seg, a, b) ** 2;
  const out = signal.slice();
  if (ps === 0 || pn === 0) return out;
  const g = Math.sqrt(ps / (pn * 10 ** (snrDb / 10)));
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) + g * (seg[i] as number);
  return out;
}

/**
 * Synthetic room impulse response (16 kHz): direct path (1.0 at t = 0), 2–6 early reflections at 2–25 ms (at most
 * 0.15·rt60), each ±2–4 times the diffuse tail's local standard deviation, and a Gaussian noise tail from the first
 * sample with an exponential envelope that decays 60 dB over `rt60` seconds; direct-to-reverberant ratio uniform −3…+8 dB. Length 1.2·rt60 (the tail reaches −72 dB).
 */
export function roomImpulseResponse(
  rt60: number,
  rng: RandomSource,
  opts: { drrDb?: number } = {},
): Float32Array {
  const r = new Rand(rng);
  const len = Math.max(64, Math.ceil(1.2 * rt60 * SR));
  const h = new Float32Array(len);
  h[0] = 1;
  const k60 = (3 * Math.LN10) / (rt60 * SR); // amplitude envelope exp(-k60·n) is −60 dB at n = rt60·SR
  const drr = opts.drrDb ?? r.uniform(-3, 8);
  const start = 1;
  // diffuse tail energy = g² Σ exp(−2·k60·n); set it to 10^(−drr/10) of the direct path's energy
  // Σ_{n=0}^{len−start−1} exp(−2·k60·n), a geometric series
  const q = Math.exp(-2 * k60);
  const e = (1 - q ** (len - start)) / (1 - q);
  const g = Math.sqrt(10 ** (-drr / 10) / e);
  // early reflections: 2 ms … min(25 ms, 0.15·rt60), each ±2–4 times the tail's local standard deviation
  const reflections = r.int(2, 6);
  const maxDelay = Math.min(0.025, Math.max(0.003, 0.15 * rt60));
  for (let k = 0; k < reflections; k++) {
    const d = Math.min(len - 1, Math.round(r.uniform(0.002, maxDelay) * SR));
    h[d] = (h[d] as number) + (r.chance(0.5) ? 1 : -1) * r.uniform(2, 4) * g * Math.exp(-k60 * (d - start));
  }
  const decay = Math.exp(-k60);
  let env = g;
  for (let n = start; n < len; n++, env *= decay) h[n] = (h[n] as number) + env * r.normal();
  return h;
}

/**
 * RT60 estimate from an impulse response by Schroeder backward integration: a least-squares line through the energy
 * decay curve between −5 and −25 dB (T20), extrapolated to 60 dB.
 */
export function measureRt60(h: Float32Array, sampleRate = SR, fromDb = -5, toDb = -25): number {
  const edc = new Float64Array(h.length);
  let acc = 0;
  for (let i = h.length - 1; i >= 0; i--) {
    acc += (h[i] as number) ** 2;
    edc[i] = acc;
  }
  const total = edc[0] as number;
  let sx = 0,
    sy = 0,
    sxx = 0,
    sxy = 0,
    n = 0;
  for (let i = 0; i < h.length; i++) {
    const db = 10 * Math.log10((edc[i] as number) / total);
    if (db > fromDb) continue;
    if (db < toDb) break;
    const t = i / sampleRate;
    sx += t;
    sy += db;
    sxx += t * t;
    sxy += t * db;
    n++;
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx); // dB per second (negative)
  return -60 / slope;
}

/** Convolves with `ir` (FFT), keeps the input's length and matches the input's RMS. */
export function applyRoom(x: Float32Array, ir: Float32Array): Float32Array {
  const y = fftConvolve(x, ir).slice(0, x.length);
  const a = rms(x);
  const b = rms(y);
  if (b > 0) for (let i = 0; i < y.length; i++) y[i] = ((y[i] as number) * a) / b;
  return y;
}

/**
 * Time mask: 1–2 zeroed spans of ≤ 50 ms each, together ≤ 10 % of the utterance (`region`, default the whole clip).
 * Returns the masked copy and the spans.
 */
export function timeMask(
  x: Float32Array,
  rng: RandomSource,
  region: [number, number] = [0, x.length],
): { samples: Float32Array; spans: Array<[number, number]> } {
  const r = new Rand(rng);
  const out = x.slice();
  const [a, b] = region;
  const uttLen = Math.max(0, b - a);
  const spans: Array<[number, number]> = [];
  const count = r.int(1, 2);
  const budget = Math.floor(0.1 * uttLen);
  const perSpan = Math.min(Math.round(0.05 * SR), Math.floor(budget / count));
  if (perSpan < 1) return { samples: out, spans };
  for (let k = 0; k < count; k++) {
    const len = r.int(Math.max(1, Math.floor(perSpan / 4)), perSpan);
    const s = a + r.int(0, Math.max(0, uttLen - len));
    out.fill(0, s, s + len);
    spans.push([s, s + len]);
  }
  return { samples: out, spans };
}

/**
 * A microphone's or a codec's band: a 4th-order Butterworth low-pass at `lowpassHz` (two sections) and a 2nd-order
 * high-pass at `highpassHz`. Real recordings differ most in how much they keep above 3–4 kHz (docs/engine.md).
 */
export function bandLimit(x: Float32Array, lowpassHz: number, highpassHz: number): Float32Array {
  const y = biquad(x, 'lowpass', lowpassHz, 0.5412);
  biquad(y, 'lowpass', lowpassHz, 1.3066, y);
  return biquad(y, 'highpass', highpassHz, Math.SQRT1_2, y);
}
