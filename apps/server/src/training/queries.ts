/**
 * Every statement on the training domain's tables (`training_jobs`, `circuit_breakers`). Rows are the Drizzle
 * schema's (`JobRow`, `BreakerRow`).
 */
import { and, arrayContains, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../core/db/client.ts';
import { trainingJobs } from '../core/db/schema.ts';

export type JobRow = typeof trainingJobs.$inferSelect;

/** Whether a queued or running job trains from the recording. */
export async function activeJobUsesRecording(db: DbOrTx, recordingId: number): Promise<boolean> {
  const rows = await db
    .select({ id: trainingJobs.id })
    .from(trainingJobs)
    .where(
      and(
        inArray(trainingJobs.status, ['queued', 'running']),
        arrayContains(trainingJobs.recordingIds, [recordingId]),
      ),
    )
    .limit(1);
  return rows.length > 0;
}
