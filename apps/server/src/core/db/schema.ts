/**
 * The whole data model of docs/data-model.md, one schema for PostgreSQL and PGlite. Later changes only by a new migration
 * (`npm run db:generate -w apps/server` after editing this file).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  char,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  smallint,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';

const id = () => bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity();
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
const ts = (name: string) => timestamp(name, { withTimezone: true });
const userRef = (name = 'user_id') => bigint(name, { mode: 'number' });
const inList = (column: string, values: readonly (string | number)[]) =>
  sql.raw(`${column} IN (${values.map((v) => (typeof v === 'number' ? String(v) : `'${v}'`)).join(', ')})`);

export const users = pgTable(
  'users',
  {
    id: id(),
    email: text('email').notNull().unique(),
    passwordHash: text('password_hash').notNull(),
    name: varchar('name', { length: 255 }).notNull(),
    emailVerified: boolean('email_verified').notNull().default(false),
    emailVerifiedAt: ts('email_verified_at'),
    tokenVersion: integer('token_version').notNull().default(0),
    failedLoginCount: integer('failed_login_count').notNull().default(0),
    lockedUntil: ts('locked_until'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check('users_email_lower', sql`${t.email} = lower(${t.email})`)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    userId: userRef()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: varchar('name', { length: 100 }).notNull(),
    prefix: varchar('prefix', { length: 16 }).notNull(),
    keyHash: char('key_hash', { length: 64 }).notNull().unique(),
    lastUsedAt: ts('last_used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('api_keys_user_id_idx').on(t.userId)],
);

export const revokedTokens = pgTable(
  'revoked_tokens',
  {
    jti: uuid('jti').primaryKey(),
    userId: userRef()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: ts('expires_at').notNull(),
    revokedAt: ts('revoked_at').notNull().defaultNow(),
  },
  (t) => [index('revoked_tokens_expires_at_idx').on(t.expiresAt)],
);

export const DOWNLOAD_ACTIONS = ['model_download', 'training_stream'] as const;
export const downloadTokens = pgTable(
  'download_tokens',
  {
    id: id(),
    tokenHash: char('token_hash', { length: 64 }).notNull().unique(),
    userId: userRef()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    action: text('action', { enum: DOWNLOAD_ACTIONS }).notNull(),
    resourceId: bigint('resource_id', { mode: 'number' }).notNull(),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('download_tokens_expires_at_idx').on(t.expiresAt),
    check('download_tokens_action_check', inList('action', DOWNLOAD_ACTIONS)),
  ],
);

export const EMAIL_TEMPLATES = [
  'verify_email',
  'password_reset',
  'welcome',
  'team_invite',
  'training_complete',
  'quota_warning',
  'trial_will_end',
  'payment_failed',
] as const;
export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'failed'] as const;
export const emailOutbox = pgTable(
  'email_outbox',
  {
    id: id(),
    toAddress: text('to_address').notNull(),
    userId: userRef().references(() => users.id, { onDelete: 'set null' }),
    template: text('template', { enum: EMAIL_TEMPLATES }).notNull(),
    payload: jsonb('payload').notNull().$type<Record<string, unknown>>(),
    dedupeKey: text('dedupe_key').unique(),
    status: text('status', { enum: OUTBOX_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lockedUntil: ts('locked_until'),
    sentAt: ts('sent_at'),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [
    index('email_outbox_due_idx').on(t.nextAttemptAt).where(sql`status IN ('pending', 'sending')`),
    index('email_outbox_user_id_idx').on(t.userId),
    check('email_outbox_template_check', inList('template', EMAIL_TEMPLATES)),
    check('email_outbox_status_check', inList('status', OUTBOX_STATUSES)),
    check('email_outbox_last_error_len', sql`last_error IS NULL OR char_length(last_error) <= 1000`),
  ],
);

export const SOURCE_FORMATS = ['wav', 'webm', 'ogg'] as const;
export const recordings = pgTable(
  'recordings',
  {
    id: id(),
    userId: userRef()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    wakeWord: varchar('wake_word', { length: 64 }).notNull(),
    /** BCP-47 language the wake word is said in (docs/languages.md). */
    language: varchar('language', { length: 16 }).notNull().default('en'),
    filename: varchar('filename', { length: 255 }).notNull(),
    storageKey: text('storage_key').notNull().unique(),
    sourceFormat: text('source_format', { enum: SOURCE_FORMATS }).notNull(),
    durationS: real('duration_s').notNull(),
    sampleRate: integer('sample_rate').notNull().default(16000),
    sizeBytes: integer('size_bytes').notNull(),
    /** The take number the user saw when recording (the record page's 1–10); null for uploads without one. */
    takeNumber: smallint('take_number'),
    deletedAt: ts('deleted_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('recordings_user_word_idx')
      .on(t.userId, t.wakeWord, t.createdAt.desc())
      .where(sql`deleted_at IS NULL`),
    index('recordings_deleted_at_idx').on(t.deletedAt).where(sql`deleted_at IS NOT NULL`),
    index('recordings_created_at_idx').on(t.createdAt),
    check('recordings_source_format_check', inList('source_format', SOURCE_FORMATS)),
    check('recordings_duration_check', sql`duration_s >= 0.5 AND duration_s <= 5.0`),
    check('recordings_sample_rate_check', sql`sample_rate = 16000`),
    check(
      'recordings_take_number_check',
      sql`take_number IS NULL OR (take_number >= 1 AND take_number <= 100)`,
    ),
  ],
);

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export const JOB_STAGES = [
  'queued',
  'preparing',
  'synthesizing',
  'extracting',
  'training',
  'evaluating',
  'exporting',
  'done',
] as const;
export const JOB_ERROR_CODES = [
  'cancelled',
  'quality_gate',
  'timeout',
  'worker_lost',
  'insufficient_data',
  'internal',
] as const;
export const QUALITY_GRADES = ['A', 'B', 'C', 'D', 'F'] as const;
export const HOLD_REASONS = ['breaker_backoff', 'breaker_paused'] as const;
export const TIER_PRIORITIES = [0, 10, 20, 30] as const;

export const trainedModels = pgTable(
  'trained_models',
  {
    id: id(),
    userId: userRef()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    teamId: bigint('team_id', { mode: 'number' }).references(() => teams.id, { onDelete: 'set null' }),
    jobId: bigint('job_id', { mode: 'number' }),
    wakeWord: varchar('wake_word', { length: 64 }).notNull(),
    /** BCP-47 language the model was trained in (docs/languages.md). */
    language: varchar('language', { length: 16 }).notNull().default('en'),
    storageKey: text('storage_key').notNull().unique(),
    manifestKey: text('manifest_key').notNull().unique(),
    sizeBytes: integer('size_bytes').notNull(),
    threshold: real('threshold'),
    dPrime: doublePrecision('d_prime'),
    eer: doublePrecision('eer'),
    auc: doublePrecision('auc'),
    missRateAtTarget: doublePrecision('miss_rate_at_target'),
    targetFaPerHour: real('target_fa_per_hour'),
    qualityGrade: char('quality_grade', { length: 1 }),
    metrics: jsonb('metrics').notNull().default({}).$type<Record<string, unknown>>(),
    configJson: jsonb('config_json').notNull().default({}).$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    index('trained_models_user_idx').on(t.userId, t.createdAt.desc()),
    index('trained_models_team_idx').on(t.teamId).where(sql`team_id IS NOT NULL`),
    index('trained_models_created_at_idx').on(t.createdAt),
    check(
      'trained_models_grade_check',
      sql`quality_grade IS NULL OR ${inList('quality_grade', QUALITY_GRADES)}`,
    ),
  ],
);

export const trainingJobs = pgTable(
  'training_jobs',
  {
    id: id(),
    userId: userRef()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    wakeWord: varchar('wake_word', { length: 64 }).notNull(),
    /** BCP-47 language the job trains in (docs/languages.md). */
    language: varchar('language', { length: 16 }).notNull().default('en'),
    epochs: integer('epochs').notNull().default(80),
    recordingIds: bigint('recording_ids', { mode: 'number' }).array().notNull(),
    /** The corrected pronunciation the job trains on ({sounds_like} or {phonemes}); null: as spelled. */
    pronunciation: jsonb('pronunciation').$type<{ sounds_like?: string; phonemes?: string }>(),
    priority: smallint('priority').notNull(),
    requestId: text('request_id'),
    status: text('status', { enum: JOB_STATUSES }).notNull().default('queued'),
    stage: text('stage', { enum: JOB_STAGES }).notNull().default('queued'),
    progress: real('progress').notNull().default(0),
    epoch: integer('epoch'),
    totalEpochs: integer('total_epochs'),
    trainLoss: doublePrecision('train_loss'),
    valLoss: doublePrecision('val_loss'),
    message: text('message'),
    error: text('error'),
    errorCode: text('error_code', { enum: JOB_ERROR_CODES }),
    eventSeq: integer('event_seq').notNull().default(0),
    startedAt: ts('started_at'),
    completedAt: ts('completed_at'),
    modelId: bigint('model_id', { mode: 'number' }).references(() => trainedModels.id, {
      onDelete: 'set null',
    }),
    dPrime: doublePrecision('d_prime'),
    qualityGrade: char('quality_grade', { length: 1 }),
    bossJobId: uuid('boss_job_id'),
    holdReason: text('hold_reason', { enum: HOLD_REASONS }),
    notBefore: ts('not_before'),
    attempts: smallint('attempts').notNull().default(0),
    workerId: text('worker_id'),
    heartbeatAt: ts('heartbeat_at'),
    cancelRequestedAt: ts('cancel_requested_at'),
    usagePeriodStart: ts('usage_period_start').notNull(),
    usageRefunded: boolean('usage_refunded').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('training_jobs_user_idx').on(t.userId, t.createdAt.desc()),
    index('training_jobs_dispatch_idx').on(t.priority.desc(), t.createdAt).where(sql`status = 'queued'`),
    index('training_jobs_heartbeat_idx').on(t.heartbeatAt).where(sql`status = 'running'`),
    index('training_jobs_recordings_idx')
      .using('gin', t.recordingIds)
      .where(sql`status IN ('queued', 'running')`),
    check('training_jobs_epochs_check', sql`epochs >= 5 AND epochs <= 500`),
    check('training_jobs_priority_check', inList('priority', TIER_PRIORITIES)),
    check('training_jobs_status_check', inList('status', JOB_STATUSES)),
    check('training_jobs_stage_check', inList('stage', JOB_STAGES)),
    check('training_jobs_progress_check', sql`progress >= 0 AND progress <= 100`),
    check(
      'training_jobs_error_code_check',
      sql`error_code IS NULL OR ${inList('error_code', JOB_ERROR_CODES)}`,
    ),
    check(
      'training_jobs_grade_check',
      sql`quality_grade IS NULL OR ${inList('quality_grade', QUALITY_GRADES)}`,
    ),
    check(
      'training_jobs_hold_reason_check',
      sql`hold_reason IS NULL OR ${inList('hold_reason', HOLD_REASONS)}`,
    ),
  ],
);

export const TIERS = ['free', 'developer', 'business', 'enterprise'] as const;
export const STRIPE_STATUSES = [
  'active',
  'trialing',
  'past_due',
  'unpaid',
  'incomplete',
  'incomplete_expired',
  'canceled',
  'paused',
] as const;
export const subscriptions = pgTable(
  'subscriptions',
  {
    id: id(),
    userId: userRef()
      .notNull()
      .unique()
      .references(() => users.id, { onDelete: 'cascade' }),
    tier: text('tier', { enum: TIERS }).notNull().default('free'),
    status: text('status', { enum: STRIPE_STATUSES }).notNull().default('active'),
    stripeCustomerId: text('stripe_customer_id').unique(),
    stripeSubscriptionId: text('stripe_subscription_id').unique(),
    stripePriceId: text('stripe_price_id'),
    currentPeriodEnd: ts('current_period_end'),
    trialEnd: ts('trial_end'),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    trialConsumed: boolean('trial_consumed').notNull().default(false),
    stripeEventCreated: ts('stripe_event_created'),
    /** The user's last Checkout Session (one open session per user: reused or expired, never a second one). */
    stripeCheckoutSessionId: text('stripe_checkout_session_id'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  () => [
    check('subscriptions_tier_check', inList('tier', TIERS)),
    check('subscriptions_status_check', inList('status', STRIPE_STATUSES)),
  ],
);

export const usageRecords = pgTable(
  'usage_records',
  {
    id: id(),
    userId: userRef()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    action: text('action').notNull(),
    periodStart: ts('period_start').notNull(),
    count: integer('count').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('uq_usage_user_action_period').on(t.userId, t.action, t.periodStart),
    check('usage_records_action_check', sql`action = 'training_job'`),
    check('usage_records_count_check', sql`count >= 0`),
  ],
);

export const processedStripeEvents = pgTable(
  'processed_stripe_events',
  {
    eventId: text('event_id').primaryKey(),
    eventType: text('event_type').notNull(),
    processedAt: ts('processed_at').notNull().defaultNow(),
  },
  (t) => [index('processed_stripe_events_processed_at_idx').on(t.processedAt)],
);

export const circuitBreakers = pgTable('circuit_breakers', {
  userId: userRef()
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  paused: boolean('paused').notNull().default(false),
  nextAttemptAt: ts('next_attempt_at'),
  lastFailureAt: ts('last_failure_at'),
  pauseReason: text('pause_reason'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const teams = pgTable(
  'teams',
  {
    id: id(),
    name: varchar('name', { length: 255 }).notNull(),
    ownerId: userRef('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('teams_owner_id_idx').on(t.ownerId)],
);

export const TEAM_ROLES = ['owner', 'admin', 'member'] as const;
export const teamMembers = pgTable(
  'team_members',
  {
    id: id(),
    teamId: bigint('team_id', { mode: 'number' })
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    userId: userRef()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: TEAM_ROLES }).notNull(),
    invitedAt: ts('invited_at').notNull(),
    joinedAt: ts('joined_at').notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('uq_team_member').on(t.teamId, t.userId),
    uniqueIndex('uq_team_owner').on(t.teamId).where(sql`role = 'owner'`),
    index('team_members_user_id_idx').on(t.userId),
    check('team_members_role_check', inList('role', TEAM_ROLES)),
  ],
);

export const INVITE_ROLES = ['admin', 'member'] as const;
export const teamInvitations = pgTable(
  'team_invitations',
  {
    id: id(),
    teamId: bigint('team_id', { mode: 'number' })
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role', { enum: INVITE_ROLES }).notNull(),
    tokenHash: char('token_hash', { length: 64 }).notNull().unique(),
    invitedBy: userRef('invited_by').references(() => users.id, { onDelete: 'set null' }),
    expiresAt: ts('expires_at').notNull(),
    acceptedAt: ts('accepted_at'),
    acceptedBy: userRef('accepted_by').references(() => users.id, { onDelete: 'set null' }),
    revokedAt: ts('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('uq_team_invitation_pending')
      .on(t.teamId, t.email)
      .where(sql`accepted_at IS NULL AND revoked_at IS NULL`),
    index('team_invitations_expires_at_idx').on(t.expiresAt),
    check('team_invitations_role_check', inList('role', INVITE_ROLES)),
  ],
);
