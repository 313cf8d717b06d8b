/**
 * Authentication guards of docs/api.md §1.2: `Authorization: Bearer <access JWT | vw_ API key>`.
 * Missing header, another scheme or an empty value → 401 "Not authenticated"; a present but unusable credential →
 * 401 "Invalid or expired token" (the error handler adds `WWW-Authenticate: Bearer`).
 *
 * Use them as route hooks: `preValidation: [requireUser(ctx), rateLimit(ctx, {...})]` (runs before body validation,
 * as §1.5 wants) or `preHandler: [...]` — both work.
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { HttpError } from '../core/http/errors.ts';
import * as q from './queries.ts';
import {
  consumeDownloadToken,
  INVALID_TOKEN,
  isApiKey,
  NOT_AUTHENTICATED,
  sha256Hex,
  verifyJwt,
} from './tokens.ts';

export interface AuthUser {
  id: number;
  email: string;
  name: string;
  emailVerified: boolean;
  via: 'token' | 'api_key';
}

/** The access token the request was authenticated with (absent for API keys). */
export interface AuthSession {
  jti: string;
  exp: Date;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: AuthUser;
    authSession?: AuthSession;
    authApiKeyId?: number;
  }
}

export const VERIFY_REQUIRED =
  'Verify your email address to access recording, training, and billing features.';

/** The bearer value, or null when there is none (no header, another scheme, empty value). */
export function bearerValue(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^\s*Bearer\s+(.*)$/i.exec(header);
  if (!m) return null;
  const value = (m[1] ?? '').trim();
  return value.length > 0 ? value : null;
}

async function userForAccessToken(
  ctx: AppContext,
  token: string,
): Promise<{ user: AuthUser; session: AuthSession }> {
  const claims = await verifyJwt(ctx, token, 'access');
  if (!claims || typeof claims.claims.ver !== 'number') throw new HttpError(401, INVALID_TOKEN);
  if (!/^[0-9a-f-]{36}$/i.test(claims.jti)) throw new HttpError(401, INVALID_TOKEN);
  const row = await q.userForAccessToken(ctx.db, claims.userId, claims.jti);
  if (!row || row.tokenVersion !== claims.claims.ver || row.revoked) throw new HttpError(401, INVALID_TOKEN);
  return {
    user: { id: row.id, email: row.email, name: row.name, emailVerified: row.emailVerified, via: 'token' },
    session: { jti: claims.jti, exp: claims.exp },
  };
}

async function userForApiKey(ctx: AppContext, key: string): Promise<{ user: AuthUser; keyId: number }> {
  if (key.length > 100) throw new HttpError(401, INVALID_TOKEN);
  const found = await q.userForApiKeyHash(ctx.db, sha256Hex(key));
  if (!found) throw new HttpError(401, INVALID_TOKEN);
  const { keyId, user } = found;
  // last_used_at is written at most once a minute.
  await q.touchApiKey(ctx.db, keyId, ctx.clock.now());
  return {
    user: {
      id: user.id,
      email: user.email,
      name: user.name,
      emailVerified: user.emailVerified,
      via: 'api_key',
    },
    keyId,
  };
}

/** Resolve the request's credential; sets `request.user` (and `authSession` / `authApiKeyId`). Throws 401. */
export async function authenticate(ctx: AppContext, request: FastifyRequest): Promise<AuthUser> {
  if (request.user) return request.user;
  const value = bearerValue(request);
  if (value === null) throw new HttpError(401, NOT_AUTHENTICATED);
  if (isApiKey(value)) {
    const { user, keyId } = await userForApiKey(ctx, value);
    request.user = user;
    request.authApiKeyId = keyId;
    return user;
  }
  const { user, session } = await userForAccessToken(ctx, value);
  request.user = user;
  request.authSession = session;
  return user;
}

/** Route hook: any signed-in user (`USR`). */
export function requireUser(ctx: AppContext): preHandlerAsyncHookHandler {
  return async function requireUserHook(request) {
    await authenticate(ctx, request);
  };
}

/** Route hook: a signed-in user whose email is verified (`VER`); 403 otherwise. */
export function requireVerified(ctx: AppContext): preHandlerAsyncHookHandler {
  return async function requireVerifiedHook(request) {
    const user = await authenticate(ctx, request);
    if (!user.emailVerified) throw new HttpError(403, VERIFY_REQUIRED);
  };
}

/** The authenticated user of a request that went through `requireUser`/`requireVerified`; 401 otherwise. */
export function authUser(request: FastifyRequest): AuthUser {
  if (!request.user) throw new HttpError(401, NOT_AUTHENTICATED);
  return request.user;
}

/**
 * `DL` routes (§1.2): a present `Authorization` header wins (and an invalid one is a 401 even with a valid query
 * token); otherwise the single-use `?token=` is consumed for this action and resource. Returns the user id and how
 * it was obtained; with `via: 'header'` the caller still checks that the resource is visible to that user.
 */
export async function userForDownload(
  ctx: AppContext,
  request: FastifyRequest,
  action: 'model_download' | 'training_stream',
  resourceId: number,
): Promise<{ userId: number; via: 'header' | 'download_token' }> {
  if (request.headers.authorization !== undefined) {
    const user = await authenticate(ctx, request);
    return { userId: user.id, via: 'header' };
  }
  const q = request.query as Record<string, unknown> | undefined;
  const token = q && typeof q.token === 'string' ? q.token : null;
  if (!token) throw new HttpError(401, NOT_AUTHENTICATED);
  return { userId: await consumeDownloadToken(ctx, token, action, resourceId), via: 'download_token' };
}
