/**
 * WebM (Matroska) demuxing of the single Opus audio track that browsers' MediaRecorder writes. A flat, linear EBML
 * scan: container elements are descended into (so unknown-size Segments and Clusters, as MediaRecorder writes them,
 * need no special handling), every other element is skipped by its size. Each step advances by at least two bytes,
 * so any input terminates in time linear in its length; nothing is ever read outside the buffer.
 */
import { AUDIO_MESSAGES, AudioError } from './errors.ts';
import { type OpusHead, parseOpusHead } from './opus.ts';

const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  Audio: 0xe1,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  BlockGroup: 0xa0,
  Block: 0xa1,
  SimpleBlock: 0xa3,
} as const;

/** Elements whose content is scanned as child elements. */
const CONTAINERS = new Set<number>([
  ID.EBML,
  ID.Segment,
  ID.Tracks,
  ID.TrackEntry,
  ID.Audio,
  ID.Cluster,
  ID.BlockGroup,
]);

const TRACK_TYPE_AUDIO = 2;

interface Track {
  number: number | null;
  type: number | null;
  codec: string | null;
  codecPrivate: Uint8Array | null;
}

export interface DemuxedOpus {
  head: OpusHead;
  /** Opus packets of the audio track, in stream order. */
  packets: Uint8Array[];
}

/** True when the bytes start with the EBML magic. */
export function looksLikeWebm(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3
  );
}

function readVint(
  b: Uint8Array,
  pos: number,
  keepMarker: boolean,
): { value: number; length: number; unknown: boolean } | null {
  if (pos >= b.length) return null;
  const first = b[pos]!;
  if (first === 0) return null; // longer than 8 bytes: invalid
  const length = Math.clz32(first) - 23; // 1..8
  if (pos + length > b.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = b[pos + i]!;
    value = value * 256 + byte;
    if (byte !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

function readUint(b: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) v = v * 256 + b[i]!;
  return v;
}

/** Demux the Opus track: exactly one audio track, with codec A_OPUS; otherwise the "unsupported format" 400. */
export function demuxWebmOpus(bytes: Uint8Array, maxPackets = Number.POSITIVE_INFINITY): DemuxedOpus {
  const unsupported = () => new AudioError(AUDIO_MESSAGES.unsupported);
  const tracks: Track[] = [];
  const blocks: { track: number; data: Uint8Array }[] = [];
  let docType: string | null = null;
  let pos = 0;
  let audioTrackNumber: number | null = null;
  let packetCount = 0;
  while (pos < bytes.length && packetCount < maxPackets) {
    const id = readVint(bytes, pos, true);
    if (id === null) break;
    const size = readVint(bytes, pos + id.length, false);
    if (size === null) break;
    const body = pos + id.length + size.length;
    if (CONTAINERS.has(id.value)) {
      if (id.value === ID.TrackEntry)
        tracks.push({ number: null, type: null, codec: null, codecPrivate: null });
      pos = body;
      continue;
    }
    if (size.unknown) break; // only containers may have an unknown size
    const end = body + size.value;
    if (end > bytes.length) break; // truncated element: stop at the last complete one
    const track = tracks[tracks.length - 1];
    switch (id.value) {
      case ID.DocType:
        docType = Buffer.from(bytes.subarray(body, end)).toString('latin1').replace(/\0+$/, '');
        break;
      case ID.TrackNumber:
        if (track && size.value >= 1 && size.value <= 8) track.number = readUint(bytes, body, end);
        break;
      case ID.TrackType:
        if (track && size.value >= 1 && size.value <= 8) track.type = readUint(bytes, body, end);
        break;
      case ID.CodecID:
        if (track)
          track.codec = Buffer.from(bytes.subarray(body, end)).toString('latin1').replace(/\0+$/, '');
        break;
      case ID.CodecPrivate:
        if (track) track.codecPrivate = bytes.subarray(body, end);
        break;
      case ID.SimpleBlock:
      case ID.Block: {
        const trackNo = readVint(bytes, body, false);
        if (trackNo !== null && body + trackNo.length + 3 <= end) {
          if (audioTrackNumber === null) audioTrackNumber = selectAudioTrack(tracks, docType);
          if (trackNo.value === audioTrackNumber) {
            const flags = bytes[body + trackNo.length + 2]!;
            for (const frame of unlace(bytes.subarray(body + trackNo.length + 3, end), (flags >> 1) & 3)) {
              blocks.push({ track: trackNo.value, data: frame });
              packetCount++;
            }
          }
        }
        break;
      }
      default:
        break;
    }
    pos = end;
  }
  if (audioTrackNumber === null) audioTrackNumber = selectAudioTrack(tracks, docType);
  const track = tracks.find((t) => t.number === audioTrackNumber);
  if (!track) throw unsupported();
  const head = track.codecPrivate ? parseOpusHead(track.codecPrivate) : null;
  if (!head) throw new AudioError(AUDIO_MESSAGES.decodeFailed);
  return { head, packets: blocks.map((b) => b.data) };
}

function selectAudioTrack(tracks: Track[], docType: string | null): number {
  if (docType !== 'webm' && docType !== 'matroska') throw new AudioError(AUDIO_MESSAGES.unsupported);
  const audio = tracks.filter(
    (t) => t.type === TRACK_TYPE_AUDIO || (t.type === null && t.codec?.startsWith('A_')),
  );
  if (audio.length !== 1 || audio[0]!.codec !== 'A_OPUS' || audio[0]!.number === null) {
    throw new AudioError(AUDIO_MESSAGES.unsupported);
  }
  return audio[0]!.number;
}

/** Split a block payload into frames (Matroska lacing: 0 none, 1 Xiph, 2 fixed, 3 EBML). */
function unlace(payload: Uint8Array, lacing: number): Uint8Array[] {
  if (lacing === 0) return [payload];
  const bad = () => new AudioError(AUDIO_MESSAGES.decodeFailed);
  if (payload.length < 1) throw bad();
  const count = payload[0]! + 1;
  let pos = 1;
  const sizes: number[] = [];
  if (lacing === 1) {
    for (let i = 0; i < count - 1; i++) {
      let s = 0;
      for (;;) {
        if (pos >= payload.length) throw bad();
        const v = payload[pos++]!;
        s += v;
        if (v !== 255) break;
      }
      sizes.push(s);
    }
  } else if (lacing === 3) {
    const first = readVint(payload, pos, false);
    if (!first) throw bad();
    pos += first.length;
    sizes.push(first.value);
    for (let i = 1; i < count - 1; i++) {
      const d = readVint(payload, pos, false);
      if (!d) throw bad();
      pos += d.length;
      const bias = 2 ** (7 * d.length - 1) - 1;
      sizes.push(sizes[i - 1]! + d.value - bias);
    }
  } else {
    const each = (payload.length - 1) / count;
    if (!Number.isInteger(each)) throw bad();
    for (let i = 0; i < count - 1; i++) sizes.push(each);
  }
  const frames: Uint8Array[] = [];
  for (const s of sizes) {
    if (s < 0 || pos + s > payload.length) throw bad();
    frames.push(payload.subarray(pos, pos + s));
    pos += s;
  }
  frames.push(payload.subarray(pos));
  return frames;
}
