/**
 * Local directory backend: `<root>/<key>`. Writes go to `<root>/.tmp/<random>` (same file system), are fsynced and
 * renamed into place, so a reader never sees a partial object and a failed write leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  assertValidKey,
  type Storage,
  type StorageBody,
  type StorageHealth,
  StorageNotFoundError,
} from './types.ts';

const TMP = '.tmp';

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class LocalStorage implements Storage {
  readonly backend = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  localPath(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private async writeAtomic(target: string, body: StorageBody): Promise<void> {
    const tmpDir = path.join(this.root, TMP);
    await mkdir(tmpDir, { recursive: true });
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = path.join(tmpDir, `${randomUUID()}.part`);
    const fh = await open(tmp, 'wx', 0o640);
    let ok = false;
    try {
      if (body instanceof Uint8Array) {
        await fh.writeFile(body);
      } else {
        for await (const chunk of body) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
          let off = 0;
          while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
        }
      }
      await fh.sync();
      await fh.close();
      await rename(tmp, target);
      ok = true;
    } finally {
      if (!ok) {
        await fh.close().catch(() => {});
        await unlink(tmp).catch(() => {});
      }
    }
  }

  async put(key: string, body: StorageBody): Promise<void> {
    await this.writeAtomic(this.localPath(key), body);
  }

  async get(key: string): Promise<Readable> {
    const file = this.localPath(key);
    try {
      const fh = await open(file, 'r');
      return fh.createReadStream({ autoClose: true });
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(key);
      throw err;
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    try {
      return await readFile(this.localPath(key));
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(key);
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.localPath(key));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  async size(key: string): Promise<number | null> {
    try {
      const s = await stat(this.localPath(key));
      return s.isFile() ? s.size : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    if (dirKey !== '') assertValidKey(dirKey);
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const key = keyPrefix ? `${keyPrefix}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(dir, e.name), key);
        else if (e.isFile() && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(dirKey ? path.join(this.root, ...dirKey.split('/')) : this.root, dirKey);
    return out.sort();
  }

  /** Temporary files of writes in progress (or of a crashed process); for tests and operators. */
  async pendingTempFiles(): Promise<string[]> {
    try {
      return await readdir(path.join(this.root, TMP));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  async healthCheck(): Promise<StorageHealth> {
    const probe = path.join(this.root, TMP, `health-${randomUUID()}`);
    try {
      const data = Buffer.from(randomUUID());
      await this.writeAtomic(probe, Readable.from([data]));
      const back = await readFile(probe);
      await rm(probe, { force: true });
      return { status: back.equals(data) ? 'ok' : 'degraded', backend: 'local', writable: back.equals(data) };
    } catch {
      await rm(probe, { force: true }).catch(() => {});
      return { status: 'degraded', backend: 'local', writable: false };
    }
  }
}
