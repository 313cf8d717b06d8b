/**
 * Every statement on the `trained_models` table. Rows are the Drizzle schema's (`ModelRow`). Visibility
 * (docs/api.md §4.11): the owner, and every member of the team the model is shared to; the caller passes the user's
 * team ids (the teams domain owns membership).
 */
import { and, asc, desc, eq, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import { type DbOrTx, execRows } from '../core/db/client.ts';
import { trainedModels } from '../core/db/schema.ts';

export type ModelRow = typeof trainedModels.$inferSelect;
export type NewModel = typeof trainedModels.$inferInsert;

/** Who is looking: the user and the teams they belong to. */
export interface Viewer {
  userId: number;
  teamIds: number[];
}

function visibleTo(v: Viewer): SQL {
  const own = eq(trainedModels.userId, v.userId);
  return v.teamIds.length > 0 ? (or(own, inArray(trainedModels.teamId, v.teamIds)) as SQL) : own;
}

/** The models the viewer can see, newest first. */
export function listVisible(db: DbOrTx, v: Viewer): Promise<ModelRow[]> {
  return db
    .select()
    .from(trainedModels)
    .where(visibleTo(v))
    .orderBy(desc(trainedModels.createdAt), desc(trainedModels.id));
}

export async function visibleById(db: DbOrTx, v: Viewer, modelId: number): Promise<ModelRow | undefined> {
  const [row] = await db
    .select()
    .from(trainedModels)
    .where(and(eq(trainedModels.id, modelId), visibleTo(v)));
  return row;
}

export async function deleteById(db: DbOrTx, modelId: number): Promise<void> {
  await db.delete(trainedModels).where(eq(trainedModels.id, modelId));
}

/** The object keys of every model of a user. */
export function keysOfUser(db: DbOrTx, userId: number) {
  return db
    .select({ storageKey: trainedModels.storageKey, manifestKey: trainedModels.manifestKey })
    .from(trainedModels)
    .where(eq(trainedModels.userId, userId));
}

/** Every model of a user, oldest first, with its stored name (`metrics.model_name`, null before it has one). */
export function namesOfUser(db: DbOrTx, userId: number) {
  return db
    .select({
      id: trainedModels.id,
      wakeWord: trainedModels.wakeWord,
      name: sql<string | null>`${trainedModels.metrics}->>'model_name'`,
    })
    .from(trainedModels)
    .where(eq(trainedModels.userId, userId))
    .orderBy(trainedModels.id);
}

/** Serialises the naming of one owner's new models until the end of the transaction (advisory lock). */
export async function lockOwnerNames(tx: DbOrTx, userId: number): Promise<void> {
  await execRows(
    tx,
    sql`SELECT pg_advisory_xact_lock(hashtext('trained_models.model_name'), ${userId}::int)`,
  );
}

/** Merge keys into a model's `metrics` (jsonb `||`). */
export async function mergeMetrics(
  db: DbOrTx,
  modelId: number,
  patch: Record<string, unknown>,
): Promise<void> {
  await db
    .update(trainedModels)
    .set({ metrics: sql`${trainedModels.metrics} || ${JSON.stringify(patch)}::jsonb` })
    .where(eq(trainedModels.id, modelId));
}

/** The next id of the table's identity sequence (object keys are made from it before the row exists). */
export async function nextModelId(db: DbOrTx): Promise<number> {
  const [row] = await execRows<{ id: number | string }>(
    db,
    sql`SELECT nextval(pg_get_serial_sequence('trained_models', 'id'))::bigint AS id`,
  );
  return Number(row!.id);
}

export async function insertModel(db: DbOrTx, row: NewModel & { id: number }): Promise<void> {
  await db.insert(trainedModels).overridingSystemValue().values(row);
}

// ---- sharing (the teams domain calls these through models' service) ---------------------------------------------

/** Share one of the user's own models to a team (a model is shared to one team at most); null when not theirs. */
export async function setTeamOfOwnModel(
  db: DbOrTx,
  userId: number,
  modelId: number,
  teamId: number,
): Promise<ModelRow | null> {
  const [row] = await db
    .update(trainedModels)
    .set({ teamId })
    .where(and(eq(trainedModels.id, modelId), eq(trainedModels.userId, userId)))
    .returning();
  return row ?? null;
}

/** A model shared to the team, locked until the transaction ends. */
export async function lockTeamModel(db: DbOrTx, teamId: number, modelId: number): Promise<ModelRow | null> {
  const [row] = await db
    .select()
    .from(trainedModels)
    .where(and(eq(trainedModels.id, modelId), eq(trainedModels.teamId, teamId)))
    .for('update');
  return row ?? null;
}

/** Unshare models: one model, every model of a team, or a team's models of one owner. */
export async function clearTeam(
  db: DbOrTx,
  which: { modelId: number } | { teamId: number; userId?: number },
): Promise<void> {
  const where =
    'modelId' in which
      ? eq(trainedModels.id, which.modelId)
      : which.userId === undefined
        ? eq(trainedModels.teamId, which.teamId)
        : and(eq(trainedModels.teamId, which.teamId), eq(trainedModels.userId, which.userId));
  await db.update(trainedModels).set({ teamId: null }).where(where);
}

/** The models shared to a team, newest first. */
export function modelsOfTeam(db: DbOrTx, teamId: number): Promise<ModelRow[]> {
  return db
    .select()
    .from(trainedModels)
    .where(eq(trainedModels.teamId, teamId))
    .orderBy(desc(trainedModels.createdAt), desc(trainedModels.id));
}

/** Up to `limit` models created before `cutoff` (by id): what retention removes. */
export function createdBefore(db: DbOrTx, cutoff: Date, limit: number) {
  return db
    .select({
      id: trainedModels.id,
      storageKey: trainedModels.storageKey,
      manifestKey: trainedModels.manifestKey,
    })
    .from(trainedModels)
    .where(lt(trainedModels.createdAt, cutoff))
    .orderBy(asc(trainedModels.id))
    .limit(limit);
}

export async function deleteByIds(db: DbOrTx, ids: number[]): Promise<void> {
  if (ids.length > 0) await db.delete(trainedModels).where(inArray(trainedModels.id, ids));
}
