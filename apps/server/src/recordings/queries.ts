/**
 * Every statement on the `recordings` table. Rows are the Drizzle schema's (`RecordingRow`); "visible" means the
 * user's own and not soft-deleted (rows soft-deleted by versions before kept takes wait for retention).
 */
import { and, asc, count, desc, eq, inArray, isNotNull, isNull, lt, notInArray, sql } from 'drizzle-orm';
import { type DbOrTx, execRows } from '../core/db/client.ts';
import { recordings } from '../core/db/schema.ts';

export type RecordingRow = typeof recordings.$inferSelect;
export type NewRecording = typeof recordings.$inferInsert;

const visible = (userId: number) => and(eq(recordings.userId, userId), isNull(recordings.deletedAt));

export async function countVisible(db: DbOrTx, userId: number): Promise<number> {
  const [row] = await db.select({ n: count() }).from(recordings).where(visible(userId));
  return row?.n ?? 0;
}

/** The next id of the table's identity sequence (the storage key is made from it before the insert). */
export async function nextRecordingId(db: DbOrTx): Promise<number> {
  const [row] = await execRows<{ id: number | string }>(db, sql`SELECT nextval('recordings_id_seq') AS id`);
  return Number(row!.id);
}

export async function insertRecording(db: DbOrTx, row: NewRecording & { id: number }): Promise<void> {
  await db.insert(recordings).overridingSystemValue().values(row);
}

/** The user's visible recordings (of one wake word, or all), newest first. */
export function listVisible(db: DbOrTx, userId: number, wakeWord: string | null) {
  const where = wakeWord === null ? visible(userId) : and(visible(userId), eq(recordings.wakeWord, wakeWord));
  return db
    .select({
      id: recordings.id,
      wakeWord: recordings.wakeWord,
      language: recordings.language,
      filename: recordings.filename,
      durationS: recordings.durationS,
      takeNumber: recordings.takeNumber,
      createdAt: recordings.createdAt,
    })
    .from(recordings)
    .where(where)
    .orderBy(desc(recordings.createdAt), desc(recordings.id));
}

/** One visible recording of the user, or undefined; `lock` takes its row lock (FOR UPDATE) in a transaction. */
export async function visibleRecording(
  db: DbOrTx,
  userId: number,
  recordingId: number,
  lock = false,
): Promise<RecordingRow | undefined> {
  const q = db
    .select()
    .from(recordings)
    .where(and(eq(recordings.id, recordingId), visible(userId)));
  const [row] = await (lock ? q.for('update') : q);
  return row;
}

/**
 * The user's visible recordings among `ids`, by id (the ones a job trains from); `share` keeps them from being
 * deleted until the transaction ends (a submission and a delete of the same take cannot both succeed).
 */
export function visibleByIds(db: DbOrTx, userId: number, ids: number[], lock: 'share' | null = null) {
  const q = db
    .select({
      id: recordings.id,
      wakeWord: recordings.wakeWord,
      language: recordings.language,
      storageKey: recordings.storageKey,
      takeNumber: recordings.takeNumber,
    })
    .from(recordings)
    .where(and(visible(userId), inArray(recordings.id, ids)))
    .orderBy(asc(recordings.id));
  return lock ? q.for(lock) : q;
}

export async function deleteById(db: DbOrTx, recordingId: number): Promise<void> {
  await db.delete(recordings).where(eq(recordings.id, recordingId));
}

/** Storage keys of every recording row of a user, soft-deleted ones included (account deletion). */
export async function storageKeysOfUser(db: DbOrTx, userId: number): Promise<string[]> {
  const rows = await db
    .select({ key: recordings.storageKey })
    .from(recordings)
    .where(eq(recordings.userId, userId));
  return rows.map((r) => r.key);
}

/** Which recording rows retention removes. */
export type PurgeFilter = { softDeleted: true } | { createdBefore: Date } | { ids: number[] };

/** Up to `limit` recordings matching `filter` (by id), leaving out the ids in `keep`. */
export function purgeCandidates(db: DbOrTx, filter: PurgeFilter, keep: number[], limit: number) {
  const which =
    'softDeleted' in filter
      ? isNotNull(recordings.deletedAt)
      : 'createdBefore' in filter
        ? lt(recordings.createdAt, filter.createdBefore)
        : inArray(recordings.id, filter.ids);
  return db
    .select({ id: recordings.id, storageKey: recordings.storageKey })
    .from(recordings)
    .where(keep.length > 0 ? and(which, notInArray(recordings.id, keep)) : which)
    .orderBy(asc(recordings.id))
    .limit(limit);
}

export async function deleteByIds(db: DbOrTx, ids: number[]): Promise<void> {
  if (ids.length > 0) await db.delete(recordings).where(inArray(recordings.id, ids));
}
