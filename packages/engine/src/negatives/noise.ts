import { biquad } from '../audio/biquad.ts';
import { noiseFloor } from '../audio/floor.ts';
import { setRms } from '../audio/levels.ts';
import { Rand, type RandomSource } from '../audio/random.ts';

/**
 * Generic noise negatives (docs/engine.md §6.5), 16 kHz, seeded. Every generator returns audio normalised to
 * `GENERATOR_RMS` (−20 dBFS); callers set the level they need.
 */
export const GENERATOR_SAMPLE_RATE = 16000;
const SR = GENERATOR_SAMPLE_RATE;
export const GENERATOR_RMS = 0.1;

export type NoiseKind = 'white' | 'pink' | 'brown' | 'hum' | 'clicks' | 'fan';
export const NOISE_KINDS: readonly NoiseKind[] = ['white', 'pink', 'brown', 'hum', 'clicks', 'fan'];

function white(n: number, r: Rand): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = r.normal();
  return x;
}

/** Pink (1/f) noise: Paul Kellet's refined filter on white noise. */
function pink(n: number, r: Rand): Float32Array {
  const x = new Float32Array(n);
  let b0 = 0,
    b1 = 0,
    b2 = 0,
    b3 = 0,
    b4 = 0,
    b5 = 0,
    b6 = 0;
  for (let i = 0; i < n; i++) {
    const w = r.normal();
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    x[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  return x;
}

/** Brown (1/f²) noise: leaky integration of white noise, DC removed. */
function brown(n: number, r: Rand): Float32Array {
  const x = new Float32Array(n);
  let y = 0;
  for (let i = 0; i < n; i++) {
    y = 0.998 * y + 0.05 * r.normal();
    x[i] = y;
  }
  return highpass(x, 20);
}

/** One-pole high-pass (in place). */
export function highpass(x: Float32Array, hz: number): Float32Array {
  const a = Math.exp((-2 * Math.PI * hz) / SR);
  let px = 0;
  let py = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    py = a * (py + v - px);
    px = v;
    x[i] = py;
  }
  return x;
}

/** One-pole low-pass (in place). */
export function lowpass(x: Float32Array, hz: number): Float32Array {
  const a = Math.exp((-2 * Math.PI * hz) / SR);
  let y = 0;
  for (let i = 0; i < x.length; i++) {
    y = (1 - a) * (x[i] as number) + a * y;
    x[i] = y;
  }
  return x;
}

/** RBJ band-pass biquad (constant 0 dB peak gain), in place. */
export function bandpass(x: Float32Array, hz: number, q: number): Float32Array {
  return biquad(x, 'bandpass', hz, q, x);
}

/** Mains hum at 50 or 60 Hz with 2–8 harmonics, slow frequency drift and a little hiss. */
function hum(n: number, r: Rand): Float32Array {
  const f0 = r.chance(0.5) ? 50 : 60;
  const nh = r.int(2, 8);
  const amps = Array.from({ length: nh }, (_, k) => (k === 0 ? 1 : r.uniform(0.05, 0.7) / (k + 1) ** 0.5));
  const phases = Array.from({ length: nh }, () => r.uniform(0, 2 * Math.PI));
  const driftHz = r.uniform(0.2, 0.8); // peak deviation
  const driftRate = r.uniform(0.03, 0.2);
  const driftPhase = r.uniform(0, 2 * Math.PI);
  // one period of the harmonic series as a wavetable, read with a drifting phase accumulator
  const TABLE = 4096;
  const table = new Float32Array(TABLE + 1);
  for (let i = 0; i <= TABLE; i++) {
    let v = 0;
    for (let k = 0; k < nh; k++)
      v += (amps[k] as number) * Math.sin((2 * Math.PI * (k + 1) * i) / TABLE + (phases[k] as number));
    table[i] = v;
  }
  const x = new Float32Array(n);
  let phase = 0; // phase of the fundamental in cycles, in [0, 1)
  const dw = (2 * Math.PI * driftRate) / SR;
  for (let i = 0; i < n; i++) {
    const f = f0 + driftHz * Math.sin(dw * i + driftPhase);
    phase += f / SR;
    phase -= Math.floor(phase);
    const p = phase * TABLE;
    const j = p | 0;
    const fr = p - j;
    x[i] = (table[j] as number) * (1 - fr) + (table[j + 1] as number) * fr;
  }
  const hiss = setRms(white(n, r), 0.01 * Math.sqrt(amps.reduce((a, b) => a + (b * b) / 2, 0)));
  for (let i = 0; i < n; i++) x[i] = (x[i] as number) + (hiss[i] as number);
  return x;
}

/** Clicks, taps and keyboard-like bursts: decaying filtered noise bursts, partly in typing clusters. */
function clicks(n: number, r: Rand): Float32Array {
  const x = noiseFloor(n, () => r.u(), -90);
  const rate = r.uniform(2, 10); // events per second
  let t = r.uniform(0, 1 / rate) * SR;
  while (t < n) {
    const burstLen = Math.round(r.uniform(0.002, 0.015) * SR);
    const amp = r.uniform(0.05, 1);
    const decay = r.uniform(0.001, 0.006) * SR;
    const bright = r.uniform(0.3, 0.95); // first-difference mix = brightness
    let prev = 0;
    const start = Math.floor(t);
    for (let i = 0; i < burstLen && start + i < n; i++) {
      const w = r.normal();
      const v = bright * (w - prev) + (1 - bright) * w;
      prev = w;
      x[start + i] = (x[start + i] as number) + amp * v * Math.exp(-i / decay);
    }
    // typing: clusters of quick key presses
    t += r.chance(0.5) ? r.uniform(0.06, 0.2) * SR : r.uniform(0.3, 2) * (SR / rate);
  }
  return x;
}

/** Fan-like noise: band-passed noise with slow amplitude wobble, a low rumble and a faint blade tone. */
function fan(n: number, r: Rand): Float32Array {
  const x = bandpass(white(n, r), r.uniform(150, 900), r.uniform(0.5, 1.5));
  const rumble = setRms(
    lowpass(white(n, r), r.uniform(40, 120)),
    0.3 * Math.sqrt(x.reduce((a, v) => a + v * v, 0) / Math.max(1, n)),
  );
  const blade = r.uniform(60, 240);
  const wobbleHz = r.uniform(0.2, 2);
  const toneAmp = r.uniform(0, 0.05);
  for (let i = 0; i < n; i++) {
    const wob = 1 + 0.15 * Math.sin((2 * Math.PI * wobbleHz * i) / SR);
    x[i] =
      wob * (x[i] as number) + (rumble[i] as number) + toneAmp * Math.sin((2 * Math.PI * blade * i) / SR);
  }
  return x;
}

/** Seeded noise of one kind, 16 kHz, RMS 0.1. */
export function noise(kind: NoiseKind, seconds: number, rng: RandomSource): Float32Array {
  const n = Math.max(0, Math.round(seconds * SR));
  const r = new Rand(rng);
  let x: Float32Array;
  switch (kind) {
    case 'white':
      x = white(n, r);
      break;
    case 'pink':
      x = pink(n, r);
      break;
    case 'brown':
      x = brown(n, r);
      break;
    case 'hum':
      x = hum(n, r);
      break;
    case 'clicks':
      x = clicks(n, r);
      break;
    case 'fan':
      x = fan(n, r);
      break;
    default:
      throw new RangeError(`unknown noise kind ${String(kind)}`);
  }
  return setRms(x, GENERATOR_RMS);
}

/** Silence (§6.5): digital zeros, or a white noise floor between −90 and −60 dBFS. */
export function silence(
  seconds: number,
  rng: RandomSource,
  opts: { digitalProbability?: number } = {},
): Float32Array {
  const r = new Rand(rng);
  const n = Math.max(0, Math.round(seconds * SR));
  if (r.chance(opts.digitalProbability ?? 0.3)) return new Float32Array(n);
  return noiseFloor(n, () => r.u(), r.uniform(-90, -60));
}

/**
 * Babble (§6.5): 3–6 overlapping speakers, each a sequence of the given utterances (seeded choice, short gaps,
 * ±4 dB per speaker), summed; RMS 0.1.
 */
export function babble(
  utterances: Float32Array[],
  seconds: number,
  rng: RandomSource,
  opts: { speakers?: number } = {},
): Float32Array {
  const r = new Rand(rng);
  const n = Math.max(0, Math.round(seconds * SR));
  const out = new Float32Array(n);
  const usable = utterances.filter((u) => u.length > 0);
  if (usable.length === 0 || n === 0) return out;
  const speakers = opts.speakers ?? r.int(3, 6);
  for (let s = 0; s < speakers; s++) {
    const gain = 10 ** (r.uniform(-4, 4) / 20);
    let t = -Math.round(r.uniform(0, 1.5) * SR); // start mid-utterance
    while (t < n) {
      const u = r.pick(usable);
      const g = gain / Math.max(1e-6, Math.sqrt(u.reduce((a, v) => a + v * v, 0) / u.length));
      for (let i = Math.max(0, -t); i < u.length && t + i < n; i++)
        out[t + i] = (out[t + i] as number) + g * (u[i] as number);
      t += u.length + Math.round(r.uniform(0.05, 0.4) * SR);
    }
  }
  return setRms(out, GENERATOR_RMS);
}
