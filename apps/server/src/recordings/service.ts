/**
 * Recordings: persist an accepted upload (row + object in one transaction, docs/api.md §4.5 step 13), list, stream and
 * delete. Storage keys contain only ids (`recordings/<user_id>/<recording_id>.wav`); the id comes from the table's
 * identity sequence, so concurrent uploads (same user, same word) can never share a key.
 */
import type { Readable } from 'node:stream';
import { normalizeWakeWord, WakeWordError } from '@violawake/detector/wakeword';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { AppContext } from '../core/context.ts';
import { execRows } from '../core/db/client.ts';
import { recordings } from '../core/db/schema.ts';
import { HttpError } from '../core/http/errors.ts';
import { getStorage, StorageNotFoundError, storageKeys } from '../core/storage/index.ts';
import type { ProcessedRecording, UploadWarning } from './audio/pipeline.ts';

export const MAX_RECORDINGS_PER_USER = 500;

export const MSG = {
  notFound: 'Recording not found',
  inUse: 'Recording is used by a queued or running training job',
  limit: `Recording limit reached: an account can store at most ${MAX_RECORDINGS_PER_USER} recordings. Delete some recordings before uploading more.`,
} as const;

export interface RecordingOut {
  id: number;
  wake_word: string;
  filename: string;
  duration_s: number;
  take_number: number | null;
  created_at: string;
}

export interface UploadResponse {
  recording_id: number;
  filename: string;
  wake_word: string;
  duration_s: number;
  take_number: number | null;
  warnings: UploadWarning[];
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

function iso(t: Date | string): string {
  return (t instanceof Date ? t : new Date(t)).toISOString();
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
): Promise<UploadResponse> {
  const storage = getStorage(ctx);
  let writtenKey: string | null = null;
  try {
    const row = await ctx.db.transaction(async (tx) => {
      const locked = await execRows<{ id: number }>(
        tx,
        sql`SELECT id FROM users WHERE id = ${userId} FOR UPDATE`,
      );
      if (locked.length === 0) throw new HttpError(401, 'Invalid or expired token');
      const [count] = await execRows<{ n: number | string }>(
        tx,
        sql`SELECT count(*) AS n FROM recordings WHERE user_id = ${userId} AND deleted_at IS NULL`,
      );
      if (Number(count?.n ?? 0) >= MAX_RECORDINGS_PER_USER) throw new HttpError(409, MSG.limit);
      const [seq] = await execRows<{ id: number | string }>(
        tx,
        sql`SELECT nextval('recordings_id_seq') AS id`,
      );
      const id = Number(seq!.id);
      const key = storageKeys.recording(userId, id);
      const filename = `${id}.wav`;
      const inserted = await execRows<{ id: number | string; created_at: Date | string }>(
        tx,
        sql`INSERT INTO recordings (id, user_id, wake_word, filename, storage_key, source_format, duration_s, sample_rate, size_bytes, take_number, created_at)
            OVERRIDING SYSTEM VALUE
            VALUES (${id}, ${userId}, ${wakeWord}, ${filename}, ${key}, ${rec.sourceFormat}, ${rec.durationS}, 16000,
                    ${rec.wav.length}, ${takeNumber}, ${ctx.clock.now().toISOString()}::timestamptz)
            RETURNING id, created_at`,
      );
      writtenKey = key;
      await storage.put(key, rec.wav, { contentType: 'audio/wav' });
      return { id: Number(inserted[0]!.id), filename };
    });
    return {
      recording_id: row.id,
      filename: row.filename,
      wake_word: wakeWord,
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
  const conds = [eq(recordings.userId, userId), isNull(recordings.deletedAt)];
  if (wakeWord !== null) conds.push(eq(recordings.wakeWord, wakeWord));
  const rows = await ctx.db
    .select({
      id: recordings.id,
      wakeWord: recordings.wakeWord,
      filename: recordings.filename,
      durationS: recordings.durationS,
      takeNumber: recordings.takeNumber,
      createdAt: recordings.createdAt,
    })
    .from(recordings)
    .where(and(...conds))
    .orderBy(desc(recordings.createdAt), desc(recordings.id));
  return rows.map((r) => ({
    id: Number(r.id),
    wake_word: r.wakeWord,
    filename: r.filename,
    duration_s: round3(r.durationS),
    take_number: r.takeNumber ?? null,
    created_at: iso(r.createdAt),
  }));
}

/** The owner's visible recording's audio stream; 404 for anything else (missing, another user's, soft-deleted). */
export async function openRecordingAudio(
  ctx: AppContext,
  userId: number,
  recordingId: number,
): Promise<{ stream: Readable; size: number; filename: string }> {
  const [row] = await ctx.db
    .select({ key: recordings.storageKey, size: recordings.sizeBytes, filename: recordings.filename })
    .from(recordings)
    .where(and(eq(recordings.id, recordingId), eq(recordings.userId, userId), isNull(recordings.deletedAt)));
  if (!row) throw new HttpError(404, MSG.notFound);
  try {
    return { stream: await getStorage(ctx).get(row.key), size: row.size, filename: row.filename };
  } catch (err) {
    if (err instanceof StorageNotFoundError) {
      ctx.logger.error({ recording_id: recordingId }, 'recording object missing from storage');
      throw new HttpError(404, MSG.notFound);
    }
    throw err;
  }
}

/**
 * Delete the owner's recording: the row goes in one statement that also checks no queued or running job uses it,
 * then the object (a storage failure is logged; retention never sees the row again, the object is orphaned).
 */
export async function deleteRecording(ctx: AppContext, userId: number, recordingId: number): Promise<void> {
  const deleted = await execRows<{ storage_key: string }>(
    ctx.db,
    sql`DELETE FROM recordings r
         WHERE r.id = ${recordingId} AND r.user_id = ${userId} AND r.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM training_jobs j
                            WHERE j.status IN ('queued', 'running') AND ${recordingId}::bigint = ANY (j.recording_ids))
     RETURNING r.storage_key`,
  );
  if (deleted.length === 0) {
    const [exists] = await execRows<{ id: number }>(
      ctx.db,
      sql`SELECT id FROM recordings WHERE id = ${recordingId} AND user_id = ${userId} AND deleted_at IS NULL`,
    );
    throw exists ? new HttpError(409, MSG.inUse) : new HttpError(404, MSG.notFound);
  }
  const key = deleted[0]!.storage_key;
  try {
    await getStorage(ctx).delete(key);
  } catch (err) {
    ctx.logger.error({ err, recording_id: recordingId }, 'recording object delete failed');
  }
}

/** Storage keys of every recording of a user (account deletion, §4.15). */
export async function recordingKeysOfUser(ctx: AppContext, userId: number): Promise<string[]> {
  const rows = await ctx.db
    .select({ key: recordings.storageKey })
    .from(recordings)
    .where(eq(recordings.userId, userId));
  return rows.map((r) => r.key);
}
