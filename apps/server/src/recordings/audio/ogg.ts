/**
 * Ogg Opus: a page walk checks that the file holds exactly one logical stream and that it is Opus (RFC 7845), then
 * `ogg-opus-decoder` decodes it in chunks, stopping once more than the allowed duration has been produced.
 */
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { AUDIO_MESSAGES, AudioError } from './errors.ts';
import { concatChannels, type DecodedPcm, OPUS_RATE, parseOpusHead } from './opus.ts';

const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const FLAG_BOS = 0x02;

/** True when the bytes start with an Ogg capture pattern. */
export function looksLikeOgg(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && CAPTURE.every((v, i) => bytes[i] === v);
}

/** Walk the page headers; throws the "unsupported format" 400 unless there is exactly one stream and it is Opus. */
export function checkOggOpus(bytes: Uint8Array): void {
  const unsupported = () => new AudioError(AUDIO_MESSAGES.unsupported);
  let pos = 0;
  let bosPages = 0;
  let firstPacket: Uint8Array | null = null;
  while (pos + 27 <= bytes.length && CAPTURE.every((v, i) => bytes[pos + i] === v)) {
    const flags = bytes[pos + 5]!;
    const segments = bytes[pos + 26]!;
    const tableEnd = pos + 27 + segments;
    if (tableEnd > bytes.length) break;
    let bodySize = 0;
    let firstLen = 0;
    let firstDone = false;
    for (let i = 0; i < segments; i++) {
      const lace = bytes[pos + 27 + i]!;
      bodySize += lace;
      if (!firstDone) {
        firstLen += lace;
        if (lace < 255) firstDone = true;
      }
    }
    if (flags & FLAG_BOS) {
      bosPages++;
      if (bosPages === 1) firstPacket = bytes.subarray(tableEnd, Math.min(tableEnd + firstLen, bytes.length));
    }
    pos = tableEnd + bodySize;
  }
  if (bosPages !== 1 || firstPacket === null) throw unsupported();
  const magic = Buffer.from(firstPacket.subarray(0, 8)).toString('latin1');
  if (magic !== 'OpusHead') throw unsupported();
  if (parseOpusHead(firstPacket) === null) throw new AudioError(AUDIO_MESSAGES.decodeFailed);
}

/** Decode an Ogg Opus file at 48 kHz until more than `maxSeconds` have been produced. */
export async function decodeOggOpus(bytes: Uint8Array, maxSeconds: number): Promise<DecodedPcm> {
  checkOggOpus(bytes);
  const decoder = new OggOpusDecoder();
  const limit = Math.floor(maxSeconds * OPUS_RATE);
  const chunks: Float32Array[][] = [];
  let frames = 0;
  let channelCount = 0;
  const take = (res: { channelData: Float32Array[]; samplesDecoded: number; errors: unknown[] }) => {
    if (res.errors.length > 0) throw new AudioError(AUDIO_MESSAGES.decodeFailed);
    if (res.samplesDecoded > 0) {
      channelCount = Math.max(channelCount, res.channelData.length);
      chunks.push(res.channelData.map((c) => c.subarray(0, res.samplesDecoded)));
      frames += res.samplesDecoded;
    }
  };
  try {
    await decoder.ready;
    const CHUNK = 32 * 1024;
    for (let off = 0; off < bytes.length && frames <= limit; off += CHUNK) {
      take(await decoder.decode(bytes.subarray(off, off + CHUNK)));
    }
    if (frames <= limit) take(await decoder.flush());
  } catch (err) {
    if (err instanceof AudioError) throw err;
    throw new AudioError(AUDIO_MESSAGES.decodeFailed);
  } finally {
    decoder.free();
  }
  if (channelCount === 0) return { sampleRate: OPUS_RATE, channels: [new Float32Array(0)], frames: 0 };
  return { sampleRate: OPUS_RATE, channels: concatChannels(chunks, channelCount, frames), frames };
}
