/**
 * Named response shapes of the ViolaWake API (docs/api.md §2.1), taken from the types generated from the server's
 * OpenAPI document (`./generated.ts`, `npm run gen:api-types`). Nothing here is written by hand: a shape changes
 * when a route schema in apps/server/src changes, and a change that breaks a page fails `npm run typecheck`.
 * Unknown extra fields are ignored by the pages.
 */
import type { paths } from './generated.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
/** The JSON body of the `status` answer of `method path`. */
export type ResponseOf<P extends keyof paths, M extends Method & keyof paths[P], S extends number = 200> =
  NonNullable<paths[P][M]> extends { responses: infer R }
    ? S extends keyof R
      ? JsonOf<R[S]>
      : never
    : never;
/** The JSON request body of `method path`. */
export type RequestOf<P extends keyof paths, M extends Method & keyof paths[P]> =
  NonNullable<paths[P][M]> extends { requestBody?: infer B } ? JsonOf<NonNullable<B>> : never;

export type AuthResponse = ResponseOf<'/api/auth/login', 'post'>;
export type AuthUser = AuthResponse['user'];
export type UserOut = ResponseOf<'/api/auth/me', 'get'>;
export type ApiKeyOut = ResponseOf<'/api/auth/api-keys', 'get'>[number];
export type ApiKeyCreated = ResponseOf<'/api/auth/api-keys', 'post', 201>;

export type UploadResponse = ResponseOf<'/api/recordings/upload', 'post'>;
export type UploadWarning = UploadResponse['warnings'][number];
export type RecordingOut = ResponseOf<'/api/recordings', 'get'>[number];

/** GET /api/languages (docs/languages.md). */
export type LanguageList = ResponseOf<'/api/languages', 'get'>;
export type LanguageInfo = LanguageList['languages'][number];

export type TrainingRequest = RequestOf<'/api/jobs', 'post'>;
/** The status view (`GET /api/training/status/{id}`), also the payload of the SSE stream's `training` events. */
export type TrainingStatus = ResponseOf<'/api/training/status/{job_id}', 'get'>;
export type BankSetupStatus = ResponseOf<'/api/training/bank', 'get'>;
export type TrainingStatusValue = TrainingStatus['status'];
export type Stage = TrainingStatus['stage'];
export type JobResponse = ResponseOf<'/api/jobs/{job_id}', 'get'>;
export type BreakerState = ResponseOf<'/api/jobs/circuit-breaker/state', 'get'>;

export type ModelSummary = ResponseOf<'/api/models', 'get'>[number];
export type ModelConfig = ResponseOf<'/api/models/{model_id}/config', 'get'>;
/** The model's manifest as served (`training_config`): typed where pages read it, other fields pass through. */
export type Manifest = ModelConfig['training_config'];
export type ModelPerformance = ResponseOf<'/api/models/{model_id}/performance', 'get'>;
/** The FA/h a model states, with hours, count, resolution and 95 % interval (docs/engine.md, "Honest metrics"). */
export type FalseAccepts = NonNullable<NonNullable<ModelPerformance['evaluation_data']>['false_accepts']>;

export type Usage = ResponseOf<'/api/billing/usage', 'get'>;
export type Subscription = ResponseOf<'/api/billing/subscription', 'get'>;
export type Tier = Subscription['tier'];
export type Plans = ResponseOf<'/api/billing/plans', 'get'>;
export type PlanInfo = Plans['plans'][number];

export type TeamSummary = ResponseOf<'/api/teams', 'get'>[number];
export type TeamRole = TeamSummary['my_role'];
export type TeamResponse = ResponseOf<'/api/teams/{team_id}', 'get'>;
export type TeamMember = TeamResponse['members'][number];
export type InvitationOut = ResponseOf<'/api/teams/{team_id}/invitations', 'get'>[number];
/** The role an invitation can carry (never `owner`: ownership is transferred, not invited). */
export type InvitationRole = InvitationOut['role'];

export type Message = ResponseOf<'/api/auth/logout', 'post'>;
