/**
 * Model visibility (docs/api.md §4.11): the owner, and every joined member of the team the model is shared to.
 * Everyone else sees a missing model (404).
 */
import { sql } from 'drizzle-orm';
import { type DbOrTx, execRows } from '../core/db/client.ts';

/** SQL condition "model row `m` is visible to user": use as `WHERE ${modelVisibleSql('m', userId)}`. */
export function modelVisibleSql(alias: string, userId: number) {
  const a = sql.raw(alias);
  return sql`(${a}.user_id = ${userId} OR (${a}.team_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM team_members tm WHERE tm.team_id = ${a}.team_id AND tm.user_id = ${userId})))`;
}

export async function modelVisibleTo(db: DbOrTx, userId: number, modelId: number): Promise<boolean> {
  const rows = await execRows(
    db,
    sql`SELECT 1 AS ok FROM trained_models m WHERE m.id = ${modelId} AND ${modelVisibleSql('m', userId)}`,
  );
  return rows.length > 0;
}
