/**
 * SHA-256 through WebCrypto (Node 20 and browsers); no Node built-ins. Browsers expose `crypto.subtle` only in
 * secure contexts (HTTPS or localhost), so a console served over plain HTTP on a LAN falls back to a small
 * pure-JS implementation (a few ms per MB) instead of failing.
 */
import { PINNED, type PinnedFile } from './constants.ts';
import { DetectorError, FrontendMismatchError } from './errors.ts';

function toHex(b: Uint8Array): string {
  let hex = '';
  for (let i = 0; i < b.length; i++) hex += b[i].toString(16).padStart(2, '0');
  return hex;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return sha256HexJs(bytes);
  try {
    return toHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
  } catch (err) {
    throw new DetectorError(`could not hash a model with WebCrypto: ${(err as Error).message}`);
  }
}

const K256 = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** Pure-JS SHA-256 (FIPS 180-4), the fallback when WebCrypto is unavailable. */
export function sha256HexJs(bytes: Uint8Array): string {
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const total = bytes.length;
  const blocks = Math.ceil((total + 9) / 64);
  const tail = new Uint8Array(128);
  const tailStart = Math.floor(total / 64) * 64;
  tail.set(bytes.subarray(tailStart));
  tail[total - tailStart] = 0x80;
  const tailLen = (blocks - tailStart / 64) * 64;
  const bits = total * 8;
  const dv = new DataView(tail.buffer);
  dv.setUint32(tailLen - 8, Math.floor(bits / 2 ** 32));
  dv.setUint32(tailLen - 4, bits >>> 0);
  for (let b = 0; b < blocks; b++) {
    const off = b * 64;
    const src = off < tailStart ? bytes : tail;
    const base = off < tailStart ? off : off - tailStart;
    for (let i = 0; i < 16; i++) {
      const j = base + i * 4;
      w[i] = (src[j] << 24) | (src[j + 1] << 16) | (src[j + 2] << 8) | src[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h[0];
    let bb = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    let f = h[5];
    let g = h[6];
    let hh = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K256[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, h[i]);
  return toHex(out);
}

/** Throws FrontendMismatchError unless `bytes` hash to the pinned value of `pinned`. */
export async function verifyPinned(bytes: Uint8Array, pinned: PinnedFile): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== pinned.sha256) throw new FrontendMismatchError(pinned.file, pinned.sha256, actual);
}

/** Verifies both front-end models against their pinned hashes (docs/engine.md §2.1). */
export async function verifyFrontendModels(models: {
  mel: Uint8Array;
  embedding: Uint8Array;
}): Promise<void> {
  await Promise.all([verifyPinned(models.mel, PINNED.mel), verifyPinned(models.embedding, PINNED.embedding)]);
}
