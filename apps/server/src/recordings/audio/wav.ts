/**
 * RIFF/WAVE reading and writing (docs/api.md §4.5 step 6). Reads PCM unsigned 8-bit, signed 16/24/32-bit, IEEE float
 * 32/64-bit and WAVE_FORMAT_EXTENSIBLE with a PCM or float subformat; chunks are word-aligned (odd sizes padded).
 */
import { AUDIO_MESSAGES, AudioError, unsupportedWavFormat } from './errors.ts';

export const WAVE_FORMAT_PCM = 1;
export const WAVE_FORMAT_IEEE_FLOAT = 3;
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** The GUID tail shared by the KSDATAFORMAT_SUBTYPE_* GUIDs: xxxxxxxx-0000-0010-8000-00aa00389b71. */
const SUBFORMAT_TAIL = Buffer.from([
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
]);

export interface WavInfo {
  /** Effective sample encoding after resolving WAVE_FORMAT_EXTENSIBLE. */
  encoding: 'pcm' | 'float';
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Bytes per frame (all channels). */
  frameBytes: number;
  dataOffset: number;
  /** Whole frames available in the data chunk (a size beyond the end of the file means "to end of file"). */
  frames: number;
}

/** True when the bytes look like RIFF/WAVE (either marker present): the WAV rules then decide. */
export function looksLikeWav(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (
    (b.length >= 4 && b.toString('latin1', 0, 4) === 'RIFF') ||
    (b.length >= 12 && b.toString('latin1', 8, 12) === 'WAVE')
  );
}

/** Parse and validate the header; throws {@link AudioError} with the §4.5 message. */
export function parseWavHeader(bytes: Uint8Array): WavInfo {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 44) throw new AudioError(AUDIO_MESSAGES.wavTooSmall);
  if (b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') {
    throw new AudioError(AUDIO_MESSAGES.wavInvalid);
  }
  let fmt: { offset: number; size: number } | null = null;
  let data: { offset: number; size: number } | null = null;
  let pos = 12;
  while (pos + 8 <= b.length && (fmt === null || data === null)) {
    const id = b.toString('latin1', pos, pos + 4);
    const size = b.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ' && fmt === null) {
      fmt = { offset: body, size };
    } else if (id === 'data' && data === null) {
      data = { offset: body, size: Math.min(size, b.length - body) };
    }
    // Word alignment: a chunk with an odd size is followed by one pad byte.
    pos = body + size + (size & 1);
  }
  if (fmt === null || data === null) throw new AudioError(AUDIO_MESSAGES.wavInvalid);
  if (fmt.size < 16 || fmt.offset + 16 > b.length) throw new AudioError(AUDIO_MESSAGES.wavMalformedFmt);

  const tag = b.readUInt16LE(fmt.offset);
  const channels = b.readUInt16LE(fmt.offset + 2);
  const sampleRate = b.readUInt32LE(fmt.offset + 4);
  const bitsPerSample = b.readUInt16LE(fmt.offset + 14);
  let effectiveTag = tag;
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    // cbSize (2) + wValidBitsPerSample (2) + dwChannelMask (4) + SubFormat GUID (16) after the 16 basic bytes.
    if (fmt.size < 40 || fmt.offset + 40 > b.length) throw new AudioError(AUDIO_MESSAGES.wavMalformedFmt);
    const guid = b.subarray(fmt.offset + 24, fmt.offset + 40);
    effectiveTag = guid.readUInt16LE(0);
    if (!guid.subarray(2).equals(SUBFORMAT_TAIL)) throw unsupportedWavFormat(tag);
  }
  if (effectiveTag !== WAVE_FORMAT_PCM && effectiveTag !== WAVE_FORMAT_IEEE_FLOAT) {
    throw unsupportedWavFormat(effectiveTag);
  }
  const encoding = effectiveTag === WAVE_FORMAT_PCM ? 'pcm' : 'float';
  const bitsOk =
    encoding === 'pcm' ? [8, 16, 24, 32].includes(bitsPerSample) : [32, 64].includes(bitsPerSample);
  if (channels === 0 || channels > 8 || sampleRate < 8000 || sampleRate > 192_000 || !bitsOk) {
    throw new AudioError(AUDIO_MESSAGES.wavBadHeader);
  }
  const frameBytes = channels * (bitsPerSample / 8);
  return {
    encoding,
    channels,
    sampleRate,
    bitsPerSample,
    frameBytes,
    dataOffset: data.offset,
    frames: Math.floor(data.size / frameBytes),
  };
}

/** Decode the data chunk to one Float32Array per channel, full scale ±1 (float input is passed through). */
export function decodeWavSamples(bytes: Uint8Array, info: WavInfo): Float32Array[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { channels, frames, frameBytes, dataOffset } = info;
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  const bytesPer = info.bitsPerSample / 8;
  const read = sampleReader(b, info);
  for (let f = 0; f < frames; f++) {
    const base = dataOffset + f * frameBytes;
    for (let c = 0; c < channels; c++) out[c]![f] = read(base + c * bytesPer);
  }
  return out;
}

function sampleReader(b: Buffer, info: WavInfo): (offset: number) => number {
  if (info.encoding === 'float') {
    return info.bitsPerSample === 32 ? (o) => b.readFloatLE(o) : (o) => b.readDoubleLE(o);
  }
  switch (info.bitsPerSample) {
    case 8:
      return (o) => (b[o]! - 128) / 128;
    case 16:
      return (o) => b.readInt16LE(o) / 32768;
    case 24:
      return (o) => b.readIntLE(o, 3) / 8388608;
    default:
      return (o) => b.readInt32LE(o) / 2147483648;
  }
}

/** The int16 samples of a 16 kHz mono 16-bit PCM file, which is stored unchanged; otherwise null. */
export function pcm16MonoSamples(bytes: Uint8Array, info: WavInfo): Int16Array | null {
  if (
    info.encoding !== 'pcm' ||
    info.bitsPerSample !== 16 ||
    info.channels !== 1 ||
    info.sampleRate !== 16000
  ) {
    return null;
  }
  const out = new Int16Array(info.frames);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < info.frames; i++) out[i] = b.readInt16LE(info.dataOffset + 2 * i);
  return out;
}

/** A canonical 44-byte-header WAV file of 16-bit mono PCM. */
export function encodeWav16(samples: Int16Array, sampleRate: number): Buffer {
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'latin1');
  out.write('fmt ', 12, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataBytes, 40);
  const le = Buffer.from(samples.buffer, samples.byteOffset, dataBytes);
  if (isLittleEndian()) le.copy(out, 44);
  else for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, 44 + 2 * i);
  return out;
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
