import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createStorage,
  LocalStorage,
  S3Storage,
  type Storage,
  StorageKeyError,
  StorageNotFoundError,
  storageKeys,
} from '../src/core/storage/index.ts';
import { type S3Server, startS3Server } from './storage-helpers.ts';

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

function randomBytesOf(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

let s3: S3Server;
let localRoot: string;

beforeAll(async () => {
  s3 = await startS3Server();
  localRoot = mkdtempSync(path.join(tmpdir(), 'vw-storage-'));
});

afterAll(async () => {
  await s3?.close();
  rmSync(localRoot, { recursive: true, force: true });
});

const backends: [string, () => Storage][] = [
  ['local', () => createStorage({ storageDir: localRoot, s3: null })],
  ['s3', () => createStorage({ storageDir: '/nonexistent', s3: s3.config })],
];

describe.each(backends)('%s backend: the Storage contract', (name, make) => {
  it('createStorage picks the backend from the config', () => {
    const s = make();
    expect(s.backend).toBe(name);
    expect(s).toBeInstanceOf(name === 'local' ? LocalStorage : S3Storage);
  });

  it('put bytes / getBytes / get stream / exists / size / delete round trip', async () => {
    const s = make();
    const key = storageKeys.recording(7, 101);
    expect(key).toBe('recordings/7/101.wav');
    const data = randomBytesOf(70_000, 1);
    expect(await s.exists(key)).toBe(false);
    await s.put(key, data);
    expect(await s.exists(key)).toBe(true);
    expect(await s.size(key)).toBe(data.length);
    expect((await s.getBytes(key)).equals(data)).toBe(true);
    expect((await readAll(await s.get(key))).equals(data)).toBe(true);
    await s.delete(key);
    expect(await s.exists(key)).toBe(false);
    expect(await s.size(key)).toBeNull();
    await s.delete(key); // deleting a missing object is fine
  });

  it('put from a stream', async () => {
    const s = make();
    const key = storageKeys.modelOnnx(7, 3);
    const data = randomBytesOf(300_000, 2);
    const chunks = Array.from({ length: 30 }, (_, i) => data.subarray(i * 10_000, (i + 1) * 10_000));
    await s.put(key, Readable.from(chunks));
    expect((await s.getBytes(key)).equals(data)).toBe(true);
    await s.delete(key);
  });

  it('overwrite replaces the whole object', async () => {
    const s = make();
    const key = storageKeys.modelManifest(7, 3);
    await s.put(key, Buffer.from('{"a":1, "long": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'));
    await s.put(key, Buffer.from('{"b":2}'));
    expect((await s.getBytes(key)).toString()).toBe('{"b":2}');
    await s.delete(key);
  });

  it('missing objects: get and getBytes throw StorageNotFoundError', async () => {
    const s = make();
    await expect(s.getBytes('recordings/1/999.wav')).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(s.get('recordings/1/999.wav')).rejects.toBeInstanceOf(StorageNotFoundError);
  });

  it('list returns the keys under a prefix, sorted, without probe or temporary objects', async () => {
    const s = make();
    await s.put('recordings/42/2.wav', Buffer.from('b'));
    await s.put('recordings/42/1.wav', Buffer.from('a'));
    await s.put('recordings/420/1.wav', Buffer.from('c'));
    await s.put('models/42/1.onnx', Buffer.from('d'));
    await s.healthCheck();
    expect(await s.list('recordings/42/')).toEqual(['recordings/42/1.wav', 'recordings/42/2.wav']);
    expect(await s.list('recordings/42')).toEqual([
      'recordings/42/1.wav',
      'recordings/42/2.wav',
      'recordings/420/1.wav',
    ]);
    expect(await s.list('models/')).toEqual(['models/42/1.onnx']);
    for (const k of await s.list('')) await s.delete(k);
    expect(await s.list('')).toEqual([]);
  });

  it('rejects keys that could escape the namespace', async () => {
    const s = make();
    for (const bad of [
      '../etc/passwd',
      'recordings/../../x',
      '/abs/key',
      'a//b',
      'a/./b',
      '.tmp/x',
      'a/.hidden',
      'sp ace',
      'a\\b',
      '',
    ]) {
      await expect(s.put(bad, Buffer.from('x'))).rejects.toBeInstanceOf(StorageKeyError);
      await expect(s.getBytes(bad)).rejects.toBeInstanceOf(StorageKeyError);
    }
  });

  it('healthCheck reports a writable backend', async () => {
    expect(await make().healthCheck()).toEqual({ status: 'ok', backend: name, writable: true });
  });
});

describe('local backend specifics', () => {
  // Only here: on S3 a PUT is atomic by the store's own contract (last writer wins, never a partial object), and the
  // test server (s3rver) does not emulate it — it truncates and rewrites one file per key — so the same test against
  // it measured s3rver, and failed when two of its writes interleaved.
  it('concurrent writes to one key leave exactly one complete version', async () => {
    const s = new LocalStorage(localRoot);
    const key = 'recordings/5/1.wav';
    const versions = Array.from({ length: 8 }, (_, i) => randomBytesOf(50_000 + i * 1000, 10 + i));
    await Promise.all(versions.map((v) => s.put(key, v)));
    const got = await s.getBytes(key);
    expect(versions.some((v) => v.equals(got))).toBe(true);
    expect(await s.pendingTempFiles()).toEqual([]);
    await s.delete(key);
  });

  it('stores objects at <root>/<key>', async () => {
    const s = new LocalStorage(localRoot);
    await s.put('models/9/1.json', Buffer.from('{}'));
    expect(s.localPath('models/9/1.json')).toBe(path.join(localRoot, 'models', '9', '1.json'));
    expect(readdirSync(path.join(localRoot, 'models', '9'))).toEqual(['1.json']);
    await s.delete('models/9/1.json');
  });

  it('a failing stream leaves neither the object nor a temporary file behind', async () => {
    const s = new LocalStorage(localRoot);
    const body = new PassThrough();
    const p = s.put('recordings/8/1.wav', body);
    body.write(Buffer.alloc(10_000, 1));
    setTimeout(() => body.destroy(new Error('client went away')), 20);
    await expect(p).rejects.toThrow('client went away');
    expect(await s.exists('recordings/8/1.wav')).toBe(false);
    expect(await s.pendingTempFiles()).toEqual([]);
  });

  it('a reader sees the old or the new object, never a partial one, while a slow write is in progress', async () => {
    const s = new LocalStorage(localRoot);
    const key = 'recordings/8/2.wav';
    const old = Buffer.alloc(20_000, 7);
    await s.put(key, old);
    const body = new PassThrough();
    const p = s.put(key, body);
    body.write(Buffer.alloc(10_000, 9));
    await new Promise((r) => setTimeout(r, 30));
    expect((await s.getBytes(key)).equals(old)).toBe(true);
    body.end(Buffer.alloc(10_000, 9));
    await p;
    expect((await s.getBytes(key)).equals(Buffer.alloc(20_000, 9))).toBe(true);
    await s.delete(key);
  });

  it('healthCheck reports an unwritable directory as degraded', async () => {
    const file = path.join(localRoot, 'not-a-dir');
    await new LocalStorage(localRoot).put('not-a-dir', Buffer.from('x'));
    const h = await new LocalStorage(file).healthCheck();
    expect(h).toEqual({ status: 'degraded', backend: 'local', writable: false });
    await new LocalStorage(localRoot).delete('not-a-dir');
  });
});

describe('S3 backend specifics (s3rver on 127.0.0.1)', () => {
  it('presigned GET URLs download the object with the requested file name', async () => {
    const s = new S3Storage(s3.config);
    const data = randomBytesOf(5000, 99);
    await s.put('models/3/77.onnx', data);
    const url = await s.presignedGetUrl('models/3/77.onnx', { filename: 'hey viola.onnx', seconds: 60 });
    expect(url.startsWith(`${s3.endpoint}/violawake-test/models/3/77.onnx?`)).toBe(true);
    expect(url).toContain('X-Amz-Expires=60');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="hey_viola.onnx"');
    expect(url).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
    expect(url).toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
    // Expiry is enforced by the server (s3rver checks X-Amz-Date + X-Amz-Expires; it does not verify SigV4 itself).
    const short = await s.presignedGetUrl('models/3/77.onnx', { seconds: 1 });
    expect((await fetch(short)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetch(short)).status).toBe(403);
    await s.delete('models/3/77.onnx');
    await s.close();
  });

  it('unknown credentials make every operation fail and the health check degraded', async () => {
    const s = new S3Storage({ ...s3.config, accessKeyId: 'NOT-A-KEY' });
    await expect(s.put('recordings/1/1.wav', Buffer.from('x'))).rejects.toThrow();
    await expect(s.getBytes('recordings/1/1.wav')).rejects.toThrow();
    expect(await s.healthCheck()).toEqual({ status: 'degraded', backend: 's3', writable: false });
    await s.close();
  });

  it('an unreachable endpoint is degraded, not a crash', async () => {
    const s = new S3Storage({ ...s3.config, endpoint: 'http://127.0.0.1:1' });
    expect(await s.healthCheck()).toEqual({ status: 'degraded', backend: 's3', writable: false });
    await s.close();
  });
});
