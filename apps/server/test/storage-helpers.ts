/** A real S3-compatible server (s3rver) on 127.0.0.1 for storage tests, with its own temporary directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Config } from '../src/core/config.ts';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);

export interface S3Server {
  config: S3Config;
  endpoint: string;
  close(): Promise<void>;
}

export async function startS3Server(bucket = 'violawake-test'): Promise<S3Server> {
  const S3rver = require('s3rver') as S3rverCtor;
  const dir = mkdtempSync(path.join(tmpdir(), 'vw-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  return {
    endpoint,
    config: {
      bucket,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      presignSeconds: 300,
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
