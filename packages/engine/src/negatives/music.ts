import { setRms } from '../audio/levels.ts';
import { Rand, type RandomSource } from '../audio/random.ts';
import { bandpass, GENERATOR_RMS, highpass, GENERATOR_SAMPLE_RATE as SR } from './noise.ts';

/**
 * Procedural music-like audio (docs/engine.md §6.5): a chord progression of additive harmonic tones with envelopes, a
 * melody line with vibrato, and drum-like sounds (pitched sine sweeps for kicks, filtered noise bursts for snares and
 * hats), at 60–160 BPM. 16 kHz, RMS 0.1, seeded.
 */
export interface MusicParams {
  bpm: number;
  rootMidi: number;
  minor: boolean;
  drums: boolean;
}

const MAJOR = [0, 2, 4, 5, 7, 9, 11];
const MINOR = [0, 2, 3, 5, 7, 8, 10];
const PROGRESSIONS = [
  [0, 4, 5, 3], // I V vi IV
  [0, 5, 3, 4], // I vi IV V
  [5, 3, 0, 4], // vi IV I V
  [0, 3, 4, 0], // I IV V I
  [1, 4, 0, 0], // ii V I I
];

const midiHz = (m: number) => 440 * 2 ** ((m - 69) / 12);

const TABLE_SIZE = 4096;

/** One period of Σ_k sin(2πk·t)/k^bright for k = 1…partials (a band-limited additive tone), cached per shape. */
function toneTable(partials: number, bright: number, cache: Map<string, Float32Array>): Float32Array {
  const key = `${partials}:${bright}`;
  let t = cache.get(key);
  if (!t) {
    t = new Float32Array(TABLE_SIZE + 1);
    for (let i = 0; i <= TABLE_SIZE; i++) {
      let v = 0;
      for (let k = 1; k <= partials; k++) v += Math.sin((2 * Math.PI * k * i) / TABLE_SIZE) / k ** bright;
      t[i] = v;
    }
    cache.set(key, t);
  }
  return t;
}

function addTone(
  out: Float32Array,
  start: number,
  dur: number,
  hz: number,
  amp: number,
  partials: number,
  cache: Map<string, Float32Array>,
  opts: { attack?: number; release?: number; vibratoHz?: number; vibratoSemi?: number; bright?: number } = {},
): void {
  const attack = Math.max(1, Math.round((opts.attack ?? 0.01) * SR));
  const release = Math.max(1, Math.round((opts.release ?? 0.08) * SR));
  const total = dur + release;
  const vHz = opts.vibratoHz ?? 0;
  const vDepth = opts.vibratoSemi ?? 0;
  // partials above ≈ 7.5 kHz are left out (band-limited at 16 kHz)
  const n = Math.max(1, Math.min(partials, Math.floor((SR / 2 - 500) / hz)));
  const table = toneTable(n, opts.bright ?? 1, cache);
  const vibK = (vDepth * Math.LN2) / 12;
  const vibW = (2 * Math.PI * vHz) / SR;
  let phase = 0; // cycles, in [0, 1)
  for (let i = 0; i < total; i++) {
    const idx = start + i;
    if (idx >= out.length) break;
    const f = vHz > 0 ? hz * Math.exp(vibK * Math.sin(vibW * i)) : hz;
    phase += f / SR;
    phase -= Math.floor(phase);
    let env: number;
    if (i < attack) env = i / attack;
    else if (i < dur) env = 1 - 0.3 * ((i - attack) / Math.max(1, dur - attack));
    else env = 0.7 * (1 - (i - dur) / release);
    if (idx < 0) continue;
    const x = phase * TABLE_SIZE;
    const j = x | 0;
    const fr = x - j;
    const v = (table[j] as number) * (1 - fr) + (table[j + 1] as number) * fr;
    out[idx] = (out[idx] as number) + amp * env * v;
  }
}

function addKick(out: Float32Array, start: number, amp: number): void {
  const len = Math.round(0.18 * SR);
  let phase = 0;
  for (let i = 0; i < len && start + i < out.length; i++) {
    const t = i / SR;
    const f = 50 + 110 * Math.exp(-t / 0.03);
    phase += f / SR;
    out[start + i] = (out[start + i] as number) + amp * Math.exp(-t / 0.06) * Math.sin(2 * Math.PI * phase);
  }
}

function addBurst(out: Float32Array, start: number, amp: number, r: Rand, kind: 'snare' | 'hat'): void {
  const len = Math.round((kind === 'snare' ? 0.14 : 0.04) * SR);
  let burst: Float32Array = new Float32Array(len);
  for (let i = 0; i < len; i++) burst[i] = r.normal();
  burst = kind === 'snare' ? bandpass(burst, 1800, 0.8) : highpass(highpass(burst, 6000), 6000);
  const tau = (kind === 'snare' ? 0.045 : 0.012) * SR;
  for (let i = 0; i < len && start + i < out.length; i++) {
    const body =
      kind === 'snare' ? 0.5 * Math.sin((2 * Math.PI * 185 * i) / SR) * Math.exp(-i / (0.02 * SR)) : 0;
    out[start + i] = (out[start + i] as number) + amp * (Math.exp(-i / tau) * (burst[i] as number) + body);
  }
}

export function randomMusicParams(rng: RandomSource): MusicParams {
  const r = new Rand(rng);
  return { bpm: r.uniform(60, 160), rootMidi: r.int(45, 57), minor: r.chance(0.4), drums: r.chance(0.75) };
}

/** Seeded music-like audio; `params` overrides the random tempo/key/drums. */
export function music(seconds: number, rng: RandomSource, params?: Partial<MusicParams>): Float32Array {
  const r = new Rand(rng);
  const p = { ...randomMusicParams(() => r.u()), ...params };
  const n = Math.max(0, Math.round(seconds * SR));
  const out = new Float32Array(n);
  const scale = p.minor ? MINOR : MAJOR;
  const beat = (60 / p.bpm) * SR;
  const prog = r.pick(PROGRESSIONS);
  const partials = r.int(3, 8);
  const bright = r.uniform(0.8, 1.6);
  const melodyPartials = r.int(2, 6);
  const vibratoHz = r.uniform(4, 6.5);
  const vibratoSemi = r.uniform(0.1, 0.4);
  const beats = Math.ceil(n / beat) + 1;
  let melodyDegree = r.int(0, 6);
  const tables = new Map<string, Float32Array>();
  for (let b = 0; b < beats; b++) {
    const t0 = Math.round(b * beat);
    const bar = Math.floor(b / 4);
    const inBar = b % 4;
    if (inBar === 0) {
      const degree = prog[bar % prog.length] as number;
      for (const step of [0, 2, 4]) {
        const d = degree + step;
        const midi = p.rootMidi + (scale[d % 7] as number) + 12 * Math.floor(d / 7);
        addTone(out, t0, Math.round(4 * beat * 0.95), midiHz(midi), 0.12, partials, tables, {
          attack: 0.03,
          release: 0.2,
          bright,
        });
      }
      const bassDeg = degree;
      addTone(
        out,
        t0,
        Math.round(4 * beat * 0.9),
        midiHz(p.rootMidi - 12 + (scale[bassDeg % 7] as number)),
        0.18,
        3,
        tables,
        { attack: 0.01 },
      );
    }
    // melody: one or two notes per beat, stepwise motion
    const notes = r.chance(0.4) ? 2 : r.chance(0.85) ? 1 : 0;
    for (let k = 0; k < notes; k++) {
      melodyDegree = Math.max(0, Math.min(13, melodyDegree + r.int(-2, 2)));
      const midi = p.rootMidi + 12 + (scale[melodyDegree % 7] as number) + 12 * Math.floor(melodyDegree / 7);
      const dur = Math.round((beat / notes) * 0.9);
      addTone(out, t0 + Math.round((k * beat) / notes), dur, midiHz(midi), 0.15, melodyPartials, tables, {
        attack: 0.02,
        release: 0.06,
        vibratoHz,
        vibratoSemi,
      });
    }
    if (p.drums) {
      if (inBar === 0 || inBar === 2) addKick(out, t0, 0.6);
      if (inBar === 1 || inBar === 3) addBurst(out, t0, 0.3, r, 'snare');
      addBurst(out, t0, 0.12, r, 'hat');
      addBurst(out, t0 + Math.round(beat / 2), 0.08, r, 'hat');
    }
  }
  return setRms(out, GENERATOR_RMS);
}
