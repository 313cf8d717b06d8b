/**
 * S3-compatible backend (AWS S3, Cloudflare R2, MinIO, ...) through `@aws-sdk/client-s3`; keys are used as object
 * keys in the configured bucket. A PUT is atomic on S3: the object appears whole or not at all.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Config } from '../config.ts';
import {
  assertValidKey,
  contentTypeFor,
  type PresignOptions,
  type Storage,
  type StorageBody,
  type StorageHealth,
  StorageNotFoundError,
} from './types.ts';

function isMissing(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
  }
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream)
    parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

/** A quoted-string-safe file name for Content-Disposition (ids only in practice). */
function dispositionName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class S3Storage implements Storage {
  readonly backend = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly presignSeconds: number;

  constructor(cfg: S3Config) {
    this.bucket = cfg.bucket;
    this.presignSeconds = cfg.presignSeconds;
    this.client = new S3Client({
      region: cfg.region || 'auto',
      ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
      forcePathStyle: cfg.forcePathStyle,
      credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
      maxAttempts: 3,
    });
  }

  async put(key: string, body: StorageBody, opts: { contentType?: string } = {}): Promise<void> {
    assertValidKey(key);
    // PutObject needs a known length; objects here are small (recordings ≤ 160 kB, models a few MB).
    const bytes = body instanceof Uint8Array ? body : await collect(body);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: opts.contentType ?? contentTypeFor(key),
      }),
    );
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return res.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw new StorageNotFoundError(key);
      throw err;
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    return collect(await this.get(key));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  async size(key: string): Promise<number | null> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return res.ContentLength ?? 0;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) if (o.Key && !o.Key.startsWith('.')) out.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async presignedGetUrl(key: string, opts: PresignOptions = {}): Promise<string> {
    assertValidKey(key);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ...(opts.filename
        ? { ResponseContentDisposition: `attachment; filename="${dispositionName(opts.filename)}"` }
        : {}),
      ...(opts.contentType ? { ResponseContentType: opts.contentType } : {}),
    });
    return getSignedUrl(this.client, command, { expiresIn: opts.seconds ?? this.presignSeconds });
  }

  async healthCheck(): Promise<StorageHealth> {
    const key = `.health/${randomUUID()}`;
    const data = Buffer.from(randomUUID());
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data }));
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const back = await collect(res.Body as Readable);
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      const ok = back.equals(data);
      return { status: ok ? 'ok' : 'degraded', backend: 's3', writable: ok };
    } catch {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => {});
      return { status: 'degraded', backend: 's3', writable: false };
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
