/** Response shapes of the ViolaWake API (docs/api.md §2.1). Unknown extra fields are ignored. */

export interface AuthUser {
  id: number;
  email: string;
  name: string;
  email_verified: boolean;
}

export interface AuthResponse {
  token: string;
  token_type: 'bearer';
  expires_at: string;
  user: AuthUser;
}

export interface UserOut extends AuthUser {
  created_at: string;
}

export interface ApiKeyOut {
  id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

export interface ApiKeyCreated extends ApiKeyOut {
  key: string;
}

export interface UploadWarning {
  code: string;
  message: string;
  value: number | null;
}

export interface UploadResponse {
  recording_id: number;
  filename: string;
  wake_word: string;
  duration_s: number;
  take_number: number | null;
  warnings: UploadWarning[];
}

export type TrainingStatusValue = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type Stage =
  | 'queued'
  | 'preparing'
  | 'synthesizing'
  | 'extracting'
  | 'training'
  | 'evaluating'
  | 'exporting'
  | 'done';

export interface TrainingStatus {
  job_id: number;
  status: TrainingStatusValue;
  progress: number;
  d_prime: number | null;
  model_id: number | null;
  error: string | null;
  stage: Stage | null;
  message: string | null;
  epoch: number | null;
  total_epochs: number | null;
  queue_position: number | null;
  quality_grade: string | null;
  error_code: string | null;
  /** Present on stream events only. */
  train_loss?: number | null;
  val_loss?: number | null;
}

export interface JobResponse {
  job_id: number;
  user_id: number;
  wake_word: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  error: string | null;
  progress_pct: number;
  d_prime: number | null;
  model_id: number | null;
  stage: Stage | null;
  error_code: string | null;
  quality_grade: string | null;
  queue_position: number | null;
  epochs: number;
  attempts: number;
  cancel_requested: boolean;
}

export interface BreakerState {
  consecutive_failures: number;
  paused: boolean;
  next_attempt_at: string | null;
  last_failure_at: string | null;
  pause_reason: string | null;
}

export interface ModelSummary {
  id: number;
  wake_word: string;
  d_prime: number | null;
  created_at: string;
  size_bytes: number;
  team_id: number | null;
  shared: boolean;
  owner_id: number;
  quality_grade: string | null;
  threshold: number | null;
  eer: number | null;
}

export interface Manifest {
  schema?: string;
  name?: string;
  wake_word?: string;
  threshold?: number;
  detection?: { patience?: number; refractory_s?: number; vad_threshold?: number | null };
  frontend?: { mel_sha256?: string; embedding_sha256?: string; package?: string };
  model_sha256?: string;
  metrics?: Record<string, number | string | null>;
  training?: Record<string, number | string | null>;
  [key: string]: unknown;
}

export interface ModelConfig {
  d_prime: number | null;
  far_per_hour: number | null;
  frr: number | null;
  threshold: number | null;
  eer: number | null;
  auc: number | null;
  miss_rate_at_target: number | null;
  target_fa_per_hour: number | null;
  quality_grade: string | null;
  /** The model's one name: download file stem, manifest `name`, openWakeWord key. */
  name: string;
  /** Why the model has no TFLite file, when known. */
  tflite_error: string | null;
  training_config: Manifest | null;
}

export interface ModelPerformance {
  model_name: string;
  cohen_d: number | null;
  d_prime: number | null;
  threshold: number | null;
  file_size: number;
  created_at: string;
  positive_scores: number[] | null;
  negative_scores: number[] | null;
  evaluation_available: boolean;
  evaluation_data: {
    eer: number | null;
    auc: number | null;
    far_per_hour: number | null;
    frr: number | null;
    miss_rate_at_target: number | null;
    target_fa_per_hour: number | null;
    quality_grade: string | null;
    eval_positive_count: number | null;
    eval_negative_count: number | null;
    eval_negative_hours: number | null;
  } | null;
}

export interface Usage {
  models_used: number;
  models_limit: number | null;
  /** null = unlimited; 0 = none left this month (or a limit of 0) */
  models_remaining: number | null;
  period_start: string;
  period_end: string;
}

export type Tier = 'free' | 'developer' | 'business' | 'enterprise';

export interface Subscription {
  tier: Tier;
  effective_tier: Tier;
  status: string;
  stripe_status: string | null;
  current_period_end: string | null;
  trial_active: boolean;
  trial_end: string | null;
  cancel_at_period_end: boolean;
  usage: Usage;
}

export interface TeamSummary {
  id: number;
  name: string;
  created_at: string;
  owner_id: number;
  member_count: number;
  my_role: TeamRole;
}

export type TeamRole = 'owner' | 'admin' | 'member';

export interface TeamMember {
  user_id: number;
  email: string;
  name: string;
  role: TeamRole;
  invited_at: string;
  joined_at: string;
}

export interface TeamResponse {
  id: number;
  name: string;
  created_at: string;
  owner_id: number;
  my_role: TeamRole;
  members: TeamMember[];
}

export interface InvitationOut {
  id: number;
  team_id: number;
  email: string;
  role: TeamRole;
  invited_by: number | null;
  created_at: string;
  expires_at: string;
}

export interface Message {
  message: string;
}

export interface RecordingOut {
  id: number;
  wake_word: string;
  filename: string;
  duration_s: number;
  created_at: string;
}
