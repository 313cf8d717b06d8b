/**
 * Trained models (docs/api.md §2.6, §4.11): listing (own + shared to joined teams), metrics views, downloads in four
 * formats (docs/formats.md), deletion, and the front-end model assets the browser's live test loads.
 */

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PINNED } from '@violawake/detector';
import { loadFrontendModels } from '@violawake/detector/node';
import { createBundle, type Manifest, slugify } from '@violawake/engine/artifacts/index';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../core/context.ts';
import { type DbOrTx, execRows } from '../core/db/client.ts';
import { HttpError } from '../core/http/errors.ts';
import { getStorage, StorageNotFoundError } from '../core/storage/index.ts';
import { ensureTflite, tfliteKeyOf } from './tflite.ts';
import { modelVisibleSql } from './visibility.ts';

export interface ModelRow {
  id: number;
  user_id: number;
  team_id: number | null;
  job_id: number | null;
  wake_word: string;
  storage_key: string;
  manifest_key: string;
  size_bytes: number;
  threshold: number | null;
  d_prime: number | null;
  eer: number | null;
  auc: number | null;
  miss_rate_at_target: number | null;
  target_fa_per_hour: number | null;
  quality_grade: string | null;
  metrics: Record<string, any>;
  config_json: Record<string, any>;
  created_at: Date | string;
}

const iso = (v: Date | string) => new Date(v).toISOString();

function normalize(r: ModelRow): ModelRow {
  return {
    ...r,
    id: Number(r.id),
    user_id: Number(r.user_id),
    team_id: r.team_id === null ? null : Number(r.team_id),
  };
}

export function modelSummary(m: ModelRow, callerId: number) {
  return {
    id: m.id,
    wake_word: m.wake_word,
    d_prime: m.d_prime,
    created_at: iso(m.created_at),
    size_bytes: m.size_bytes,
    team_id: m.team_id,
    shared: m.user_id !== callerId,
    owner_id: m.user_id,
    quality_grade: m.quality_grade,
    threshold: m.threshold,
    eer: m.eer,
  };
}

export async function listVisibleModels(db: DbOrTx, userId: number): Promise<ModelRow[]> {
  const rows = await execRows<ModelRow>(
    db,
    sql`SELECT m.* FROM trained_models m WHERE ${modelVisibleSql('m', userId)} ORDER BY m.created_at DESC, m.id DESC`,
  );
  return rows.map(normalize);
}

/** A model the user may see, or 404 "Model not found". */
export async function visibleModel(db: DbOrTx, userId: number, modelId: number): Promise<ModelRow> {
  const rows = await execRows<ModelRow>(
    db,
    sql`SELECT m.* FROM trained_models m WHERE m.id = ${modelId} AND ${modelVisibleSql('m', userId)}`,
  );
  if (!rows[0]) throw new HttpError(404, 'Model not found');
  return normalize(rows[0]);
}

export function modelConfig(m: ModelRow) {
  return {
    d_prime: m.d_prime,
    far_per_hour: numOrNull(m.metrics.far_per_hour),
    frr: numOrNull(m.metrics.frr ?? m.miss_rate_at_target),
    threshold: m.threshold,
    eer: m.eer,
    auc: m.auc,
    miss_rate_at_target: m.miss_rate_at_target,
    target_fa_per_hour: m.target_fa_per_hour,
    quality_grade: m.quality_grade,
    training_config: { ...m.config_json, model_id: m.id },
  };
}

export function modelPerformance(m: ModelRow) {
  const ev = (m.metrics.evaluation ?? {}) as Record<string, any>;
  const available = m.d_prime !== null;
  return {
    model_name: m.wake_word,
    cohen_d: m.d_prime,
    d_prime: m.d_prime,
    threshold: m.threshold,
    file_size: m.size_bytes,
    created_at: iso(m.created_at),
    positive_scores: (m.metrics.positive_scores ?? []) as number[],
    negative_scores: (m.metrics.negative_scores ?? []) as number[],
    evaluation_available: available,
    evaluation_data: available
      ? {
          eer: m.eer,
          auc: m.auc,
          far_per_hour: numOrNull(m.metrics.far_per_hour),
          frr: numOrNull(m.metrics.frr ?? m.miss_rate_at_target),
          miss_rate_at_target: m.miss_rate_at_target,
          target_fa_per_hour: m.target_fa_per_hour,
          quality_grade: m.quality_grade,
          eval_positive_count: numOrNull(
            m.metrics.eval_positive_count ?? ev.eval_positive_count ?? ev.positives,
          ),
          eval_negative_count: numOrNull(
            m.metrics.eval_negative_count ?? ev.eval_negative_count ?? ev.negatives,
          ),
          eval_negative_hours: numOrNull(
            m.metrics.eval_negative_hours ?? ev.eval_negative_hours ?? ev.negatives_hours,
          ),
        }
      : null,
  };
}

const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export const DOWNLOAD_FORMATS = ['onnx', 'tflite', 'json', 'zip'] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];

export function downloadName(m: ModelRow, format: DownloadFormat): string {
  return `${slugify(m.wake_word)}-${m.id}.${format}`;
}

export type Download =
  | { kind: 'bytes'; body: Uint8Array | NodeJS.ReadableStream; contentType: string; filename: string }
  | { kind: 'redirect'; url: string };

/** The bytes (or, on S3, a presigned URL) of one format of a model. */
export async function modelDownload(ctx: AppContext, m: ModelRow, format: DownloadFormat): Promise<Download> {
  const storage = getStorage(ctx);
  const filename = downloadName(m, format);
  try {
    // the TFLite file is made on first need (a 409 when it cannot be); the manifest and bundle name it when it exists
    const tflite =
      format === 'tflite'
        ? await ensureTflite(ctx, m)
        : await ensureTflite(ctx, m).catch((err) => {
            if (!(err instanceof HttpError))
              ctx.logger.warn({ err, model_id: m.id }, 'TFLite file unavailable for a download');
            return null;
          });
    if (format === 'zip') {
      const [onnx, manifestBytes, front, tfliteBytes] = await Promise.all([
        storage.getBytes(m.storage_key),
        storage.getBytes(m.manifest_key),
        frontendModels(ctx),
        tflite ? storage.getBytes(tfliteKeyOf(m.storage_key)) : null,
      ]);
      const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
      // Entries carry the model's created_at, so repeated downloads are byte-identical.
      manifest.created_at = iso(m.created_at);
      if (tflite) manifest.tflite_sha256 = tflite.sha256;
      else delete manifest.tflite_sha256;
      const zip = await createBundle({
        onnx,
        tflite: tfliteBytes,
        manifest,
        melModel: front.mel,
        embeddingModel: front.embedding,
        slug: slugify(m.wake_word),
      });
      return { kind: 'bytes', body: zip, contentType: 'application/zip', filename };
    }
    const key =
      format === 'onnx' ? m.storage_key : format === 'tflite' ? tfliteKeyOf(m.storage_key) : m.manifest_key;
    const contentType = format === 'json' ? 'application/json' : 'application/octet-stream';
    if (storage.presignedGetUrl) {
      if (!(await storage.exists(key))) throw new StorageNotFoundError(key);
      return { kind: 'redirect', url: await storage.presignedGetUrl(key, { filename, contentType }) };
    }
    return { kind: 'bytes', body: await storage.get(key), contentType, filename };
  } catch (err) {
    if (err instanceof StorageNotFoundError) {
      ctx.logger.error({ model_id: m.id, format }, 'model file missing from storage');
      throw new HttpError(404, 'Model file missing from storage');
    }
    throw err;
  }
}

/** Delete a model: only its owner (403 when visible through a team); its objects and the row. */
export async function deleteModel(ctx: AppContext, userId: number, modelId: number): Promise<void> {
  const m = await visibleModel(ctx.db, userId, modelId);
  if (m.user_id !== userId) throw new HttpError(403, 'Only the model owner can delete it');
  await ctx.db.execute(sql`DELETE FROM trained_models WHERE id = ${m.id}`);
  const storage = getStorage(ctx);
  for (const key of modelObjectKeys(m)) {
    await storage
      .delete(key)
      .catch((err) => ctx.logger.error({ err, model_id: m.id }, 'could not delete a model object'));
  }
}

/** Every stored object of a model: the ONNX head, its TFLite file (if made) and the manifest. */
export function modelObjectKeys(m: { storage_key: string; manifest_key: string }): string[] {
  return [m.storage_key, tfliteKeyOf(m.storage_key), m.manifest_key];
}

/** Storage keys of a user's models (account deletion removes them after the commit). */
export async function modelKeysOf(ctx: AppContext, userId: number): Promise<string[]> {
  const rows = await execRows<{ storage_key: string; manifest_key: string }>(
    ctx.db,
    sql`SELECT storage_key, manifest_key FROM trained_models WHERE user_id = ${userId}`,
  );
  return rows.flatMap(modelObjectKeys);
}

// ---- front-end assets -------------------------------------------------------------------------------------------

export interface FrontendAsset {
  bytes: Uint8Array;
  sha256: string;
}

let cached: Promise<{ mel: Uint8Array; embedding: Uint8Array }> | null = null;

/** melspectrogram.onnx and embedding_model.onnx, verified against the pinned hashes (read once per process). */
export function frontendModels(ctx: AppContext): Promise<{ mel: Uint8Array; embedding: Uint8Array }> {
  cached ??= (async () => {
    const dir = ctx.config.frontendModelsDir;
    if (!dir) return loadFrontendModels();
    const read = async (file: string, sha: string) => {
      const bytes = new Uint8Array(await readFile(path.join(dir, file)));
      const got = createHash('sha256').update(bytes).digest('hex');
      if (got !== sha)
        throw new Error(`${file} in VIOLAWAKE_FRONTEND_MODELS_DIR does not match the pinned SHA-256`);
      return bytes;
    };
    const [mel, embedding] = await Promise.all([
      read(PINNED.mel.file, PINNED.mel.sha256),
      read(PINNED.embedding.file, PINNED.embedding.sha256),
    ]);
    return { mel, embedding };
  })();
  cached.catch(() => {
    cached = null;
  });
  return cached;
}

export const FRONTEND_FILES = {
  'melspectrogram.onnx': PINNED.mel.sha256,
  'embedding_model.onnx': PINNED.embedding.sha256,
} as const;

export async function frontendAsset(
  ctx: AppContext,
  file: keyof typeof FRONTEND_FILES,
): Promise<FrontendAsset> {
  const models = await frontendModels(ctx);
  return {
    bytes: file === 'melspectrogram.onnx' ? models.mel : models.embedding,
    sha256: FRONTEND_FILES[file],
  };
}
