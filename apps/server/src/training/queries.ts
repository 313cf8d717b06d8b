/**
 * Every statement on the training domain's tables (`training_jobs`, `circuit_breakers`), as plain functions. Rows
 * are the Drizzle schema's (`JobRow`, `BreakerRow`). Times the database sets (`now()`) stay database times, so every
 * process agrees on heartbeats and staleness.
 */
import {
  and,
  arrayContains,
  asc,
  count,
  desc,
  eq,
  gt,
  inArray,
  isNotNull,
  isNull,
  lt,
  notInArray,
  or,
  type SQL,
  sql,
} from 'drizzle-orm';
import type { DbOrTx } from '../core/db/client.ts';
import { circuitBreakers, trainingJobs as jobs } from '../core/db/schema.ts';

export type JobRow = typeof jobs.$inferSelect;
export type NewJob = typeof jobs.$inferInsert;
export type JobPatch = Partial<{ [K in keyof NewJob]: NewJob[K] | SQL }>;
export type BreakerRow = typeof circuitBreakers.$inferSelect;
export type JobStatus = JobRow['status'];

/** The database's clock. */
export const NOW = sql`now()`;
/** `now() + secs` / `now() - secs` as SQL. */
export const nowPlus = (secs: number) => sql`now() + make_interval(secs => ${secs})`;
const nowMinus = (secs: number) => sql`now() - make_interval(secs => ${secs})`;
/** Column arithmetic for `updateJob` patches. */
export const increment = (c: 'attempts') => sql`${jobs[c]} + 1`;
export const decrementToZero = (c: 'attempts') => sql`GREATEST(${jobs[c]} - 1, 0)`;
export const atLeast = (c: 'progress', v: number) => sql`GREATEST(${jobs[c]}, ${v})`;

// ---- training_jobs ------------------------------------------------------------------------------------------------

export async function jobById(db: DbOrTx, jobId: number, lock = false): Promise<JobRow | null> {
  const q = db.select().from(jobs).where(eq(jobs.id, jobId));
  const [row] = await (lock ? q.for('update') : q);
  return row ?? null;
}

/** The job if it belongs to the user. */
export async function jobOfUser(db: DbOrTx, userId: number, jobId: number): Promise<JobRow | null> {
  const [row] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, jobId), eq(jobs.userId, userId)));
  return row ?? null;
}

export function jobsOfUser(db: DbOrTx, userId: number, limit: number): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(eq(jobs.userId, userId))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(limit);
}

/** How many queued, unheld jobs are dispatched before this one (priority first, then age, then id). */
export async function jobsAhead(
  db: DbOrTx,
  job: Pick<JobRow, 'id' | 'priority' | 'createdAt'>,
): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, 'queued'),
        isNull(jobs.holdReason),
        or(
          gt(jobs.priority, job.priority),
          and(
            eq(jobs.priority, job.priority),
            or(
              lt(jobs.createdAt, job.createdAt),
              and(eq(jobs.createdAt, job.createdAt), lt(jobs.id, job.id)),
            ),
          ),
        ),
      ),
    );
  return row?.n ?? 0;
}

export async function countActiveOfUser(db: DbOrTx, userId: number): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(jobs)
    .where(and(eq(jobs.userId, userId), inArray(jobs.status, ['queued', 'running'])));
  return row?.n ?? 0;
}

/** The user's queued or running jobs. */
export function activeJobsOfUser(db: DbOrTx, userId: number) {
  return db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.userId, userId), inArray(jobs.status, ['queued', 'running'])));
}

/** Whether a queued or running job trains from the recording. */
export async function activeJobUsesRecording(db: DbOrTx, recordingId: number): Promise<boolean> {
  const rows = await db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(inArray(jobs.status, ['queued', 'running']), arrayContains(jobs.recordingIds, [recordingId])))
    .limit(1);
  return rows.length > 0;
}

/** Queued jobs in all, and those of the free plan (priority 0). */
export async function queuedCounts(db: DbOrTx): Promise<{ n: number; free: number }> {
  const [row] = await db
    .select({ n: count(), free: sql<number>`(count(*) FILTER (WHERE ${jobs.priority} = 0))::int` })
    .from(jobs)
    .where(eq(jobs.status, 'queued'));
  return { n: row?.n ?? 0, free: Number(row?.free ?? 0) };
}

const QUEUE_LOCK_KEY = 727_002;
/** Serializes the queue caps' check-and-insert across processes (until the transaction ends). */
export async function lockQueue(tx: DbOrTx): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${QUEUE_LOCK_KEY})`);
}

export async function insertJob(tx: DbOrTx, row: NewJob): Promise<number> {
  const [r] = await tx.insert(jobs).values(row).returning({ id: jobs.id });
  return r!.id;
}

/**
 * Update one job; `fence` adds conditions (e.g. still running on this worker). Returns the updated row, or null when
 * the job did not match.
 */
export async function updateJob(
  db: DbOrTx,
  jobId: number,
  patch: JobPatch,
  fence: { status?: JobStatus; workerId?: string } = {},
): Promise<JobRow | null> {
  const conds = [eq(jobs.id, jobId)];
  if (fence.status) conds.push(eq(jobs.status, fence.status));
  if (fence.workerId !== undefined) conds.push(eq(jobs.workerId, fence.workerId));
  const [row] = await db
    .update(jobs)
    .set(patch as Partial<NewJob>)
    .where(and(...conds))
    .returning();
  return row ?? null;
}

/** `event_seq + 1`; returns the new sequence number (null when the job is gone). */
export async function bumpEventSeq(tx: DbOrTx, jobId: number): Promise<number | null> {
  const [row] = await tx
    .update(jobs)
    .set({ eventSeq: sql`${jobs.eventSeq} + 1`, updatedAt: NOW })
    .where(eq(jobs.id, jobId))
    .returning({ seq: jobs.eventSeq });
  return row?.seq ?? null;
}

export async function notify(tx: DbOrTx, channel: string, payload: string): Promise<void> {
  await tx.execute(sql`SELECT pg_notify(${channel}, ${payload})`);
}

/** The user's jobs held by the circuit breaker, in dispatch order, locked. */
export function heldJobsOfUser(tx: DbOrTx, userId: number): Promise<JobRow[]> {
  return tx
    .select()
    .from(jobs)
    .where(and(eq(jobs.userId, userId), eq(jobs.status, 'queued'), isNotNull(jobs.holdReason)))
    .orderBy(desc(jobs.priority), asc(jobs.createdAt), asc(jobs.id))
    .for('update');
}

/** Stages at which the trainer has started (a job cancelled there keeps its charge). */
const TRAINED_STAGES = ['training', 'evaluating', 'exporting', 'done'] as const;

/**
 * Mark a job refunded if it never reached the trainer and was not refunded before; returns what to refund.
 */
export async function claimUntrainedRefund(tx: DbOrTx, jobId: number) {
  const [row] = await tx
    .update(jobs)
    .set({ usageRefunded: true })
    .where(
      and(
        eq(jobs.id, jobId),
        eq(jobs.usageRefunded, false),
        isNull(jobs.epoch),
        notInArray(jobs.stage, [...TRAINED_STAGES]),
      ),
    )
    .returning({ userId: jobs.userId, usagePeriodStart: jobs.usagePeriodStart });
  return row ?? null;
}

/**
 * Running jobs whose worker stopped heartbeating for `staleSeconds`, or that started more than `hardSeconds` ago;
 * locked, skipping rows another reaper holds.
 */
export function staleRunningJobs(tx: DbOrTx, staleSeconds: number, hardSeconds: number): Promise<JobRow[]> {
  return tx
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.status, 'running'),
        or(lt(jobs.heartbeatAt, nowMinus(staleSeconds)), lt(jobs.startedAt, nowMinus(hardSeconds))),
      ),
    )
    .orderBy(asc(jobs.id))
    .for('update', { skipLocked: true })
    .limit(100);
}

// ---- circuit_breakers ---------------------------------------------------------------------------------------------

export async function breakerOf(db: DbOrTx, userId: number): Promise<BreakerRow | null> {
  const [row] = await db.select().from(circuitBreakers).where(eq(circuitBreakers.userId, userId));
  return row ?? null;
}

const CLOSED = { consecutiveFailures: 0, paused: false, nextAttemptAt: null, pauseReason: null } as const;

/** Close the user's breaker if it exists (resume). */
export async function resetBreaker(tx: DbOrTx, userId: number): Promise<void> {
  await tx
    .update(circuitBreakers)
    .set({ ...CLOSED, updatedAt: NOW })
    .where(eq(circuitBreakers.userId, userId));
}

/** Close the user's breaker, creating it (a job completed). */
export async function closeBreaker(tx: DbOrTx, userId: number): Promise<void> {
  await tx
    .insert(circuitBreakers)
    .values({ userId })
    .onConflictDoUpdate({ target: circuitBreakers.userId, set: { ...CLOSED, updatedAt: NOW } });
}

/**
 * Count one more consecutive failure: at `threshold` failures the breaker pauses the user's queue, below it the next
 * job waits `backoffSeconds`.
 */
export async function recordFailure(
  tx: DbOrTx,
  userId: number,
  error: string,
  threshold: number,
  backoffSeconds: number,
): Promise<void> {
  const failures = sql`${circuitBreakers.consecutiveFailures} + 1`;
  await tx
    .insert(circuitBreakers)
    .values({
      userId,
      consecutiveFailures: 1,
      lastFailureAt: NOW,
      pauseReason: error,
      paused: threshold <= 1,
      nextAttemptAt: threshold <= 1 ? null : nowPlus(backoffSeconds),
    })
    .onConflictDoUpdate({
      target: circuitBreakers.userId,
      set: {
        consecutiveFailures: failures,
        lastFailureAt: NOW,
        pauseReason: error,
        paused: sql`${failures} >= ${threshold}`,
        nextAttemptAt: sql`CASE WHEN ${failures} >= ${threshold} THEN NULL ELSE ${nowPlus(backoffSeconds)} END`,
        updatedAt: NOW,
      },
    });
}

// ---- housekeeping and health (ops calls these through training's service) ---------------------------------------

/** Ids of the recordings queued or running jobs train from. */
export async function recordingIdsOfActiveJobs(db: DbOrTx): Promise<number[]> {
  const rows = await db
    .select({ id: sql<number>`unnest(${jobs.recordingIds})` })
    .from(jobs)
    .where(inArray(jobs.status, ['queued', 'running']));
  return [...new Set(rows.map((r) => Number(r.id)))];
}

/** Ids of the recordings whose last completed job completed before `cutoff`. */
export async function recordingIdsLastTrainedBefore(db: DbOrTx, cutoff: Date): Promise<number[]> {
  const used = db
    .select({ id: sql<number>`unnest(${jobs.recordingIds})`.as('id'), completedAt: jobs.completedAt })
    .from(jobs)
    .where(eq(jobs.status, 'completed'))
    .as('used');
  const rows = await db
    .select({ id: used.id })
    .from(used)
    .groupBy(used.id)
    .having(sql`max(${used.completedAt}) < ${cutoff}`);
  return rows.map((r) => Number(r.id));
}

/** Delete completed, failed and cancelled jobs created before `cutoff`. */
export async function deleteTerminalJobsCreatedBefore(db: DbOrTx, cutoff: Date): Promise<void> {
  await db
    .delete(jobs)
    .where(and(inArray(jobs.status, ['completed', 'failed', 'cancelled']), lt(jobs.createdAt, cutoff)));
}

/** Jobs per status. */
export function jobCountsByStatus(db: DbOrTx) {
  return db.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status);
}

/** The queue at a glance: dispatchable, running and held jobs, the oldest queued job's age, live workers. */
export async function queueStats(db: DbOrTx) {
  const [row] = await db
    .select({
      queued: sql<number>`(count(*) FILTER (WHERE ${jobs.status} = 'queued' AND ${jobs.holdReason} IS NULL))::int`,
      running: sql<number>`(count(*) FILTER (WHERE ${jobs.status} = 'running'))::int`,
      held: sql<number>`(count(*) FILTER (WHERE ${jobs.status} = 'queued' AND ${jobs.holdReason} IS NOT NULL))::int`,
      oldest: sql<
        number | null
      >`extract(epoch FROM now() - min(${jobs.createdAt}) FILTER (WHERE ${jobs.status} = 'queued'))::float8`,
      workers: sql<number>`(count(DISTINCT ${jobs.workerId}) FILTER (WHERE ${jobs.status} = 'running'))::int`,
    })
    .from(jobs);
  return {
    queued: Number(row?.queued ?? 0),
    running: Number(row?.running ?? 0),
    held: Number(row?.held ?? 0),
    oldest: row?.oldest == null ? null : Number(row.oldest),
    workers: Number(row?.workers ?? 0),
  };
}
