/**
 * Trained models (docs/api.md §2.6, §4.11): listing (own + shared to joined teams), metrics views, downloads in four
 * formats (docs/formats.md), deletion, and the front-end model assets the browser's live test loads. SQL: `queries.ts`;
 * a viewer's team ids come from the teams domain (`teamIdsOf`), passed in by the caller.
 */

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PINNED } from '@violawake/detector';
import { loadFrontendModels } from '@violawake/detector/node';
import { createBundle, type Manifest, manifestJson, slugify } from '@violawake/engine/artifacts/index';
import type { TrainResult } from '@violawake/engine/pipeline/train';
import type { AppContext } from '../core/context.ts';
import type { DbOrTx } from '../core/db/client.ts';
import { HttpError } from '../core/http/errors.ts';
import { getStorage, StorageNotFoundError } from '../core/storage/index.ts';
import type { ModelRow, NewModel, Viewer } from './queries.ts';
import * as q from './queries.ts';
import type { DownloadFormat, ModelConfig, ModelPerformance, ModelSummary } from './schemas.ts';
import { ensureTflite, tfliteKeyOf } from './tflite.ts';

export type { ModelRow, Viewer } from './queries.ts';
export { DOWNLOAD_FORMATS, type DownloadFormat } from './schemas.ts';

const iso = (v: Date) => v.toISOString();

export function modelSummary(m: ModelRow, callerId: number): ModelSummary {
  return {
    id: m.id,
    wake_word: m.wakeWord,
    language: m.language,
    d_prime: m.dPrime,
    created_at: iso(m.createdAt),
    size_bytes: m.sizeBytes,
    team_id: m.teamId,
    shared: m.userId !== callerId,
    owner_id: m.userId,
    quality_grade: m.qualityGrade,
    threshold: m.threshold,
    eer: m.eer,
  };
}

export async function listVisibleModels(db: DbOrTx, viewer: Viewer): Promise<ModelRow[]> {
  return withNames(db, await q.listVisible(db, viewer));
}

/** A model the viewer may see, or 404 "Model not found". */
export async function visibleModel(db: DbOrTx, viewer: Viewer, modelId: number): Promise<ModelRow> {
  const row = await q.visibleById(db, viewer, modelId);
  if (!row) throw new HttpError(404, 'Model not found');
  return (await withNames(db, [row]))[0] as ModelRow;
}

// ---- the model's one name (docs/formats.md, "One name per model") ---------------------------------------------------

/**
 * The model's name: the file stem of every download and bundle entry, the manifest's `name` and the openWakeWord
 * model key (Home Assistant lists the wake word by it). It is the slug of the wake word, with `-v2`, `-v3`, … only
 * when another model of the same owner already has that name. Stored in `metrics.model_name` when the model is
 * stored, so it never changes afterwards (deleting the first "alexa" does not rename "alexa-v2").
 */
export function modelName(m: ModelRow): string {
  const name = (m.metrics as Record<string, unknown>).model_name;
  return typeof name === 'string' && name ? name : slugify(m.wakeWord);
}

/** The first name for `wakeWord` that `taken` does not hold: its slug, else `<slug>-v2`, `<slug>-v3`, … */
export function freeModelName(wakeWord: string, taken: ReadonlySet<string>): string {
  const slug = slugify(wakeWord);
  if (!taken.has(slug)) return slug;
  for (let n = 2; ; n++) if (!taken.has(`${slug}-v${n}`)) return `${slug}-v${n}`;
}

/**
 * The names of all of a user's models. A model stored before names existed gets one now (oldest first, after the
 * names already given), stored like a new model's; two concurrent first requests compute the same names.
 */
async function userModelNames(db: DbOrTx, userId: number): Promise<Map<number, string>> {
  const rows = await q.namesOfUser(db, userId);
  const taken = new Set(rows.map((r) => r.name).filter((n): n is string => Boolean(n)));
  const names = new Map<number, string>();
  for (const r of rows) {
    let name = r.name;
    if (!name) {
      name = freeModelName(r.wakeWord, taken);
      taken.add(name);
      await q.mergeMetrics(db, r.id, { model_name: name });
    }
    names.set(r.id, name);
  }
  return names;
}

/** Fills `metrics.model_name` of rows from before names were stored. */
async function withNames(db: DbOrTx, rows: ModelRow[]): Promise<ModelRow[]> {
  const unnamed = new Set(
    rows
      .filter((r) => typeof (r.metrics as Record<string, unknown>).model_name !== 'string')
      .map((r) => r.userId),
  );
  for (const owner of unnamed) {
    const names = await userModelNames(db, owner);
    for (const r of rows)
      if (r.userId === owner) r.metrics = { ...(r.metrics as object), model_name: names.get(r.id) };
  }
  return rows;
}

export function modelConfig(m: ModelRow): ModelConfig {
  const metrics = m.metrics as Record<string, any>;
  return {
    d_prime: m.dPrime,
    far_per_hour: numOrNull(metrics.far_per_hour),
    frr: numOrNull(metrics.frr ?? m.missRateAtTarget),
    threshold: m.threshold,
    eer: m.eer,
    auc: m.auc,
    miss_rate_at_target: m.missRateAtTarget,
    target_fa_per_hour: m.targetFaPerHour,
    quality_grade: m.qualityGrade,
    name: modelName(m),
    tflite_error: typeof metrics.tflite_error === 'string' ? metrics.tflite_error : null,
    training_config: { ...m.configJson, model_id: m.id, name: modelName(m) },
  };
}

export function modelPerformance(m: ModelRow): ModelPerformance {
  const metrics = m.metrics as Record<string, any>;
  const ev = (metrics.evaluation ?? {}) as Record<string, any>;
  const available = m.dPrime !== null;
  return {
    model_name: m.wakeWord,
    cohen_d: m.dPrime,
    d_prime: m.dPrime,
    threshold: m.threshold,
    file_size: m.sizeBytes,
    created_at: iso(m.createdAt),
    positive_scores: (metrics.positive_scores ?? []) as number[],
    negative_scores: (metrics.negative_scores ?? []) as number[],
    evaluation_available: available,
    evaluation_data: available
      ? {
          eer: m.eer,
          auc: m.auc,
          far_per_hour: numOrNull(metrics.far_per_hour),
          frr: numOrNull(metrics.frr ?? m.missRateAtTarget),
          miss_rate_at_target: m.missRateAtTarget,
          target_fa_per_hour: m.targetFaPerHour,
          quality_grade: m.qualityGrade,
          eval_positive_count: numOrNull(
            metrics.eval_positive_count ?? ev.eval_positive_count ?? ev.positives,
          ),
          eval_negative_count: numOrNull(
            metrics.eval_negative_count ?? ev.eval_negative_count ?? ev.negatives,
          ),
          eval_negative_hours: numOrNull(
            metrics.eval_negative_hours ?? ev.eval_negative_hours ?? ev.negatives_hours,
          ),
          ...honestMetrics(ev),
        }
      : null,
  };
}

const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

type EvaluationData = NonNullable<ModelPerformance['evaluation_data']>;
/** The stated FA/h, calibration and grade basis the engine wrote (docs/engine.md, "Honest metrics"); null when absent. */
function honestMetrics(
  ev: Record<string, any>,
): Pick<EvaluationData, 'false_accepts' | 'calibration' | 'grade_basis'> {
  const fa = ev.false_accepts;
  const cal = ev.calibration;
  const g = ev.grade_basis;
  return {
    false_accepts:
      fa && typeof fa.hours === 'number'
        ? {
            hours: fa.hours,
            count: fa.count,
            fa_per_hour: fa.fa_per_hour,
            measured_fa_per_hour: fa.measured_fa_per_hour,
            below_resolution: fa.below_resolution,
            ci95: [fa.ci95[0], fa.ci95[1]],
            resolution_per_hour: fa.resolution_per_hour,
            target_fa_per_hour: fa.target_fa_per_hour,
            target_resolved: fa.target_resolved,
            target_met_at_95: fa.target_met_at_95,
            target_exceeded_at_95: fa.target_exceeded_at_95,
            statement: fa.statement,
          }
        : null,
    calibration:
      cal && typeof cal.hours === 'number'
        ? {
            source: cal.source,
            hours: cal.hours,
            margin: cal.margin,
            target_fa_per_hour: cal.target_fa_per_hour,
            false_accepts: cal.false_accepts,
            heldout_engine: cal.heldout_engine ?? null,
          }
        : null,
    grade_basis:
      g && typeof g.grade === 'string'
        ? {
            miss_rate: numOrNull(g.miss_rate),
            d_prime: numOrNull(g.d_prime),
            table_grade: g.table_grade,
            lowered_for_false_accepts: g.lowered_for_false_accepts === true,
            grade: g.grade,
          }
        : null,
  };
}

export function downloadName(m: ModelRow, format: DownloadFormat): string {
  return `${modelName(m)}.${format}`;
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
        storage.getBytes(m.storageKey),
        storage.getBytes(m.manifestKey),
        frontendModels(ctx),
        tflite ? storage.getBytes(tfliteKeyOf(m.storageKey)) : null,
      ]);
      const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
      // Entries carry the model's created_at, so repeated downloads are byte-identical.
      manifest.created_at = iso(m.createdAt);
      manifest.name = modelName(m);
      if (tflite) manifest.tflite_sha256 = tflite.sha256;
      else delete manifest.tflite_sha256;
      const zip = await createBundle({
        onnx,
        tflite: tfliteBytes,
        manifest,
        melModel: front.mel,
        embeddingModel: front.embedding,
        slug: modelName(m),
      });
      return { kind: 'bytes', body: zip, contentType: 'application/zip', filename };
    }
    if (format === 'json') {
      // served with the model's name (a model stored before names has "model" in its stored manifest)
      const manifest = JSON.parse((await storage.getBytes(m.manifestKey)).toString('utf8')) as Manifest;
      manifest.name = modelName(m);
      const body = new TextEncoder().encode(manifestJson(manifest));
      return { kind: 'bytes', body, contentType: 'application/json', filename };
    }
    const key = format === 'onnx' ? m.storageKey : tfliteKeyOf(m.storageKey);
    const contentType = 'application/octet-stream';
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
export async function deleteModel(ctx: AppContext, viewer: Viewer, modelId: number): Promise<void> {
  const m = await visibleModel(ctx.db, viewer, modelId);
  if (m.userId !== viewer.userId) throw new HttpError(403, 'Only the model owner can delete it');
  await q.deleteById(ctx.db, m.id);
  const storage = getStorage(ctx);
  for (const key of modelObjectKeys(m)) {
    await storage
      .delete(key)
      .catch((err) => ctx.logger.error({ err, model_id: m.id }, 'could not delete a model object'));
  }
}

/** Every stored object of a model: the ONNX head, its TFLite file (if made) and the manifest. */
export function modelObjectKeys(m: { storageKey: string; manifestKey: string }): string[] {
  return [m.storageKey, tfliteKeyOf(m.storageKey), m.manifestKey];
}

/** Storage keys of a user's models (account deletion removes them after the commit). */
export async function modelKeysOf(ctx: AppContext, userId: number): Promise<string[]> {
  const rows = await q.keysOfUser(ctx.db, userId);
  return rows.flatMap(modelObjectKeys);
}

/**
 * Retention: remove the models created before `cutoff` (objects, then rows), in batches; a storage error is logged
 * and the row still goes. Returns how many went.
 */
export async function purgeModelsCreatedBefore(ctx: AppContext, cutoff: Date, batch = 500): Promise<number> {
  const storage = getStorage(ctx);
  let total = 0;
  for (;;) {
    const rows = await q.createdBefore(ctx.db, cutoff, batch);
    if (rows.length === 0) return total;
    for (const row of rows) {
      for (const key of modelObjectKeys(row)) {
        await storage
          .delete(key)
          .catch((err) => ctx.logger.error({ err, model_id: row.id }, 'retention: delete failed'));
      }
    }
    await q.deleteByIds(
      ctx.db,
      rows.map((r) => r.id),
    );
    total += rows.length;
    if (rows.length < batch) return total;
  }
}

// ---- sharing (called by the teams domain, which checks membership and roles first) --------------------------------

/** Share one of the user's own models to the team; null when the model is not the user's. */
export function shareOwnModel(
  tx: DbOrTx,
  userId: number,
  modelId: number,
  teamId: number,
): Promise<ModelRow | null> {
  return q.setTeamOfOwnModel(tx, userId, modelId, teamId);
}

/** The model if it is shared to the team, locked for the rest of the transaction. */
export function lockTeamModel(tx: DbOrTx, teamId: number, modelId: number): Promise<ModelRow | null> {
  return q.lockTeamModel(tx, teamId, modelId);
}

/** Unshare one model, every model of a team (team deleted), or one member's models of a team (member left). */
export function unshareModels(
  tx: DbOrTx,
  which: { modelId: number } | { teamId: number; userId?: number },
): Promise<void> {
  return q.clearTeam(tx, which);
}

/** The models shared to a team, newest first (the caller has checked that the user is a member). */
export function modelsOfTeam(db: DbOrTx, teamId: number): Promise<ModelRow[]> {
  return q.modelsOfTeam(db, teamId);
}

// ---- new models (written by the training domain when a job completes) ---------------------------------------------

/** What the trainer hands over for a new model (the training child's result). */
export interface TrainedModelFiles {
  onnx: Uint8Array;
  /** The TFLite export (absent from pipelines that do not write one; null with `tfliteError` when it failed). */
  tflite?: Uint8Array | null;
  tfliteError?: string;
  manifest: Manifest;
  scores: TrainResult['scores'];
  evaluation: Record<string, unknown> | null;
}

/** A model whose objects are stored and whose row waits for the transaction that completes its job. */
export interface PreparedModel {
  modelId: number;
  row: NewModel & { id: number };
  /** Remove the stored objects (the job was not completed after all). */
  discard(): Promise<void>;
  /** Rewrites the stored manifest with another name (`insertModel` found the chosen one taken). */
  rename(name: string): Promise<void>;
}

/**
 * Allocate the model's id and store its objects: the ONNX head, the TFLite file beside it (docs/formats.md; a failed
 * export is remembered so downloads answer 409 with why) and the manifest. The row is inserted by `insertModel`.
 */
export async function storeTrainedModel(
  ctx: AppContext,
  job: { id: number; userId: number; wakeWord: string; language?: string },
  result: TrainedModelFiles,
): Promise<PreparedModel> {
  const storage = getStorage(ctx);
  const modelId = await q.nextModelId(ctx.db);
  const name = freeModelName(job.wakeWord, new Set((await userModelNames(ctx.db, job.userId)).values()));
  const onnxKey = `models/${job.userId}/${modelId}.onnx`;
  const jsonKey = `models/${job.userId}/${modelId}.json`;
  const tfliteKey = tfliteKeyOf(onnxKey);
  const manifest = { ...result.manifest, name, model_id: modelId };
  const manifestBytes = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
  await storage.put(onnxKey, result.onnx, { contentType: 'application/octet-stream' });
  let tflite: Record<string, unknown> = {};
  if (result.tflite) {
    await storage.put(tfliteKey, result.tflite, { contentType: 'application/octet-stream' });
    tflite = {
      tflite: {
        sha256: createHash('sha256').update(result.tflite).digest('hex'),
        size_bytes: result.tflite.byteLength,
      },
    };
  } else if (result.tfliteError) tflite = { tflite_error: result.tfliteError };
  await storage.put(jsonKey, manifestBytes, { contentType: 'application/json' });
  const m = result.manifest.metrics;
  const evaluation = result.evaluation ?? {};
  const metrics = {
    far_per_hour: m.fa_per_hour_at_threshold,
    frr: m.miss_rate_at_target,
    positive_scores: result.scores.positive.slice(0, 500),
    negative_scores: result.scores.negative.slice(0, 500),
    ...pick(evaluation, [
      'eval_positive_count',
      'eval_negative_count',
      'eval_negative_hours',
      'negatives_hours',
      'warnings',
    ]),
    evaluation,
    ...tflite,
    model_name: name,
  };
  const { metrics: _omit, ...configJson } = manifest;
  return {
    modelId,
    row: {
      id: modelId,
      userId: job.userId,
      jobId: job.id,
      wakeWord: job.wakeWord,
      language: job.language ?? 'en',
      storageKey: onnxKey,
      manifestKey: jsonKey,
      sizeBytes: result.onnx.byteLength,
      threshold: result.manifest.threshold,
      dPrime: m.d_prime,
      eer: m.eer,
      auc: m.auc,
      missRateAtTarget: m.miss_rate_at_target,
      targetFaPerHour: m.target_fa_per_hour,
      qualityGrade: m.quality_grade,
      metrics,
      configJson,
    },
    async rename(newName: string) {
      const renamed = { ...manifest, name: newName };
      await storage.put(jsonKey, new TextEncoder().encode(`${JSON.stringify(renamed, null, 2)}\n`), {
        contentType: 'application/json',
      });
    },
    async discard() {
      await storage.delete(onnxKey).catch(() => {});
      await storage.delete(tfliteKey).catch(() => {});
      await storage.delete(jsonKey).catch(() => {});
    },
  };
}

/**
 * Insert a prepared model's row (in the transaction that completes its job). The owner's new models are named one
 * at a time: under a transaction-scoped lock, a name another model took since `storeTrainedModel` chose it is
 * replaced by the next free one (row and stored manifest).
 */
export async function insertModel(tx: DbOrTx, prepared: PreparedModel): Promise<void> {
  const row = prepared.row;
  await q.lockOwnerNames(tx, row.userId);
  const taken = new Set(
    (await q.namesOfUser(tx, row.userId)).map((r) => r.name).filter((n): n is string => Boolean(n)),
  );
  const metrics = row.metrics as Record<string, unknown>;
  const chosen = metrics.model_name as string;
  if (taken.has(chosen)) {
    const name = freeModelName(row.wakeWord, taken);
    row.metrics = { ...metrics, model_name: name };
    row.configJson = { ...(row.configJson as Record<string, unknown>), name };
    await prepared.rename(name);
  }
  await q.insertModel(tx, row);
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in obj) out[k] = obj[k];
  return out;
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
