/**
 * Recordings: persist an accepted upload (row + object in one transaction, docs/api.md §4.5 step 13), list, stream and
 * delete. Storage keys contain only ids (`recordings/<user_id>/<recording_id>.wav`); the id comes from the table's
 * identity sequence, so concurrent uploads (same user, same word) can never share a key. SQL: `queries.ts`.
 */
import type { Readable } from 'node:stream';
import { normalizeWakeWord, WakeWordError } from '@violawake/detector/wakeword';
import { lockUser } from '../auth/service.ts';
import type { AppContext } from '../core/context.ts';
import type { DbOrTx } from '../core/db/client.ts';
import { HttpError } from '../core/http/errors.ts';
import { getStorage, StorageNotFoundError, storageKeys } from '../core/storage/index.ts';
import { requestLanguage } from '../languages/service.ts';
import type { ProcessedRecording } from './audio/pipeline.ts';
import * as q from './queries.ts';
import type { RecordingOut, UploadResponse } from './schemas.ts';

export const MAX_RECORDINGS_PER_USER = 500;

export const MSG = {
  notFound: 'Recording not found',
  inUse: 'Recording is used by a queued or running training job',
  limit: `Recording limit reached: an account can store at most ${MAX_RECORDINGS_PER_USER} recordings. Delete some recordings before uploading more.`,
} as const;

/**
 * The language of an upload's `language` field (absent: English), or a 422 for an unknown code or a wake word with
 * letters that language cannot speak (docs/languages.md).
 */
export function recordingLanguage(raw: string | null, wakeWord: string): string {
  return requestLanguage(raw, { loc: ['body', 'language'], wakeWord });
}

/** §4.4 normalization as an HTTP 400. */
export function normalizeWakeWordOr400(input: string | null | undefined): string {
  try {
    return normalizeWakeWord(input);
  } catch (err) {
    if (err instanceof WakeWordError) throw new HttpError(400, err.message);
    throw err;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Insert the row (allocating the id), write the object, commit; a failed commit deletes the object. The per-user
 * cap is checked under a lock on the user's row, so concurrent uploads cannot exceed it.
 */
export async function saveRecording(
  ctx: AppContext,
  userId: number,
  wakeWord: string,
  rec: ProcessedRecording,
  takeNumber: number | null = null,
  language = 'en',
): Promise<UploadResponse> {
  const storage = getStorage(ctx);
  let writtenKey: string | null = null;
  try {
    const row = await ctx.db.transaction(async (tx) => {
      if (!(await lockUser(tx, userId))) throw new HttpError(401, 'Invalid or expired token');
      if ((await q.countVisible(tx, userId)) >= MAX_RECORDINGS_PER_USER) throw new HttpError(409, MSG.limit);
      const id = await q.nextRecordingId(tx);
      const key = storageKeys.recording(userId, id);
      const filename = `${id}.wav`;
      await q.insertRecording(tx, {
        id,
        userId,
        wakeWord,
        language,
        filename,
        storageKey: key,
        sourceFormat: rec.sourceFormat,
        durationS: rec.durationS,
        sampleRate: 16000,
        sizeBytes: rec.wav.length,
        takeNumber,
        createdAt: ctx.clock.now(),
      });
      writtenKey = key;
      await storage.put(key, rec.wav, { contentType: 'audio/wav' });
      return { id, filename };
    });
    return {
      recording_id: row.id,
      filename: row.filename,
      wake_word: wakeWord,
      language,
      duration_s: round3(rec.durationS),
      take_number: takeNumber,
      warnings: rec.warnings,
    };
  } catch (err) {
    if (writtenKey !== null) {
      const key: string = writtenKey;
      await storage
        .delete(key)
        .catch((e: unknown) => ctx.logger.error({ err: e, key }, 'recording object cleanup failed'));
    }
    throw err;
  }
}

export async function listRecordings(
  ctx: AppContext,
  userId: number,
  wakeWord: string | null,
): Promise<RecordingOut[]> {
  const rows = await q.listVisible(ctx.db, userId, wakeWord);
  return rows.map((r) => ({
    id: r.id,
    wake_word: r.wakeWord,
    language: r.language,
    filename: r.filename,
    duration_s: round3(r.durationS),
    take_number: r.takeNumber ?? null,
    created_at: r.createdAt.toISOString(),
  }));
}

/** The owner's visible recording's audio stream; 404 for anything else (missing, another user's, soft-deleted). */
export async function openRecordingAudio(
  ctx: AppContext,
  userId: number,
  recordingId: number,
): Promise<{ stream: Readable; size: number; filename: string }> {
  const row = await q.visibleRecording(ctx.db, userId, recordingId);
  if (!row) throw new HttpError(404, MSG.notFound);
  try {
    return { stream: await getStorage(ctx).get(row.storageKey), size: row.sizeBytes, filename: row.filename };
  } catch (err) {
    if (err instanceof StorageNotFoundError) {
      ctx.logger.error({ recording_id: recordingId }, 'recording object missing from storage');
      throw new HttpError(404, MSG.notFound);
    }
    throw err;
  }
}

/** Whether a queued or running job uses the recording (the training domain answers; see `deleteRecording`). */
export type RecordingInUse = (tx: DbOrTx, recordingId: number) => Promise<boolean>;

/**
 * Delete the owner's recording: under its row lock, 409 while a queued or running job uses it (`inUse`, from the
 * training domain, which owns the jobs), else the row goes, then the object (a storage failure is logged; retention
 * never sees the row again, the object is orphaned).
 */
export async function deleteRecording(
  ctx: AppContext,
  userId: number,
  recordingId: number,
  inUse: RecordingInUse,
): Promise<void> {
  const key = await ctx.db.transaction(async (tx) => {
    const row = await q.visibleRecording(tx, userId, recordingId, true);
    if (!row) throw new HttpError(404, MSG.notFound);
    if (await inUse(tx, recordingId)) throw new HttpError(409, MSG.inUse);
    await q.deleteById(tx, recordingId);
    return row.storageKey;
  });
  try {
    await getStorage(ctx).delete(key);
  } catch (err) {
    ctx.logger.error({ err, recording_id: recordingId }, 'recording object delete failed');
  }
}

/** Storage keys of every recording of a user (account deletion, §4.15). */
export function recordingKeysOfUser(ctx: AppContext, userId: number): Promise<string[]> {
  return q.storageKeysOfUser(ctx.db, userId);
}

/** What a job needs of its recordings: the user's visible ones among `ids`, by id. */
export type TrainingRecording = Awaited<ReturnType<typeof q.visibleByIds>>[number];

/**
 * The user's visible recordings among `ids` (by id) for the training domain; inside a submission's transaction
 * `lock: 'share'` keeps them from being deleted until it commits.
 */
export function recordingsForTraining(
  db: DbOrTx,
  userId: number,
  ids: number[],
  lock: 'share' | null = null,
): Promise<TrainingRecording[]> {
  return q.visibleByIds(db, userId, ids, lock);
}

/**
 * Retention: remove recordings (objects, then rows) matching `filter`, in batches, never one `keep` names (read
 * again for every batch: the ids queued or running jobs train from; the training domain answers). A storage error is
 * logged and the row still goes. Returns how many went.
 */
export async function purgeRecordings(
  ctx: AppContext,
  filter: q.PurgeFilter,
  keep: (db: DbOrTx) => Promise<number[]>,
  batch = 500,
): Promise<number> {
  if (!('ids' in filter)) return purgeBatches(ctx, filter, keep, batch);
  let total = 0; // a long id list goes in slices (each a bounded IN list)
  for (let i = 0; i < filter.ids.length; i += batch) {
    total += await purgeBatches(ctx, { ids: filter.ids.slice(i, i + batch) }, keep, batch);
  }
  return total;
}

async function purgeBatches(
  ctx: AppContext,
  filter: q.PurgeFilter,
  keep: (db: DbOrTx) => Promise<number[]>,
  batch: number,
): Promise<number> {
  const storage = getStorage(ctx);
  let total = 0;
  for (;;) {
    const rows = await q.purgeCandidates(ctx.db, filter, await keep(ctx.db), batch);
    if (rows.length === 0) return total;
    for (const row of rows) {
      await storage
        .delete(row.storageKey)
        .catch((err) => ctx.logger.error({ err, recording_id: row.id }, 'retention: delete failed'));
    }
    await q.deleteByIds(
      ctx.db,
      rows.map((r) => r.id),
    );
    total += rows.length;
    if (rows.length < batch) return total;
  }
}
