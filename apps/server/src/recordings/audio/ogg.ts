/**
 * Ogg Opus: a page walk checks that the file holds exactly one logical stream and that it is Opus (RFC 7845); the
 * packets are reassembled from the pages and decoded by the same libopus path as WebM (`opus-decoder`), stopping once
 * more than the allowed duration has been produced. (ogg-opus-decoder would do the same but prints every libopus
 * error of a client's file to the server's stderr from async code, where it cannot be silenced.)
 */
import { AUDIO_MESSAGES, AudioError } from './errors.ts';
import { type DecodedPcm, decodeOpusPackets, OPUS_RATE, parseOpusHead } from './opus.ts';

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

/**
 * The packets of the file's single logical stream, reassembled from the page segments (RFC 3533), and the last
 * granule position seen. Parsing stops at the first byte that is not a page (or at a truncated page).
 */
export function oggPackets(bytes: Uint8Array): {
  packets: Uint8Array[];
  lastGranule: number | null;
  complete: boolean;
} {
  const packets: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let pos = 0;
  let lastGranule: number | null = null;
  let complete = false;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (pos + 27 <= b.length && CAPTURE.every((v, i) => b[pos + i] === v)) {
    const flags = b[pos + 5]!;
    const granule = b.readBigInt64LE(pos + 6);
    const segments = b[pos + 26]!;
    const tableEnd = pos + 27 + segments;
    if (tableEnd > b.length) break;
    let bodySize = 0;
    for (let i = 0; i < segments; i++) bodySize += b[pos + 27 + i]!;
    if (tableEnd + bodySize > b.length) break;
    if (!(flags & 0x01)) pending = []; // not a continuation: drop any unfinished packet
    let at = tableEnd;
    let start = at;
    for (let i = 0; i < segments; i++) {
      const lace = b[pos + 27 + i]!;
      at += lace;
      if (lace < 255) {
        pending.push(bytes.subarray(start, at));
        packets.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
        pending = [];
        start = at;
      }
    }
    if (start < at) pending.push(bytes.subarray(start, at));
    if (granule >= 0n && granule <= BigInt(Number.MAX_SAFE_INTEGER)) lastGranule = Number(granule);
    if (flags & 0x04) complete = true;
    pos = tableEnd + bodySize;
  }
  return { packets, lastGranule, complete };
}

/**
 * Decode an Ogg Opus file at 48 kHz until more than `maxSeconds` have been produced. When the whole stream was
 * decoded, the end is trimmed to the last granule position (RFC 7845 §4.4).
 */
export async function decodeOggOpus(bytes: Uint8Array, maxSeconds: number): Promise<DecodedPcm> {
  checkOggOpus(bytes);
  const { packets, lastGranule, complete } = oggPackets(bytes);
  const head = packets[0] ? parseOpusHead(packets[0]) : null;
  if (!head) throw new AudioError(AUDIO_MESSAGES.decodeFailed);
  // Packet 1 is OpusTags; audio starts with packet 2.
  const pcm = await decodeOpusPackets(head, packets.slice(2), maxSeconds);
  if (complete && lastGranule !== null) {
    const valid = Math.max(0, lastGranule - head.preSkip);
    if (valid < pcm.frames && pcm.frames <= Math.floor(maxSeconds * OPUS_RATE)) {
      return {
        sampleRate: pcm.sampleRate,
        channels: pcm.channels.map((c) => c.subarray(0, valid)),
        frames: valid,
      };
    }
  }
  return pcm;
}
