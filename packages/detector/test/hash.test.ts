import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PINNED } from '../src/constants.ts';
import { sha256Hex, sha256HexJs } from '../src/hash.ts';
import { openWakeWordModelPath } from '../src/node.ts';
import { lcg } from './helpers/audio.ts';

describe('SHA-256', () => {
  it('the pure-JS fallback matches the FIPS 180-4 examples', () => {
    const enc = new TextEncoder();
    expect(sha256HexJs(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sha256HexJs(enc.encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256HexJs(enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('WebCrypto and the fallback agree with node:crypto for every length around block boundaries', async () => {
    const rand = lcg(42);
    for (let n = 0; n < 200; n++) {
      const b = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
      const ref = createHash('sha256').update(b).digest('hex');
      expect(sha256HexJs(b)).toBe(ref);
      expect(await sha256Hex(b)).toBe(ref);
    }
  });

  it('the fallback reproduces the pinned front-end hashes', () => {
    for (const p of [PINNED.mel, PINNED.embedding]) {
      expect(sha256HexJs(new Uint8Array(readFileSync(openWakeWordModelPath(p.file))))).toBe(p.sha256);
    }
  });
});
