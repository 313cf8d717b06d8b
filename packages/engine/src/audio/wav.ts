import { readFile } from 'node:fs/promises';
import { resample } from '@violawake/detector';

/** Decoded WAV: samples are mixed down to mono, floats in −1..1, at the file's own rate. */
export interface DecodedWav {
  sampleRate: number;
  channels: number;
  /** Mono (channel mean), −1..1. */
  samples: Float32Array;
  /** Bits per sample and whether the samples were float, as stored. */
  bitsPerSample: number;
  float: boolean;
}

export class WavFormatError extends Error {
  override name = 'WavFormatError';
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function tag(view: DataView, off: number): string {
  return String.fromCharCode(
    view.getUint8(off),
    view.getUint8(off + 1),
    view.getUint8(off + 2),
    view.getUint8(off + 3),
  );
}

/**
 * Reads a RIFF/WAVE file: PCM 8 (unsigned), 16, 24, 32 bit; IEEE float 32 and 64 bit; WAVE_FORMAT_EXTENSIBLE with
 * a PCM or float sub-format. Multi-channel audio is averaged to mono. A data chunk whose declared size runs past the
 * end of the buffer (streaming writers) is clamped to what is present.
 */
export function readWav(bytes: Uint8Array): DecodedWav {
  if (bytes.byteLength < 12) throw new WavFormatError('file too short for a WAV header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (tag(view, 0) !== 'RIFF' || tag(view, 8) !== 'WAVE') throw new WavFormatError('not a RIFF/WAVE file');
  let off = 12;
  let fmt: { format: number; channels: number; sampleRate: number; blockAlign: number; bits: number } | null =
    null;
  let dataOff = -1;
  let dataLen = 0;
  while (off + 8 <= bytes.byteLength) {
    const id = tag(view, off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.byteLength) throw new WavFormatError('fmt chunk too short');
      let format = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const blockAlign = view.getUint16(body + 12, true);
      const bits = view.getUint16(body + 14, true);
      if (format === WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 26 > bytes.byteLength)
          throw new WavFormatError('extensible fmt chunk too short');
        format = view.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
      fmt = { format, channels, sampleRate, blockAlign, bits };
    } else if (id === 'data') {
      dataOff = body;
      dataLen = Math.min(size, bytes.byteLength - body);
      if (fmt) break;
    }
    off = body + size + (size & 1);
  }
  if (!fmt) throw new WavFormatError('missing fmt chunk');
  if (dataOff < 0) throw new WavFormatError('missing data chunk');
  const { format, channels, sampleRate, bits } = fmt;
  if (channels < 1) throw new WavFormatError('zero channels');
  if (sampleRate < 1) throw new WavFormatError('invalid sample rate');
  const bytesPer = bits / 8;
  let isFloat: boolean;
  if (format === WAVE_FORMAT_PCM) {
    if (![8, 16, 24, 32].includes(bits)) throw new WavFormatError(`unsupported PCM bit depth ${bits}`);
    isFloat = false;
  } else if (format === WAVE_FORMAT_IEEE_FLOAT) {
    if (bits !== 32 && bits !== 64) throw new WavFormatError(`unsupported float bit depth ${bits}`);
    isFloat = true;
  } else {
    throw new WavFormatError(`unsupported WAV format tag ${format}`);
  }
  const frameBytes = bytesPer * channels;
  const frames = Math.floor(dataLen / frameBytes);
  const out = new Float32Array(frames);
  if (bits === 16 && channels === 1 && LITTLE_ENDIAN) {
    // fast path for the common case (16-bit mono): typed-array view instead of DataView calls
    const pcm = new Int16Array(
      bytes.buffer.slice(bytes.byteOffset + dataOff, bytes.byteOffset + dataOff + frames * 2),
    );
    for (let i = 0; i < frames; i++) out[i] = (pcm[i] as number) / 32768;
    return { sampleRate, channels, samples: out, bitsPerSample: bits, float: isFloat };
  }
  const inv = 1 / channels;
  for (let i = 0; i < frames; i++) {
    let acc = 0;
    let p = dataOff + i * frameBytes;
    for (let c = 0; c < channels; c++, p += bytesPer) {
      let v: number;
      if (isFloat) v = bits === 32 ? view.getFloat32(p, true) : view.getFloat64(p, true);
      else if (bits === 16) v = view.getInt16(p, true) / 32768;
      else if (bits === 8) v = (view.getUint8(p) - 128) / 128;
      else if (bits === 24) {
        const x = view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16);
        v = x / 8388608;
      } else v = view.getInt32(p, true) / 2147483648;
      acc += v;
    }
    out[i] = acc * inv;
  }
  return { sampleRate, channels, samples: out, bitsPerSample: bits, float: isFloat };
}

/** Float → int16 with rounding and clipping (the project's one conversion rule). */
export function floatToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round((samples[i] as number) * 32768);
    out[i] = v > 32767 ? 32767 : Math.max(v, -32768);
  }
  return out;
}

/** Writes a mono 16-bit PCM WAV. Float input is −1..1 (clipped); Int16 input is written as is. */
export function writeWav16(samples: Float32Array | Int16Array, sampleRate: number): Uint8Array {
  const pcm = samples instanceof Int16Array ? samples : floatToInt16(samples);
  const dataBytes = pcm.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const put = (off: number, s: string) => {
    for (let i = 0; i < 4; i++) v.setUint8(off + i, s.charCodeAt(i));
  };
  put(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, WAVE_FORMAT_PCM, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  put(36, 'data');
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < pcm.length; i++) v.setInt16(44 + 2 * i, pcm[i] as number, true);
  return out;
}

/** Resamples to 16 kHz with the detector's band-limited resampler (identity at 16 kHz). */
export function to16k(samples: Float32Array, sampleRate: number): Float32Array {
  return sampleRate === 16000 ? samples : resample(samples, sampleRate, 16000);
}

/** Reads any supported WAV file and returns mono 16 kHz samples in −1..1. */
export async function readWavFile16k(path: string): Promise<Float32Array> {
  const wav = readWav(new Uint8Array(await readFile(path)));
  return to16k(wav.samples, wav.sampleRate);
}
