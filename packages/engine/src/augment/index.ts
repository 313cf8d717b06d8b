import { Rand, type RandomSource } from '../audio/random.ts';
import { music } from '../negatives/music.ts';
import { noise } from '../negatives/noise.ts';
import { Rng } from '../rng.ts';
import {
  addNoiseAtSnr,
  applyGain,
  applyRoom,
  bandLimit,
  changeSpeed,
  pitchShift,
  roomImpulseResponse,
  timeMask,
} from './transforms.ts';
import { formantWarp, micResponse, opusRoundTrip, randomMicBands, spectralTilt, telephone } from './voice.ts';

export { fftConvolve } from './fftconv.ts';
export * from './transforms.ts';
export * from './voice.ts';

/** Parameters and probabilities of the random transforms. */
export interface AugmentConfig {
  gainDb: readonly [number, number];
  speed: { p: number; range: readonly [number, number] };
  pitch: { p: number; semitones: readonly [number, number] };
  noise: { p: number; snrDb: readonly [number, number] };
  room: { p: number; rt60: readonly [number, number] };
  timeMask: { p: number };
  /** Band of a microphone or codec (low- and high-pass corners), applied to the whole placed canvas. */
  channel: { p: number; lowpassHz: readonly [number, number]; highpassHz: readonly [number, number] };
  /** Vocal-tract length: formants moved by a factor, pitch and timing kept (`formantWarp`). */
  formant: { p: number; alpha: readonly [number, number] };
  /** A microphone's response: a spectral tilt (dB of the highs against the lows) and 2–4 peaks or dips. */
  mic: { p: number; tiltDb: readonly [number, number] };
  /** A codec round trip: Opus at a low bit rate, or (a share `telephone` of them) μ-law telephone audio. */
  codec: { p: number; opusBitrate: readonly [number, number]; telephone: number };
}

/**
 * §6.9 table: parameters and probabilities (exported for tests and documentation); `channel` is beyond the first design
 * (docs/engine.md).
 */
export const AUGMENT_CONFIG: AugmentConfig = {
  gainDb: [-6, 6] as const,
  speed: { p: 0.5, range: [0.9, 1.1] as const },
  pitch: { p: 0.4, semitones: [-2, 2] as const },
  noise: { p: 0.8, snrDb: [5, 30] as const },
  room: { p: 0.5, rt60: [0.1, 0.8] as const },
  timeMask: { p: 0.2 },
  channel: { p: 0.5, lowpassHz: [3000, 7500] as const, highpassHz: [50, 300] as const },
  // measured and not adopted (docs/engine.md, "Other voices and other channels"): off, drawn all the same
  formant: { p: 0, alpha: [0.88, 1.12] as const },
  mic: { p: 0, tiltDb: [-8, 8] as const },
  codec: { p: 0, opusBitrate: [8000, 24000] as const, telephone: 0.4 },
};

/**
 * The voice and channel transforms as measured (docs/engine.md, "Other voices and other channels"): formants moved on
 * half of the utterances, a microphone response on half of the canvases, a codec on 15 %. Not the default.
 */
export const VOICE_CHANNEL_CONFIG: AugmentConfig = {
  ...AUGMENT_CONFIG,
  formant: { p: 0.5, alpha: [0.88, 1.12] as const },
  mic: { p: 0.5, tiltDb: [-8, 8] as const },
  codec: { p: 0.15, opusBitrate: [8000, 24000] as const, telephone: 0.4 },
};

export interface AugmentLog {
  speed?: number;
  pitchSemitones?: number;
  rt60?: number;
  noise?: { kind: string; snrDb: number };
  gainDb: number;
  timeMask?: Array<[number, number]>;
  channel?: { lowpassHz: number; highpassHz: number };
  formantAlpha?: number;
  mic?: { tiltDb: number; bands: number };
  codec?: string;
}

export interface AugmentOptions {
  /**
   * Noise beds to draw from (babble, bank noise, music…). When absent, or with probability 0.5 when given, a bed is
   * generated: white, pink, brown, hum or music-like.
   */
  noiseBeds?: Float32Array[];
  /** Filled with what was applied. */
  log?: AugmentLog;
}

/**
 * Wider speed and pitch changes for the user's own recordings: a handful of takes of one or a few voices stand in
 * for every voice the model will hear (docs/engine.md). Same draws as AUGMENT_CONFIG, other ranges.
 */
export const USER_VOICE_CONFIG: AugmentConfig = {
  ...AUGMENT_CONFIG,
  speed: { p: 0.6, range: [0.85, 1.15] as const },
  pitch: { p: 0.7, semitones: [-4, 4] as const },
};

/** The part before placement: speed → pitch → formants → room (all applied to the utterance itself). */
export function augmentUtterance(
  clip: Float32Array,
  rng: RandomSource,
  log?: Partial<AugmentLog>,
  config: AugmentConfig = AUGMENT_CONFIG,
): Float32Array {
  const r = new Rand(rng);
  const c = config;
  let x = clip;
  // draw every decision up front so the stream layout does not depend on the clip
  const doSpeed = r.chance(c.speed.p);
  const speed = r.uniform(...c.speed.range);
  const doPitch = r.chance(c.pitch.p);
  const semis = r.uniform(...c.pitch.semitones);
  const doRoom = r.chance(c.room.p);
  const rt60 = r.uniform(...c.room.rt60);
  const irSeed = r.int(0, 0x7fffffff);
  // drawn after the first design's transforms so their draws stay as they were
  const doFormant = r.chance(c.formant.p);
  const alpha = r.uniform(...c.formant.alpha);
  if (doSpeed) {
    x = changeSpeed(x, speed);
    if (log) log.speed = speed;
  }
  if (doPitch) {
    x = pitchShift(x, semis);
    if (log) log.pitchSemitones = semis;
  }
  if (doFormant) {
    x = formantWarp(x, alpha);
    if (log) log.formantAlpha = alpha;
  }
  if (doRoom) {
    const ir = roomImpulseResponse(rt60, new Rand(seedFn(irSeed)).u);
    x = applyRoom(x, ir);
    if (log) log.rt60 = rt60;
  }
  return x === clip ? clip.slice() : x;
}

/**
 * The part after placement: noise → microphone band → microphone response → codec → gain → time mask. `region` is
 * where the utterance lies in `x` (for the SNR reference and the time mask); default the whole array.
 */
export function augmentPlaced(
  x: Float32Array,
  rng: RandomSource,
  opts: AugmentOptions & { region?: [number, number] } = {},
  config: AugmentConfig = AUGMENT_CONFIG,
): Float32Array {
  const r = new Rand(rng);
  const c = config;
  const log = opts.log;
  const region = opts.region ?? [0, x.length];
  const doNoise = r.chance(c.noise.p);
  const snr = r.uniform(...c.noise.snrDb);
  const useBed = (opts.noiseBeds?.length ?? 0) > 0 && r.chance(0.5);
  const bedIndex = r.int(0, Math.max(0, (opts.noiseBeds?.length ?? 1) - 1));
  const kind = r.pick(['white', 'pink', 'brown', 'hum', 'music'] as const);
  const noiseSeed = r.int(0, 0x7fffffff);
  const gainDb = r.uniform(...c.gainDb);
  const doMask = r.chance(c.timeMask.p);
  const maskSeed = r.int(0, 0x7fffffff);
  // drawn after the first design's transforms so their draws stay as they were
  const doChannel = r.chance(c.channel.p);
  const lowpassHz = r.uniform(...c.channel.lowpassHz);
  const highpassHz = r.uniform(...c.channel.highpassHz);
  const doMic = r.chance(c.mic.p);
  const tiltDb = r.uniform(...c.mic.tiltDb);
  const micSeed = r.int(0, 0x7fffffff);
  const doCodec = r.chance(c.codec.p);
  const phone = r.chance(c.codec.telephone);
  const bitrate = Math.round(r.uniform(...c.codec.opusBitrate));
  let y = x;
  if (doNoise) {
    const sec = Math.max(0.1, x.length / 16000);
    const nr = new Rand(seedFn(noiseSeed)).u;
    const bed = useBed
      ? ((opts.noiseBeds as Float32Array[])[bedIndex] as Float32Array)
      : kind === 'music'
        ? music(sec, nr)
        : noise(kind, sec, nr);
    y = addNoiseAtSnr(y, bed, snr, nr, { region });
    if (log) log.noise = { kind: useBed ? `bed${bedIndex}` : kind, snrDb: snr };
  }
  if (doChannel) {
    y = bandLimit(y, lowpassHz, highpassHz);
    if (log) log.channel = { lowpassHz, highpassHz };
  }
  if (doMic) {
    const bands = randomMicBands(seedFn(micSeed));
    y = micResponse(spectralTilt(y, tiltDb), bands);
    if (log) log.mic = { tiltDb, bands: bands.length };
  }
  if (doCodec) {
    y = phone ? telephone(y) : opusRoundTrip(y, bitrate);
    if (log) log.codec = phone ? 'telephone' : `opus ${bitrate}`;
  }
  y = applyGain(y, gainDb);
  if (log) log.gainDb = gainDb;
  if (doMask) {
    const m = timeMask(y, new Rand(seedFn(maskSeed)).u, region);
    y = m.samples;
    if (log) log.timeMask = m.spans;
  }
  return y;
}

/**
 * §6.9 augmentation of one clip without placement (speed → pitch → formants → room → noise → band → microphone → codec
 * → gain → time mask), seeded.
 * The pipeline that places utterances on canvases calls `augmentUtterance`, places, then `augmentPlaced`.
 */
export function augment(clip: Float32Array, rng: RandomSource, opts: AugmentOptions = {}): Float32Array {
  const r = new Rand(rng);
  const preSeed = r.int(0, 0x7fffffff);
  const postSeed = r.int(0, 0x7fffffff);
  const log: AugmentLog = opts.log ?? { gainDb: 0 };
  const x = augmentUtterance(clip, new Rand(seedFn(preSeed)).u, log);
  return augmentPlaced(x, new Rand(seedFn(postSeed)).u, { ...opts, log });
}

/** Sub-stream seeded from a draw of the caller's stream (the engine PRNG, xoshiro128** via SplitMix32). */
function seedFn(seed: number): () => number {
  const g = new Rng(seed);
  return () => g.next();
}
