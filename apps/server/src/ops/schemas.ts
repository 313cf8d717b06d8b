/**
 * The ops domain's contract (docs/api.md §2.9): the health summary and the cleanup result, with the types the
 * health and retention code returns inferred from them.
 */
import { z } from 'zod';

export const HealthSummary = z.object({
  status: z.enum(['ok', 'degraded', 'error']),
  uptime_s: z.number(),
  ready: z.boolean(),
  version: z.string(),
});

export const CleanupResult = z.object({
  soft_deleted_recordings_purged: z.number(),
  trained_recordings_deleted: z.number(),
  recordings_deleted: z.number(),
  models_deleted: z.number(),
  tokens_purged: z.number(),
  invitations_purged: z.number(),
  outbox_purged: z.number(),
  stripe_events_purged: z.number(),
});

export type HealthSummary = z.output<typeof HealthSummary>;
export type CleanupResult = z.output<typeof CleanupResult>;
