/**
 * Transforms that change who seems to speak and through what, not only the room (docs/engine.md, "Other voices and
 * other channels"): a vocal-tract length change (formants moved, pitch and timing kept), a spectral tilt, a
 * microphone's uneven response, and codec round trips (Opus at a low bit rate, G.711 μ-law telephone audio).
 * Every function returns a new array of the input's length and leaves the input untouched.
 */
import alawmulaw from 'alawmulaw';
import OpusScript from 'opusscript';
import { eqBiquad } from '../audio/biquad.ts';
import { rms } from '../audio/levels.ts';
import { Rand, type RandomSource } from '../audio/random.ts';
import { fftOf } from './fftconv.ts';
import { bandLimit } from './transforms.ts';

const SR = 16000;

/** Scales `y` in place to the RMS of `x` (no change when either is silent). */
function matchRms(y: Float32Array, x: Float32Array): Float32Array {
  const a = rms(x);
  const b = rms(y);
  if (a > 0 && b > 0) for (let i = 0; i < y.length; i++) y[i] = ((y[i] as number) * a) / b;
  return y;
}

const STFT_N = 512;
const STFT_HOP = 128;
/** Cepstral coefficients kept for the spectral envelope: quefrencies below 1.9 ms (f0 up to ≈ 500 Hz stays out). */
const LIFTER = 30;

/**
 * Vocal-tract length perturbation: every 32 ms frame's spectral envelope (cepstrally smoothed, 30 coefficients) is
 * warped along frequency by `alpha` (> 1 moves formants up, as a shorter vocal tract does; < 1 down), piecewise
 * linearly so that 0 and the Nyquist frequency stay put (the bend at 0.8 × 8 kHz · min(1, 1/alpha)), and the frame is
 * given the warped envelope by a gain per bin (limited to ±20 dB) — harmonics, hence pitch, and timing stay where they
 * were. Short-time Fourier transform with Hann windows at a 8 ms hop, weighted overlap-add; output RMS = input RMS.
 */
export function formantWarp(x: Float32Array, alpha: number): Float32Array {
  if (!(alpha > 0)) throw new RangeError('formantWarp: alpha must be positive');
  if (alpha === 1 || x.length === 0) return x.slice();
  const N = STFT_N;
  const K = N / 2; // bins 0 … K
  const fft = fftOf(N);
  const win = new Float64Array(N);
  for (let i = 0; i < N; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N);
  // source bin (fractional) whose envelope value lands on bin k
  const bend = 0.8 * K * Math.min(1, 1 / alpha);
  const src = new Float64Array(K + 1);
  for (let k = 0; k <= K; k++) {
    const out = k <= bend * alpha ? k / alpha : bend + ((k - bend * alpha) * (K - bend)) / (K - bend * alpha);
    src[k] = Math.min(K, Math.max(0, out));
  }
  const pad = N;
  const frames = Math.ceil((x.length + pad) / STFT_HOP);
  const total = frames * STFT_HOP + N;
  const acc = new Float64Array(total);
  const norm = new Float64Array(total);
  const frame = new Float64Array(N);
  const spec = new Float64Array(2 * N) as unknown as number[];
  const logMag = new Float64Array(2 * N) as unknown as number[];
  const cep = new Float64Array(2 * N) as unknown as number[];
  const env = new Float64Array(K + 1);
  const back = new Float64Array(2 * N) as unknown as number[];
  for (let f = 0; f < frames; f++) {
    const start = f * STFT_HOP - pad; // input index of the frame's first sample
    let energy = 0;
    for (let i = 0; i < N; i++) {
      const j = start + i;
      const v = j >= 0 && j < x.length ? (x[j] as number) : 0;
      frame[i] = v * (win[i] as number);
      energy += v * v;
    }
    const at = start + pad;
    if (energy === 0) {
      for (let i = 0; i < N; i++) norm[at + i] = (norm[at + i] as number) + (win[i] as number) ** 2;
      continue;
    }
    fft.realTransform(spec, frame as unknown as number[]);
    fft.completeSpectrum(spec);
    for (let k = 0; k < N; k++) {
      const re = spec[2 * k] as number;
      const im = spec[2 * k + 1] as number;
      logMag[2 * k] = 0.5 * Math.log(re * re + im * im + 1e-12);
      logMag[2 * k + 1] = 0;
    }
    fft.inverseTransform(cep, logMag);
    for (let n = 0; n < N; n++) {
      const keep = n < LIFTER || n > N - LIFTER;
      cep[2 * n] = keep ? (cep[2 * n] as number) : 0;
      cep[2 * n + 1] = 0;
    }
    fft.transform(logMag, cep);
    for (let k = 0; k <= K; k++) env[k] = logMag[2 * k] as number;
    for (let k = 0; k <= K; k++) {
      const s = src[k] as number;
      const k0 = Math.floor(s);
      const k1 = Math.min(K, k0 + 1);
      const t = s - k0;
      const warped = (1 - t) * (env[k0] as number) + t * (env[k1] as number);
      const g = Math.exp(Math.max(-2.3, Math.min(2.3, warped - (env[k] as number)))); // ±20 dB
      spec[2 * k] = (spec[2 * k] as number) * g;
      spec[2 * k + 1] = (spec[2 * k + 1] as number) * g;
      if (k > 0 && k < K) {
        spec[2 * (N - k)] = spec[2 * k] as number;
        spec[2 * (N - k) + 1] = -(spec[2 * k + 1] as number);
      }
    }
    fft.inverseTransform(back, spec);
    for (let i = 0; i < N; i++) {
      acc[at + i] = (acc[at + i] as number) + (back[2 * i] as number) * (win[i] as number);
      norm[at + i] = (norm[at + i] as number) + (win[i] as number) ** 2;
    }
  }
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const w = norm[i + pad] as number;
    y[i] = w > 1e-6 ? (acc[i + pad] as number) / w : 0;
  }
  return matchRms(y, x);
}

/**
 * Spectral tilt: a low shelf at 300 Hz by −db/2 and a high shelf at 3 kHz by +db/2, so the highs gain `db` against
 * the lows (positive: brighter, as a close or small microphone; negative: duller, as a soft voice or a distant,
 * muffled one). Output RMS = input RMS: the shape changes, not the level.
 */
export function spectralTilt(x: Float32Array, db: number): Float32Array {
  const y = eqBiquad(x, 'lowshelf', 300, -db / 2);
  eqBiquad(y, 'highshelf', 3000, db / 2, Math.SQRT1_2, y);
  return matchRms(y, x);
}

/** One peak or dip of a microphone's response. */
export interface MicBand {
  hz: number;
  gainDb: number;
  q: number;
}

/** Draws an uneven microphone response: 2–4 peaks or dips at 150–6,000 Hz (log-uniform), ±8 dB, Q 0.7–3. */
export function randomMicBands(rng: RandomSource): MicBand[] {
  const r = new Rand(rng);
  const n = r.int(2, 4);
  const bands: MicBand[] = [];
  for (let i = 0; i < n; i++)
    bands.push({ hz: 150 * (6000 / 150) ** r.uniform(), gainDb: r.uniform(-8, 8), q: r.uniform(0.7, 3) });
  return bands;
}

/** A microphone's (or a loudspeaker's) uneven response: one peaking section per band. Output RMS = input RMS. */
export function micResponse(x: Float32Array, bands: readonly MicBand[]): Float32Array {
  if (bands.length === 0) return x.slice();
  let y = x;
  for (const b of bands) y = eqBiquad(y, 'peaking', b.hz, b.gainDb, b.q, y === x ? undefined : y);
  return matchRms(y, x);
}

const toInt16 = (x: Float32Array, gain = 1): Int16Array => {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++)
    out[i] = Math.max(-32768, Math.min(32767, Math.round((x[i] as number) * gain * 32767)));
  return out;
};

/**
 * Telephone audio: the 300–3,400 Hz band (`bandLimit`) and G.711 μ-law companding, 8 bits per sample (alawmulaw),
 * kept at 16 kHz (the band is already below 4 kHz). The level stays as it was (±1 full scale).
 */
export function telephone(x: Float32Array): Float32Array {
  if (x.length === 0) return new Float32Array(0);
  const band = bandLimit(x, 3400, 300);
  const decoded = alawmulaw.mulaw.decode(alawmulaw.mulaw.encode(toInt16(band)));
  const y = new Float32Array(x.length);
  for (let i = 0; i < y.length; i++) y[i] = (decoded[i] as number) / 32767;
  return y;
}

/** Opus's algorithmic delay at 16 kHz (6.5 ms), removed so the output stays aligned with the input. */
export const OPUS_DELAY = 104;
const OPUS_FRAME = 320; // 20 ms
const OPUS_SET_COMPLEXITY = 4010;

/**
 * An Opus round trip (libopus 1.4 via opusscript's WebAssembly build): 20 ms frames at `bitrate` bits per second
 * (6,000–64,000), VoIP mode, encoder complexity 3 (cheap; a phone's setting), a fresh encoder and decoder per call so
 * the result depends only on the input. The codec's 6.5 ms delay is removed; output length = input length.
 */
export function opusRoundTrip(x: Float32Array, bitrate: number): Float32Array {
  if (!(bitrate >= 6000 && bitrate <= 64000))
    throw new RangeError('opusRoundTrip: bitrate must be 6000–64000');
  if (x.length === 0) return new Float32Array(0);
  const codec = new OpusScript(SR, 1, OpusScript.Application.VOIP);
  try {
    codec.setBitrate(Math.round(bitrate));
    codec.encoderCTL(OPUS_SET_COMPLEXITY, 3);
    const pcm = toInt16(x);
    const need = x.length + OPUS_DELAY;
    const out = new Float32Array(Math.ceil(need / OPUS_FRAME) * OPUS_FRAME);
    const frame = new Int16Array(OPUS_FRAME);
    for (let s = 0; s < need; s += OPUS_FRAME) {
      frame.fill(0);
      if (s < pcm.length) frame.set(pcm.subarray(s, Math.min(pcm.length, s + OPUS_FRAME)));
      const packet = codec.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), OPUS_FRAME);
      const d = codec.decode(packet);
      const samples = d.byteLength >> 1; // read sample by sample: a Buffer's offset may be odd
      for (let i = 0; i < samples && s + i < out.length; i++) out[s + i] = d.readInt16LE(2 * i) / 32767;
    }
    return out.slice(OPUS_DELAY, OPUS_DELAY + x.length);
  } finally {
    codec.delete();
  }
}
