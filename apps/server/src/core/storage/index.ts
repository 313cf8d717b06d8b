/**
 * Object storage: `createStorage(config)` picks S3 when the S3 variables are set (all three; config validation
 * rejects a partial set), else the local directory `VIOLAWAKE_STORAGE_DIR` (default `<DATA_DIR>/storage`).
 *
 * The context carries one instance: `getStorage(ctx)` creates it on first use and registers the `storage`
 * component of /api/health/details, so every domain (recordings, models, retention, account deletion) shares it.
 */
import type { Config } from '../config.ts';
import type { AppContext } from '../context.ts';
import { LocalStorage } from './local.ts';
import { S3Storage } from './s3.ts';
import type { Storage } from './types.ts';

export { LocalStorage } from './local.ts';
export { S3Storage } from './s3.ts';
export * from './types.ts';

declare module '../context.ts' {
  interface AppContext {
    /** Object storage (set by `getStorage` / `setupStorage`). */
    storage?: Storage;
  }
}

export function createStorage(config: Pick<Config, 'storageDir' | 's3'>): Storage {
  if (config.s3) return new S3Storage(config.s3);
  return new LocalStorage(config.storageDir);
}

/** The context's storage, created from its config on first use. */
export function getStorage(ctx: AppContext): Storage {
  if (!ctx.storage) setupStorage(ctx);
  return ctx.storage!;
}

/** Create the storage (unless a test injected one) and register its health check. Idempotent. */
export function setupStorage(ctx: AppContext, storage?: Storage): Storage {
  if (storage) ctx.storage = storage;
  ctx.storage ??= createStorage(ctx.config);
  const s = ctx.storage;
  ctx.healthChecks.storage ??= async () => {
    const h = await s.healthCheck();
    return { status: h.status, backend: h.backend, writable: h.writable };
  };
  return s;
}
