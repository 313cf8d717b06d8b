/**
 * Opus decoding (WebAssembly libopus from `opus-decoder`) of demuxed packets at 48 kHz, and the OpusHead parser
 * shared by the containers (RFC 7845 §5.1).
 */
import { OpusDecoder } from 'opus-decoder';
import { AUDIO_MESSAGES, AudioError } from './errors.ts';

export const OPUS_RATE = 48000;

export interface OpusHead {
  channels: number;
  preSkip: number;
  mappingFamily: number;
  streamCount: number;
  coupledStreamCount: number;
  channelMapping: number[];
}

/** Parse an OpusHead packet; null when it is not one or its values are inconsistent. */
export function parseOpusHead(p: Uint8Array): OpusHead | null {
  if (p.length < 19) return null;
  const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  if (b.toString('latin1', 0, 8) !== 'OpusHead') return null;
  const version = b[8]!;
  if (version >> 4 !== 0) return null; // major version must be 0
  const channels = b[9]!;
  const preSkip = b.readUInt16LE(10);
  const mappingFamily = b[18]!;
  if (channels === 0) return null;
  if (mappingFamily === 0) {
    if (channels > 2) return null;
    return {
      channels,
      preSkip,
      mappingFamily,
      streamCount: 1,
      coupledStreamCount: channels - 1,
      channelMapping: channels === 1 ? [0] : [0, 1],
    };
  }
  if (p.length < 21 + channels) return null;
  const streamCount = b[19]!;
  const coupledStreamCount = b[20]!;
  if (streamCount === 0 || coupledStreamCount > streamCount || channels > 8) return null;
  const channelMapping = Array.from(b.subarray(21, 21 + channels));
  if (channelMapping.some((m) => m !== 255 && m >= streamCount + coupledStreamCount)) return null;
  return { channels, preSkip, mappingFamily, streamCount, coupledStreamCount, channelMapping };
}

export interface DecodedPcm {
  sampleRate: number;
  channels: Float32Array[];
  frames: number;
}

/**
 * Decode packets until more than `maxSeconds` of audio (after the pre-skip) has been produced. Any libopus error
 * is the "Could not decode audio" 400.
 */
export async function decodeOpusPackets(
  head: OpusHead,
  packets: Uint8Array[],
  maxSeconds: number,
): Promise<DecodedPcm> {
  const decoder = new OpusDecoder({
    channels: head.channels,
    preSkip: head.preSkip,
    streamCount: head.streamCount,
    coupledStreamCount: head.coupledStreamCount,
    channelMappingTable: head.channelMapping,
  });
  const limit = Math.floor(maxSeconds * OPUS_RATE);
  try {
    await decoder.ready;
    const chunks: Float32Array[][] = [];
    let frames = 0;
    for (let i = 0; i < packets.length && frames <= limit; i++) {
      const res = quietly(() => decoder.decodeFrame(packets[i]!));
      if (res.errors.length > 0) throw new AudioError(AUDIO_MESSAGES.decodeFailed);
      if (res.samplesDecoded > 0) {
        chunks.push(res.channelData.map((c) => c.subarray(0, res.samplesDecoded)));
        frames += res.samplesDecoded;
      }
    }
    return { sampleRate: OPUS_RATE, channels: concatChannels(chunks, head.channels, frames), frames };
  } catch (err) {
    if (err instanceof AudioError) throw err;
    throw new AudioError(AUDIO_MESSAGES.decodeFailed);
  } finally {
    decoder.free();
  }
}

/**
 * Run a synchronous decoder call with `console.error` silenced: opus-decoder prints every libopus error there, which
 * would let any client write to the server's stderr. The error is still returned in the result and handled.
 */
export function quietly<T>(fn: () => T): T {
  const original = console.error;
  console.error = () => {};
  try {
    return fn();
  } finally {
    console.error = original;
  }
}

export function concatChannels(
  chunks: Float32Array[][],
  channelCount: number,
  frames: number,
): Float32Array[] {
  const out = Array.from({ length: channelCount }, () => new Float32Array(frames));
  let offset = 0;
  for (const chunk of chunks) {
    const n = chunk[0]?.length ?? 0;
    for (let c = 0; c < channelCount; c++) out[c]!.set((chunk[c] ?? chunk[0]!).subarray(0, n), offset);
    offset += n;
  }
  return out;
}
