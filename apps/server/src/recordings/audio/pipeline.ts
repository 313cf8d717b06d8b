/**
 * The decode-and-convert part of the upload pipeline (docs/api.md §4.5 steps 4–12): format from magic bytes, decode,
 * duration limits, clipping on the source, downmix, band-limited resampling to 16 kHz, int16 rounding, silence
 * check and warnings. Pure function of the bytes: no storage, no database.
 */
import { resample } from '@violawake/detector';
import { AUDIO_MESSAGES, AudioError, tooLong, tooShort } from './errors.ts';
import { decodeOggOpus, looksLikeOgg } from './ogg.ts';
import { type DecodedPcm, decodeOpusPackets } from './opus.ts';
import { decodeWavSamples, encodeWav16, looksLikeWav, parseWavHeader, pcm16MonoSamples } from './wav.ts';
import { demuxWebmOpus, looksLikeWebm } from './webm.ts';

export const TARGET_RATE = 16000;
export const MIN_SECONDS = 0.5;
export const MAX_SECONDS = 5.0;
/** |x| at or above this share of full scale counts as clipped. */
export const CLIP_LEVEL = 0.999;
/** More than this share of clipped source samples gives the `clipping` warning. */
export const CLIP_WARN_SHARE = 0.005;
export const LOW_LEVEL_DBFS = -40;
/** Output RMS (int16 units) below this is silence. */
export const SILENCE_RMS = 10;

export type SourceFormat = 'wav' | 'webm' | 'ogg';

export interface UploadWarning {
  code: 'clipping' | 'low_level';
  message: string;
  value: number;
}

export interface ProcessedRecording {
  sourceFormat: SourceFormat;
  sourceSampleRate: number;
  sourceChannels: number;
  /** 16 kHz mono int16 samples as stored. */
  samples: Int16Array;
  /** The WAV file to store (canonical 44-byte header). */
  wav: Buffer;
  /** Output duration in seconds, 3 decimals. */
  durationS: number;
  /** Output RMS in dBFS (−Infinity for digital silence). */
  rmsDbfs: number;
  clippedShare: number;
  warnings: UploadWarning[];
}

/** Which container the magic bytes announce, or null. */
export function detectFormat(bytes: Uint8Array): SourceFormat | null {
  if (looksLikeWav(bytes)) return 'wav';
  if (looksLikeWebm(bytes)) return 'webm';
  if (looksLikeOgg(bytes)) return 'ogg';
  return null;
}

function checkDuration(frames: number, rate: number): void {
  const seconds = frames / rate;
  if (seconds < MIN_SECONDS) throw tooShort(seconds);
  if (seconds > MAX_SECONDS) throw tooLong(seconds);
}

/**
 * Run steps 4–12 on an uploaded file's bytes. Throws {@link AudioError} (a 400 with the exact message) for every
 * rejection; any other failure inside a decoder is reported as "Could not decode audio".
 */
export async function processRecording(bytes: Uint8Array): Promise<ProcessedRecording> {
  if (bytes.length === 0) throw new AudioError(AUDIO_MESSAGES.empty);
  const format = detectFormat(bytes);
  if (format === null) throw new AudioError(AUDIO_MESSAGES.unsupported);
  try {
    return await processKnown(bytes, format);
  } catch (err) {
    if (err instanceof AudioError) throw err;
    throw new AudioError(AUDIO_MESSAGES.decodeFailed);
  }
}

async function processKnown(bytes: Uint8Array, format: SourceFormat): Promise<ProcessedRecording> {
  let pcm: DecodedPcm;
  let unchanged: Int16Array | null = null;
  if (format === 'wav') {
    const info = parseWavHeader(bytes);
    // The duration is known from the header: reject before decoding anything.
    checkDuration(info.frames, info.sampleRate);
    unchanged = pcm16MonoSamples(bytes, info);
    pcm = { sampleRate: info.sampleRate, channels: decodeWavSamples(bytes, info), frames: info.frames };
  } else if (format === 'webm') {
    const { head, packets } = demuxWebmOpus(bytes);
    pcm = await decodeOpusPackets(head, packets, MAX_SECONDS);
  } else {
    pcm = await decodeOggOpus(bytes, MAX_SECONDS);
  }
  checkDuration(pcm.frames, pcm.sampleRate);

  const clippedShare = clippedFraction(pcm.channels);
  const samples = unchanged ?? toInt16(resampleTo16k(downmix(pcm.channels), pcm.sampleRate));
  const rms = rmsOf(samples);
  if (rms < SILENCE_RMS) throw new AudioError(AUDIO_MESSAGES.silent);
  const rmsDbfs = 20 * Math.log10(rms / 32768);

  const warnings: UploadWarning[] = [];
  if (clippedShare > CLIP_WARN_SHARE) {
    const pct = (clippedShare * 100).toFixed(1);
    warnings.push({
      code: 'clipping',
      message: `The recording is clipped (${pct}% of samples at full scale). Lower the microphone gain or move further away.`,
      value: Math.round(clippedShare * 10000) / 10000,
    });
  }
  if (rmsDbfs < LOW_LEVEL_DBFS) {
    warnings.push({
      code: 'low_level',
      message: `The recording level is low (${rmsDbfs.toFixed(1)} dBFS). Speak closer to the microphone or raise its gain.`,
      value: Math.round(rmsDbfs * 10) / 10,
    });
  }
  return {
    sourceFormat: format,
    sourceSampleRate: pcm.sampleRate,
    sourceChannels: pcm.channels.length,
    samples,
    wav: encodeWav16(samples, TARGET_RATE),
    durationS: Math.round((samples.length / TARGET_RATE) * 1000) / 1000,
    rmsDbfs,
    clippedShare,
    warnings,
  };
}

/** Share of source samples (all channels) with |x| ≥ 0.999 of full scale; NaN counts as not clipped. */
export function clippedFraction(channels: Float32Array[]): number {
  let clipped = 0;
  let total = 0;
  for (const ch of channels) {
    total += ch.length;
    for (let i = 0; i < ch.length; i++) if (Math.abs(ch[i]!) >= CLIP_LEVEL) clipped++;
  }
  return total === 0 ? 0 : clipped / total;
}

/** Average of the channels; non-finite input samples become 0. */
export function downmix(channels: Float32Array[]): Float32Array {
  const n = channels[0]?.length ?? 0;
  const out = new Float32Array(n);
  const k = channels.length;
  for (const ch of channels) for (let i = 0; i < n; i++) out[i]! += ch[i]!;
  for (let i = 0; i < n; i++) {
    const v = out[i]! / k;
    out[i] = Number.isFinite(v) ? v : 0;
  }
  return out;
}

function resampleTo16k(x: Float32Array, rate: number): Float32Array {
  return rate === TARGET_RATE ? x : resample(x, rate, TARGET_RATE);
}

/** Round to int16 with clipping (full scale 1.0 = 32768). */
export function toInt16(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i]! * 32768);
    out[i] = Math.max(-32768, Math.min(32767, v));
  }
  return out;
}

export function rmsOf(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / samples.length);
}
