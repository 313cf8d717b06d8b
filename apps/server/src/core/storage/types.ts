/**
 * Object storage (docs/data-model.md §4): keys contain only ids (`recordings/<user_id>/<recording_id>.wav`,
 * `models/<user_id>/<model_id>.onnx|.json`). Two backends share this interface: a local directory with atomic
 * writes (default) and any S3-compatible service.
 */
import type { Readable } from 'node:stream';

export type StorageBody = Uint8Array | Readable;

export interface PresignOptions {
  /** Suggested download file name (Content-Disposition: attachment). */
  filename?: string;
  /** Validity in seconds (default: VIOLAWAKE_S3_PRESIGN_SECONDS). */
  seconds?: number;
  contentType?: string;
}

export interface StorageHealth {
  status: 'ok' | 'degraded';
  backend: 'local' | 's3';
  writable: boolean;
}

export interface Storage {
  readonly backend: 'local' | 's3';
  /** Write an object atomically: readers see the old object or the whole new one, never a part. */
  put(key: string, body: StorageBody, opts?: { contentType?: string }): Promise<void>;
  /** A stream of the object's bytes; throws {@link StorageNotFoundError} when it does not exist. */
  get(key: string): Promise<Readable>;
  /** The whole object; throws {@link StorageNotFoundError} when it does not exist. */
  getBytes(key: string): Promise<Buffer>;
  /** Remove the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Size in bytes, or null when missing. */
  size(key: string): Promise<number | null>;
  /** Keys under a prefix (e.g. `recordings/12/`), sorted. */
  list(prefix: string): Promise<string[]>;
  /** A time-limited GET URL (S3 only; the local backend streams through the API instead). */
  presignedGetUrl?(key: string, opts?: PresignOptions): Promise<string>;
  /** Write, read back and delete a probe object. Never throws. */
  healthCheck(): Promise<StorageHealth>;
  /** Absolute file path of a key (local backend only; for `GET /api/files/{key}`). */
  localPath?(key: string): string;
  /** Release clients (S3 sockets). */
  close?(): Promise<void>;
}

export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class StorageNotFoundError extends StorageError {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
  }
}

export class StorageKeyError extends StorageError {}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * Keys are `/`-separated segments of `[A-Za-z0-9._-]` (no empty, `.` or `..` segment, no leading `.` so temporary
 * and probe names cannot be addressed), at most 512 characters. Throws {@link StorageKeyError}.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512)
    throw new StorageKeyError('invalid storage key');
  for (const seg of key.split('/')) {
    if (!SEGMENT.test(seg)) throw new StorageKeyError('invalid storage key');
  }
}

export function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Storage keys of docs/data-model.md §4. */
export const storageKeys = {
  recording: (userId: number, recordingId: number) => `recordings/${userId}/${recordingId}.wav`,
  modelOnnx: (userId: number, modelId: number) => `models/${userId}/${modelId}.onnx`,
  modelManifest: (userId: number, modelId: number) => `models/${userId}/${modelId}.json`,
};

export function contentTypeFor(key: string): string {
  if (key.endsWith('.wav')) return 'audio/wav';
  if (key.endsWith('.json')) return 'application/json';
  if (key.endsWith('.onnx')) return 'application/octet-stream';
  if (key.endsWith('.zip')) return 'application/zip';
  return 'application/octet-stream';
}
