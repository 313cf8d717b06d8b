/**
 * Canvases and windows (docs/engine.md §6.8). Word-level audio is placed on a 28-step canvas (35,840 samples, 2.24 s)
 * with its end uniformly in 1.84–2.00 s. The window ending at step k covers samples [1280·k − 31840, 1280·k), so the
 * training windows are those of W_25 … W_28 that contain the whole utterance. A canvas needs e_10 … e_28 (19 rows);
 * W_k starts at row k − 25 of those 19 rows.
 */
import { noiseFloor } from '../audio/floor.ts';
import { dbToAmp, rms } from '../audio/levels.ts';
import type { RandomSource } from '../audio/random.ts';
import { Rand } from '../audio/random.ts';

export const SR = 16000;
export const STEP = 1280;
export const CANVAS_STEPS = 28;
export const CANVAS_SAMPLES = CANVAS_STEPS * STEP; // 35,840
/** Rows kept per canvas: e_10 … e_28. */
export const CANVAS_ROWS = 19;
export const FIRST_ROW_STEP = 10;
export const WINDOW_SAMPLES = 31840;
/** Longest utterance that fits the windows W_25 … W_28 with its end at 2.00 s: 1.75 s. */
export const MAX_UTTERANCE_SAMPLES = Math.round(1.75 * SR);
export const END_MIN = Math.round(1.84 * SR);
export const END_MAX = Math.round(2.0 * SR);
/** Scoring pads (docs/engine.md §6.8): 2.0 s before, 1.0 s after, −72 dBFS noise floor. */
export const PAD_BEFORE = 2 * SR;
export const PAD_AFTER = SR;

export type Background = 'floor' | 'silence' | 'bed';

export interface PlaceOptions {
  rng: RandomSource;
  /** Generates a bed (noise or music-like audio) of the given length, unit-ish level; level is set here. */
  bed?: (length: number, rng: RandomSource) => Float32Array;
}

export interface Placed {
  canvas: Float32Array;
  start: number;
  end: number;
  background: Background;
  /** Indices 0…3 (W_25 … W_28) of the windows that contain the whole utterance. */
  windows: number[];
}

/** Window indices j (W_{25+j}) containing samples [start, end). */
export function windowsContaining(start: number, end: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < 4; j++) {
    const k = 25 + j;
    if (start >= STEP * k - WINDOW_SAMPLES && end <= STEP * k) out.push(j);
  }
  return out;
}

/** Places an utterance on a canvas (the utterance must be ≤ MAX_UTTERANCE_SAMPLES). */
export function placeOnCanvas(utt: Float32Array, opts: PlaceOptions): Placed {
  if (utt.length > MAX_UTTERANCE_SAMPLES) throw new RangeError('utterance longer than 1.75 s');
  const r = new Rand(opts.rng);
  const u = r.u();
  const background: Background = u < 0.4 || (u >= 0.5 && !opts.bed) ? 'floor' : u < 0.5 ? 'silence' : 'bed';
  let canvas: Float32Array;
  if (background === 'floor') canvas = noiseFloor(CANVAS_SAMPLES, opts.rng);
  else if (background === 'silence') canvas = new Float32Array(CANVAS_SAMPLES);
  else {
    const bed = (opts.bed as NonNullable<PlaceOptions['bed']>)(CANVAS_SAMPLES, opts.rng);
    const uttRms = Math.max(rms(utt), 1e-4);
    const bedRms = Math.max(rms(bed), 1e-9);
    const g = (uttRms * dbToAmp(-r.uniform(10, 30))) / bedRms;
    canvas = new Float32Array(CANVAS_SAMPLES);
    for (let i = 0; i < CANVAS_SAMPLES; i++) canvas[i] = (bed[i] as number) * g;
  }
  const end = r.int(END_MIN, END_MAX);
  const start = end - utt.length;
  for (let i = 0; i < utt.length; i++) canvas[start + i] = (canvas[start + i] as number) + (utt[i] as number);
  return { canvas, start, end, background, windows: windowsContaining(start, end) };
}

/** Speeds a clip up by resampling so that it fits (user clips longer than 1.75 s after trimming). */
export function fitLength(x: Float32Array, maxLen = MAX_UTTERANCE_SAMPLES): Float32Array {
  if (x.length <= maxLen) return x;
  const out = new Float32Array(maxLen);
  const ratio = (x.length - 1) / (maxLen - 1);
  for (let i = 0; i < maxLen; i++) {
    const p = i * ratio;
    const i0 = Math.floor(p);
    const f = p - i0;
    const a = x[i0] as number;
    const b = x[Math.min(i0 + 1, x.length - 1)] as number;
    out[i] = a + (b - a) * f;
  }
  return out;
}

/** Pads a clip for scoring: 2.0 s of −72 dBFS floor before, 1.0 s after, then up to a whole number of steps. */
export function padForScoring(x: Float32Array, rng: RandomSource): Float32Array {
  const raw = PAD_BEFORE + x.length + PAD_AFTER;
  const total = Math.ceil(raw / STEP) * STEP;
  const out = noiseFloor(total, rng);
  out.set(x, PAD_BEFORE);
  return out;
}
