/**
 * What a job trains from: its recordings, copied from storage into the attempt's scratch directory, each with the
 * label training notes use for it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AppContext } from '../core/context.ts';
import type { Logger } from '../core/logger.ts';
import { getStorage } from '../core/storage/index.ts';
import { recordingsForTraining } from '../recordings/service.ts';

/**
 * What training notes call each recording: "take N" with the number the record page showed (the upload's `take`),
 * "take N (recording ID)" when two of the job's recordings share a number, "recording ID" without one — never the
 * stored file name (docs/training.md).
 */
export function takeLabels(recs: { id: number | string; take_number: number | null }[]): Map<number, string> {
  const count = new Map<number, number>();
  for (const r of recs)
    if (r.take_number != null) count.set(r.take_number, (count.get(r.take_number) ?? 0) + 1);
  return new Map(
    recs.map((r) => {
      const id = Number(r.id);
      if (r.take_number == null) return [id, `recording ${id}`];
      return [
        id,
        (count.get(r.take_number) ?? 0) > 1
          ? `take ${r.take_number} (recording ${id})`
          : `take ${r.take_number}`,
      ];
    }),
  );
}

/**
 * Copy the job's visible recordings (by id) into `dir` as `<id>.wav`; a recording whose object is missing is logged
 * and left out (the job then fails with `insufficient_data` if fewer than five remain).
 */
export async function copyTakes(
  ctx: AppContext,
  job: { userId: number; recordingIds: number[] },
  dir: string,
  log: Logger,
): Promise<{ clips: string[]; labels: string[] }> {
  const recs = await recordingsForTraining(ctx.db, job.userId, job.recordingIds);
  const storage = getStorage(ctx);
  const names = takeLabels(recs.map((r) => ({ id: r.id, take_number: r.takeNumber })));
  const clips: string[] = [];
  const labels: string[] = [];
  for (const r of recs) {
    try {
      const bytes = await storage.getBytes(r.storageKey);
      const file = path.join(dir, `${r.id}.wav`);
      writeFileSync(file, bytes);
      clips.push(file);
      labels.push(names.get(r.id) as string);
    } catch (err) {
      log.warn({ err, recording_id: r.id }, 'recording object missing');
    }
  }
  return { clips, labels };
}
