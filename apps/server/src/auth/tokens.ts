/**
 * Credentials of docs/api.md §4.1: access JWTs (HS256, `typ: "access"`, `jti`, `ver`), the other JWT types (email
 * verification, password reset) each with their own `typ`, personal API keys (`vw_…`, stored as SHA-256) and
 * single-use download tokens (stored as SHA-256, consumed by one atomic UPDATE).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { AppContext } from '../core/context.ts';
import type { DbOrTx } from '../core/db/client.ts';
import { HttpError } from '../core/http/errors.ts';
import * as q from './queries.ts';
import type { DownloadAction } from './schemas.ts';

export type JwtType = 'access' | 'verify_email' | 'reset_password';

export const INVALID_TOKEN = 'Invalid or expired token';
export const NOT_AUTHENTICATED = 'Not authenticated';

const CLOCK_SKEW_SECONDS = 30;
export const VERIFY_EMAIL_TTL_SECONDS = 48 * 3600;
export const RESET_PASSWORD_TTL_SECONDS = 2 * 3600;
export const DOWNLOAD_TOKEN_TTL_SECONDS = 60;

const keys = new WeakMap<object, Uint8Array>();
function signingKey(ctx: AppContext): Uint8Array {
  let k = keys.get(ctx.config);
  if (!k) {
    k = new TextEncoder().encode(ctx.config.secretKey);
    keys.set(ctx.config, k);
  }
  return k;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export interface SignedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

/** Sign a JWT of the given type with `sub`, `iat`, `exp`, `jti`, `typ` and extra claims, timed by `ctx.clock`. */
export async function signJwt(
  ctx: AppContext,
  typ: JwtType,
  userId: number,
  ttlSeconds: number,
  claims: Record<string, unknown> = {},
): Promise<SignedToken> {
  const iat = Math.floor(ctx.clock.now().getTime() / 1000);
  const exp = iat + Math.round(ttlSeconds);
  const jti = randomUUID();
  const token = await new SignJWT({ ...claims, typ })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(userId))
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(signingKey(ctx));
  return { token, jti, expiresAt: new Date(exp * 1000) };
}

export interface VerifiedJwt {
  userId: number;
  jti: string;
  exp: Date;
  claims: Record<string, unknown>;
}

/**
 * Verify a JWT: HS256 only, signature, `exp` (30 s skew, on `ctx.clock`) and exactly the expected `typ`.
 * Returns null for anything unusable; library errors never escape.
 */
export async function verifyJwt(ctx: AppContext, token: string, typ: JwtType): Promise<VerifiedJwt | null> {
  try {
    const { payload } = await jwtVerify(token, signingKey(ctx), {
      algorithms: ['HS256'],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: ctx.clock.now(),
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
    });
    if (payload.typ !== typ) return null;
    if (typeof payload.sub !== 'string' || !/^[1-9]\d{0,15}$/.test(payload.sub)) return null;
    if (typeof payload.jti !== 'string' || typeof payload.exp !== 'number') return null;
    return {
      userId: Number(payload.sub),
      jti: payload.jti,
      exp: new Date(payload.exp * 1000),
      claims: payload,
    };
  } catch {
    return null;
  }
}

/** A new access token for a user at its current token version. */
export async function signAccessToken(
  ctx: AppContext,
  user: { id: number; tokenVersion: number },
): Promise<SignedToken> {
  return signJwt(ctx, 'access', user.id, ctx.config.accessTokenExpireHours * 3600, {
    ver: user.tokenVersion,
  });
}

export async function signVerifyEmailToken(
  ctx: AppContext,
  user: { id: number; email: string },
): Promise<SignedToken> {
  return signJwt(ctx, 'verify_email', user.id, VERIFY_EMAIL_TTL_SECONDS, { email: user.email });
}

export async function signResetPasswordToken(
  ctx: AppContext,
  user: { id: number; tokenVersion: number },
): Promise<SignedToken> {
  return signJwt(ctx, 'reset_password', user.id, RESET_PASSWORD_TTL_SECONDS, { ver: user.tokenVersion });
}

// ---- personal API keys ----

export const API_KEY_PREFIX = 'vw_';

export function isApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}

/** `vw_` + 43 base64url characters (32 random bytes); `prefix` is its first 11 characters. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${API_KEY_PREFIX}${randomToken(32)}`;
  return { key, prefix: key.slice(0, 11), hash: sha256Hex(key) };
}

// ---- download / stream tokens ----

export type { DownloadAction };

/** Mint a single-use token valid 60 s for one action on one resource (visibility is checked by the caller). */
export async function mintDownloadToken(
  ctx: AppContext,
  db: DbOrTx,
  userId: number,
  action: DownloadAction,
  resourceId: number,
): Promise<string> {
  const token = randomToken(32);
  const now = ctx.clock.now();
  await q.insertDownloadToken(db, {
    tokenHash: sha256Hex(token),
    userId,
    action,
    resourceId,
    expiresAt: new Date(now.getTime() + DOWNLOAD_TOKEN_TTL_SECONDS * 1000),
    createdAt: now,
  });
  return token;
}

/**
 * Consume a download token with one atomic UPDATE (works across processes): the hash, action and resource must
 * match, unused and unexpired. Returns the user id; 401 "Invalid or expired token" otherwise.
 */
export async function consumeDownloadToken(
  ctx: AppContext,
  token: string,
  action: DownloadAction,
  resourceId: number,
): Promise<number> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 200)
    throw new HttpError(401, INVALID_TOKEN);
  const now = ctx.clock.now();
  const userId = await q.consumeDownloadToken(ctx.db, sha256Hex(token), action, resourceId, now);
  if (userId === null) throw new HttpError(401, INVALID_TOKEN);
  return userId;
}
