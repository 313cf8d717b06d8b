import { ampToDb } from './levels.ts';

/**
 * User-clip trimming (docs/engine.md §6.2; docs/engine.md, "Take checks"): 10 ms frame energies, noise floor = 10th
 * percentile, speech frames are ≥ floor + 10 dB, ≥ the clip's loud end (95th percentile) − 30 dB and ≥ −70 dBFS;
 * speech runs closer than 300 ms are merged, the longest merged run is kept (a run too short or too long is looked
 * for again at lower or higher thresholds), optionally confirmed by a VAD on the padded run, and padded by 100 ms on
 * each side within the clip.
 */

export type TrimRejectReason = 'empty' | 'no_speech' | 'too_short' | 'too_long' | 'vad_rejected';

export interface TrimDiagnostics {
  /** Clip length in seconds. */
  durationSec: number;
  /** 10th percentile of the 10 ms frame levels, dBFS. */
  noiseFloorDbfs: number;
  /** RMS level of the kept speech run, dBFS (−120 when none). */
  speechDbfs: number;
  /** speechDbfs − noiseFloorDbfs (dB); Infinity-free: capped at 120. */
  snrDb: number;
  /** Length of the kept speech run without padding, seconds (0 when none). */
  speechSec: number;
  /** Fraction of samples at full scale (|x| ≥ 32767/32768). */
  clippedFraction: number;
  /** > 1 % of samples at full scale. */
  clipping: boolean;
  /** SNR < 5 dB. */
  lowSnr: boolean;
  /** Mean VAD probability over the run, when a VAD was given. */
  vadMean?: number;
  /** Number of merged speech runs found. */
  runs: number;
}

export interface TrimOptions {
  sampleRate?: number;
  frameMs?: number;
  /** dB above the noise floor for a speech frame (10). */
  floorMarginDb?: number;
  /** Absolute minimum level of a speech frame (−70 dBFS; the level below the loud end usually decides). */
  minSpeechDbfs?: number;
  /** Speech frames are at most this far below the clip's loud end (95th percentile frame level; 30 dB). */
  belowLoudDb?: number;
  /** Runs separated by less than this are merged (300 ms). */
  mergeGapMs?: number;
  padMs?: number;
  minSpeechSec?: number;
  maxSpeechSec?: number;
  /** Optional VAD confirmation: a speech probability of the padded run (16 kHz). */
  vadProb?: (run: Float32Array) => number;
  vadThreshold?: number;
}

export type TrimResult =
  | { ok: true; samples: Float32Array; start: number; end: number; diagnostics: TrimDiagnostics }
  | { ok: false; reason: TrimRejectReason; diagnostics: TrimDiagnostics };

const FULL_SCALE = 32767 / 32768;
/** A speech frame is never less than this above the noise floor, whatever the retries below. */
const MIN_MARGIN_DB = 6;
/** Threshold offsets tried when the longest run is too long (breath, room tone merged in) or too short (noise). */
const LONGER_OFFSETS = [3, 6, 9, 12, 15];
const SHORTER_OFFSETS = [-2, -4];

interface Analysis {
  frame: number;
  levels: Float64Array;
  floor: number;
  runs: Array<[number, number]>; // frame index ranges [start, end)
  clippedFraction: number;
}

function analyse(x: Float32Array, o: Required<Omit<TrimOptions, 'vadProb'>>, offsetDb = 0): Analysis {
  const frame = Math.max(1, Math.round((o.sampleRate * o.frameMs) / 1000));
  const nFrames = Math.floor(x.length / frame);
  const levels = new Float64Array(nFrames);
  let clipped = 0;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i] as number) >= FULL_SCALE) clipped++;
  for (let f = 0; f < nFrames; f++) {
    let s = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) {
      const v = x[i] as number;
      s += v * v;
    }
    levels[f] = ampToDb(Math.sqrt(s / frame));
  }
  const sorted = Float64Array.from(levels).sort();
  const floor = nFrames > 0 ? (sorted[Math.floor(0.1 * (nFrames - 1))] as number) : -120;
  // the loud end of the clip (95th percentile frame): frames far below it are breath and room, even when the floor
  // is near digital silence
  const loud = nFrames > 0 ? (sorted[Math.floor(0.95 * (nFrames - 1))] as number) : -120;
  const thr = Math.max(
    floor + MIN_MARGIN_DB,
    Math.max(floor + o.floorMarginDb, loud - o.belowLoudDb, o.minSpeechDbfs) + offsetDb,
  );
  const raw: Array<[number, number]> = [];
  let startF = -1;
  for (let f = 0; f <= nFrames; f++) {
    const speech = f < nFrames && (levels[f] as number) >= thr;
    if (speech && startF < 0) startF = f;
    if (!speech && startF >= 0) {
      raw.push([startF, f]);
      startF = -1;
    }
  }
  const gapFrames = o.mergeGapMs / o.frameMs;
  const runs: Array<[number, number]> = [];
  for (const r of raw) {
    const last = runs[runs.length - 1];
    if (last && r[0] - last[1] < gapFrames) last[1] = r[1];
    else runs.push([r[0], r[1]]);
  }
  return { frame, levels, floor, runs, clippedFraction: x.length ? clipped / x.length : 0 };
}

function resolve(opts: TrimOptions | undefined): Required<Omit<TrimOptions, 'vadProb'>> {
  return {
    sampleRate: opts?.sampleRate ?? 16000,
    frameMs: opts?.frameMs ?? 10,
    floorMarginDb: opts?.floorMarginDb ?? 10,
    minSpeechDbfs: opts?.minSpeechDbfs ?? -70,
    belowLoudDb: opts?.belowLoudDb ?? 30,
    mergeGapMs: opts?.mergeGapMs ?? 300,
    padMs: opts?.padMs ?? 100,
    minSpeechSec: opts?.minSpeechSec ?? 0.2,
    maxSpeechSec: opts?.maxSpeechSec ?? 2.5,
    vadThreshold: opts?.vadThreshold ?? 0.5,
  };
}

type Prepared =
  | { done: TrimResult }
  | {
      done?: undefined;
      run: Float32Array;
      s0: number;
      s1: number;
      diag: TrimDiagnostics;
      o: Required<Omit<TrimOptions, 'vadProb'>>;
    };

function prepare(x: Float32Array, opts?: TrimOptions): Prepared {
  const o = resolve(opts);
  let p = prepareAt(x, o, 0);
  // a soft or noisy take: a run too short at the first threshold gets up to two lower ones (never below floor + 6 dB);
  // a run too long (breath or room tone merged into it) gets up to five higher ones
  const retry = (offsets: number[], reason: TrimRejectReason[]) => {
    for (const off of offsets) {
      if (!p.done || p.done.ok || !reason.includes(p.done.reason)) return;
      const next = prepareAt(x, o, off);
      if (!next.done || next.done.ok || next.done.reason !== 'empty') p = next;
    }
  };
  retry(SHORTER_OFFSETS, ['too_short', 'no_speech']);
  retry(LONGER_OFFSETS, ['too_long']);
  return p;
}

function prepareAt(x: Float32Array, o: Required<Omit<TrimOptions, 'vadProb'>>, offsetDb: number): Prepared {
  const a = analyse(x, o, offsetDb);
  const diag: TrimDiagnostics = {
    durationSec: x.length / o.sampleRate,
    noiseFloorDbfs: a.floor,
    speechDbfs: -120,
    snrDb: 0,
    speechSec: 0,
    clippedFraction: a.clippedFraction,
    clipping: a.clippedFraction > 0.01,
    lowSnr: true,
    runs: a.runs.length,
  };
  if (a.levels.length === 0) return { done: { ok: false, reason: 'empty', diagnostics: diag } };
  if (a.runs.length === 0) return { done: { ok: false, reason: 'no_speech', diagnostics: diag } };
  let best = a.runs[0] as [number, number];
  for (const r of a.runs) if (r[1] - r[0] > best[1] - best[0]) best = r;
  const s0 = best[0] * a.frame;
  const s1 = Math.min(x.length, best[1] * a.frame);
  let energy = 0;
  for (let i = s0; i < s1; i++) energy += (x[i] as number) ** 2;
  diag.speechDbfs = ampToDb(Math.sqrt(energy / Math.max(1, s1 - s0)));
  diag.snrDb = Math.min(120, diag.speechDbfs - a.floor);
  diag.lowSnr = diag.snrDb < 5;
  diag.speechSec = (s1 - s0) / o.sampleRate;
  if (diag.speechSec < o.minSpeechSec) return { done: { ok: false, reason: 'too_short', diagnostics: diag } };
  if (diag.speechSec > o.maxSpeechSec) return { done: { ok: false, reason: 'too_long', diagnostics: diag } };
  return { run: x.subarray(s0, s1), s0, s1, diag, o };
}

function padded(x: Float32Array, p: Exclude<Prepared, { done: TrimResult }>): [number, number] {
  const pad = Math.round((p.o.padMs / 1000) * p.o.sampleRate);
  return [Math.max(0, p.s0 - pad), Math.min(x.length, p.s1 + pad)];
}

function finish(
  x: Float32Array,
  p: Exclude<Prepared, { done: TrimResult }>,
  vadMean: number | undefined,
): TrimResult {
  const { diag, o } = p;
  if (vadMean !== undefined) {
    diag.vadMean = vadMean;
    if (!(vadMean >= o.vadThreshold)) return { ok: false, reason: 'vad_rejected', diagnostics: diag };
  }
  const [start, end] = padded(x, p);
  return { ok: true, samples: x.slice(start, end), start, end, diagnostics: diag };
}

/** Trims a 16 kHz clip (§6.2). `start`/`end` are sample indices of the returned (padded) slice. */
export function trimClip(samples16k: Float32Array, opts?: TrimOptions): TrimResult {
  const p = prepare(samples16k, opts);
  if (p.done) return p.done;
  return finish(
    samples16k,
    p,
    opts?.vadProb ? opts.vadProb(samples16k.subarray(...padded(samples16k, p))) : undefined,
  );
}

/** Same as `trimClip` with an asynchronous VAD (e.g. silero through onnxruntime). */
export async function trimClipAsync(
  samples16k: Float32Array,
  opts: Omit<TrimOptions, 'vadProb'> & { vadProb?: (run: Float32Array) => number | Promise<number> },
): Promise<TrimResult> {
  const { vadProb, ...rest } = opts;
  const p = prepare(samples16k, rest);
  if (p.done) return p.done;
  return finish(
    samples16k,
    p,
    vadProb ? await vadProb(samples16k.subarray(...padded(samples16k, p))) : undefined,
  );
}
