/** Multipart bodies for the upload route, written by hand so tests control every byte. */
import { randomBytes } from 'node:crypto';

export interface Part {
  name: string;
  value: string | Uint8Array;
  filename?: string;
  contentType?: string;
}

export function multipartBody(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----vwtest${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    head += '\r\n';
    chunks.push(Buffer.from(head, 'utf8'));
    chunks.push(typeof p.value === 'string' ? Buffer.from(p.value, 'utf8') : Buffer.from(p.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function uploadBody(
  file: Uint8Array,
  wakeWord: string,
  filename = 'clip.wav',
): { body: Buffer; contentType: string } {
  return multipartBody([
    { name: 'wake_word', value: wakeWord },
    { name: 'file', value: file, filename, contentType: 'application/octet-stream' },
  ]);
}

/** int16 samples of a canonical 44-byte-header WAV (as the server stores them). */
export function wavSamples(wav: Buffer): Int16Array {
  const out = new Int16Array((wav.length - 44) / 2);
  for (let i = 0; i < out.length; i++) out[i] = wav.readInt16LE(44 + 2 * i);
  return out;
}

/** int16 samples of the data chunk of a 16-bit PCM WAV with any chunk layout. */
export function pcm16DataSamples(wav: Buffer): Int16Array {
  let pos = 12;
  while (pos + 8 <= wav.length) {
    const id = wav.toString('latin1', pos, pos + 4);
    const size = wav.readUInt32LE(pos + 4);
    if (id === 'data') {
      const n = Math.floor(Math.min(size, wav.length - pos - 8) / 2);
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = wav.readInt16LE(pos + 8 + 2 * i);
      return out;
    }
    pos += 8 + size + (size & 1);
  }
  throw new Error('no data chunk');
}
