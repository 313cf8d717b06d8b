/** Minimal PCM WAV reader/writer for the tests (16-bit mono or stereo → mono). */
import { readFileSync, writeFileSync } from 'node:fs';

export interface Wav {
  sampleRate: number;
  samples: Int16Array;
}

export function parseWav(buf: Uint8Array): Wav {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (o: number) => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let pos = 12;
  let channels = 1;
  let sampleRate = 0;
  let bits = 16;
  while (pos + 8 <= buf.length) {
    const id = tag(pos);
    let size = dv.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      channels = dv.getUint16(body + 2, true);
      sampleRate = dv.getUint32(body + 4, true);
      bits = dv.getUint16(body + 14, true);
    } else if (id === 'data') {
      if (bits !== 16) throw new Error(`only 16-bit PCM is supported (got ${bits})`);
      // espeak-ng writes 0x7fffffff as the data size when writing to a pipe.
      if (body + size > buf.length) size = buf.length - body;
      const frames = Math.floor(size / 2 / channels);
      const out = new Int16Array(frames);
      for (let i = 0; i < frames; i++) {
        let s = 0;
        for (let c = 0; c < channels; c++) s += dv.getInt16(body + (i * channels + c) * 2, true);
        out[i] = Math.round(s / channels);
      }
      return { sampleRate, samples: out };
    }
    pos = body + size + (size & 1);
  }
  throw new Error('no data chunk');
}

export function readWav(path: string): Wav {
  return parseWav(new Uint8Array(readFileSync(path)));
}

export function encodeWav(samples: Int16Array, sampleRate: number): Uint8Array {
  const buf = new Uint8Array(44 + samples.length * 2);
  const dv = new DataView(buf.buffer);
  const put = (o: number, s: string) => {
    for (let i = 0; i < 4; i++) buf[o + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  dv.setUint32(4, 36 + samples.length * 2, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true);
  dv.setUint16(22, 1, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * 2, true);
  dv.setUint16(32, 2, true);
  dv.setUint16(34, 16, true);
  put(36, 'data');
  dv.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) dv.setInt16(44 + i * 2, samples[i], true);
  return buf;
}

export function writeWav(path: string, samples: Int16Array, sampleRate: number): void {
  writeFileSync(path, encodeWav(samples, sampleRate));
}
