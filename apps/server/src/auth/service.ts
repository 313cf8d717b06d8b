/**
 * Accounts (docs/api.md §4.2, §4.3, §4.15): registration, login with lockout, verification, password reset and change,
 * logout, API keys and account deletion. Routes validate and authenticate; everything else happens here.
 */
import type { AppContext } from '../core/context.ts';
import type { DbOrTx } from '../core/db/client.ts';
import { discardUnsentEmails, enqueueEmail } from '../core/email/outbox.ts';
import { HttpError } from '../core/http/errors.ts';
import { getStorage } from '../core/storage/index.ts';
import { hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import * as q from './queries.ts';
import type {
  ApiKeyCreated,
  ApiKeyOut,
  AuthResponse,
  ChangePasswordOut,
  DownloadAction,
  LoginInput,
  RegisterInput,
  UserOut,
} from './schemas.ts';
import {
  DOWNLOAD_TOKEN_TTL_SECONDS,
  generateApiKey,
  INVALID_TOKEN,
  mintDownloadToken,
  signAccessToken,
  signResetPasswordToken,
  signVerifyEmailToken,
  verifyJwt,
} from './tokens.ts';

export const MSG = {
  emailTaken: 'Email already registered',
  badLogin: 'Invalid email or password',
  locked: 'Account temporarily locked. Try again later.',
  loggedOut: 'Logged out',
  apiKeyLogout: 'API keys are revoked with DELETE /api/auth/api-keys/{id}',
  loggedOutAll: 'Signed out on all devices',
  verified: 'Email verified successfully',
  userNotFound: 'User not found',
  verificationSent: 'Verification email sent',
  alreadyVerified: 'Email already verified',
  forgot: 'If an account exists for that email, a reset link has been sent.',
  resetDone: 'Password reset successfully',
  changed: 'Password changed successfully',
  wrongCurrent: 'Current password is incorrect',
  deleted: 'Account and associated data deleted.',
  subscriptionCancelFailed: 'Could not cancel the subscription with the payment provider. Try again later.',
  apiKeyLimit: 'API key limit reached',
  apiKeyNotFound: 'API key not found',
} as const;

export const API_KEY_LIMIT = 25;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);
const utcMinute = (d: Date) => d.toISOString().slice(0, 16);

async function authResponse(
  ctx: AppContext,
  user: { id: number; email: string; name: string; emailVerified: boolean; tokenVersion: number },
): Promise<AuthResponse> {
  const { token, expiresAt } = await signAccessToken(ctx, user);
  return {
    token,
    token_type: 'bearer',
    expires_at: expiresAt.toISOString(),
    user: { id: user.id, email: user.email, name: user.name, email_verified: user.emailVerified },
  };
}

/** New users are verified without email only when no real provider is configured (`log` + auto-verify). */
export function autoVerifies(ctx: AppContext): boolean {
  return ctx.config.emailProvider === 'log' && ctx.config.emailAutoVerify;
}

export async function register(ctx: AppContext, input: RegisterInput): Promise<AuthResponse> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const now = ctx.clock.now();
  const verified = autoVerifies(ctx);
  const user = await ctx.db.transaction(async (tx) => {
    const row = await q.insertUser(tx, {
      email,
      passwordHash,
      name: input.name,
      emailVerified: verified,
      emailVerifiedAt: verified ? now : null,
    });
    if (!row) throw new HttpError(409, MSG.emailTaken);
    if (verified) {
      await enqueueEmail(tx, {
        to: email,
        userId: row.id,
        template: 'welcome',
        payload: { name: row.name },
        dedupeKey: `welcome:${row.id}`,
      });
    } else {
      const { token } = await signVerifyEmailToken(ctx, row);
      await enqueueEmail(tx, {
        to: email,
        userId: row.id,
        template: 'verify_email',
        payload: { name: row.name, token },
        dedupeKey: `verify:${row.id}:${utcMinute(now)}`,
      });
    }
    return row;
  });
  return authResponse(ctx, user);
}

export async function login(ctx: AppContext, input: LoginInput): Promise<AuthResponse> {
  const email = normalizeEmail(input.email);
  const now = ctx.clock.now();
  const user = await q.userByEmail(ctx.db, email);
  if (user?.lockedUntil && user.lockedUntil.getTime() > now.getTime()) {
    const seconds = Math.max(1, Math.ceil((user.lockedUntil.getTime() - now.getTime()) / 1000));
    throw new HttpError(423, MSG.locked, { 'Retry-After': String(seconds) });
  }
  const ok = await verifyPassword(user?.passwordHash ?? null, input.password);
  if (!user) throw new HttpError(401, MSG.badLogin);
  if (!ok) {
    const max = ctx.config.loginMaxFailures;
    const lockMs = Math.round(ctx.config.loginLockoutMinutes * 60_000);
    const lockUntil = new Date(now.getTime() + lockMs);
    const locked = await q.recordLoginFailure(ctx.db, user.id, max, lockUntil);
    if (locked && lockMs > 0) {
      ctx.logger.warn({ user_id: user.id }, 'account locked after repeated login failures');
      throw new HttpError(423, MSG.locked, { 'Retry-After': String(Math.ceil(lockMs / 1000)) });
    }
    throw new HttpError(401, MSG.badLogin);
  }
  const rehash = needsRehash(user.passwordHash) ? await hashPassword(input.password) : null;
  await q.recordLoginSuccess(ctx.db, user.id, rehash ? { passwordHash: rehash, at: now } : null);
  return authResponse(ctx, user);
}

export async function me(ctx: AppContext, userId: number): Promise<UserOut> {
  const u = await q.userById(ctx.db, userId);
  if (!u) throw new HttpError(401, INVALID_TOKEN);
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    email_verified: u.emailVerified,
    created_at: iso(u.createdAt)!,
  };
}

export async function logout(
  ctx: AppContext,
  userId: number,
  session: { jti: string; exp: Date },
): Promise<void> {
  await q.revokeToken(ctx.db, {
    jti: session.jti,
    userId,
    expiresAt: session.exp,
    revokedAt: ctx.clock.now(),
  });
}

export async function logoutAll(ctx: AppContext, userId: number): Promise<void> {
  await q.bumpTokenVersion(ctx.db, userId, ctx.clock.now());
}

export async function verifyEmail(ctx: AppContext, token: string): Promise<void> {
  const claims = await verifyJwt(ctx, token, 'verify_email');
  if (!claims || typeof claims.claims.email !== 'string') throw new HttpError(400, INVALID_TOKEN);
  const user = await q.userById(ctx.db, claims.userId);
  if (!user) throw new HttpError(404, MSG.userNotFound);
  if (user.email !== claims.claims.email) throw new HttpError(400, INVALID_TOKEN);
  if (user.emailVerified) return;
  await ctx.db.transaction(async (tx) => {
    if (await q.markEmailVerified(tx, user.id, ctx.clock.now())) {
      await enqueueEmail(tx, {
        to: user.email,
        userId: user.id,
        template: 'welcome',
        payload: { name: user.name },
        dedupeKey: `welcome:${user.id}`,
      });
    }
  });
}

export async function resendVerification(ctx: AppContext, userId: number): Promise<string> {
  const user = await q.userById(ctx.db, userId);
  if (!user) throw new HttpError(401, INVALID_TOKEN);
  if (user.emailVerified) return MSG.alreadyVerified;
  const { token } = await signVerifyEmailToken(ctx, user);
  await enqueueEmail(ctx.db, {
    to: user.email,
    userId: user.id,
    template: 'verify_email',
    payload: { name: user.name, token },
    dedupeKey: `verify:${user.id}:${utcMinute(ctx.clock.now())}`,
  });
  return MSG.verificationSent;
}

export async function forgotPassword(ctx: AppContext, rawEmail: string): Promise<void> {
  const email = normalizeEmail(rawEmail);
  const user = await q.userByEmail(ctx.db, email);
  if (!user) return;
  const { token } = await signResetPasswordToken(ctx, user);
  await enqueueEmail(ctx.db, {
    to: user.email,
    userId: user.id,
    template: 'password_reset',
    payload: { name: user.name, token },
    dedupeKey: `reset:${user.id}:${utcMinute(ctx.clock.now())}`,
  });
}

export async function resetPassword(ctx: AppContext, token: string, password: string): Promise<void> {
  const claims = await verifyJwt(ctx, token, 'reset_password');
  if (!claims || typeof claims.claims.ver !== 'number') throw new HttpError(400, INVALID_TOKEN);
  const passwordHash = await hashPassword(password);
  const at = ctx.clock.now();
  if (await q.resetPasswordAtVersion(ctx.db, claims.userId, claims.claims.ver, passwordHash, at)) return;
  if (!(await q.userById(ctx.db, claims.userId))) throw new HttpError(404, MSG.userNotFound);
  throw new HttpError(400, INVALID_TOKEN);
}

export async function changePassword(
  ctx: AppContext,
  userId: number,
  current: string,
  next: string,
): Promise<ChangePasswordOut> {
  const user = await q.userById(ctx.db, userId);
  if (!user) throw new HttpError(401, INVALID_TOKEN);
  // A wrong current password does not count toward lockout.
  if (!(await verifyPassword(user.passwordHash, current))) throw new HttpError(401, MSG.wrongCurrent);
  const passwordHash = await hashPassword(next);
  const row = await q.changePassword(ctx.db, userId, passwordHash, ctx.clock.now());
  if (!row) throw new HttpError(401, INVALID_TOKEN);
  const { token, expiresAt } = await signAccessToken(ctx, row);
  return { message: MSG.changed, token, expires_at: expiresAt.toISOString() };
}

// ---- API keys ----

const apiKeyOut = (k: q.ApiKeyRow): ApiKeyOut => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  created_at: iso(k.createdAt)!,
  last_used_at: iso(k.lastUsedAt),
});

export async function createApiKey(ctx: AppContext, userId: number, name: string): Promise<ApiKeyCreated> {
  const generated = generateApiKey();
  const row = await ctx.db.transaction(async (tx) => {
    // Serialize key creation per user so the limit holds under concurrency.
    await q.lockUser(tx, userId);
    if ((await q.countApiKeys(tx, userId)) >= API_KEY_LIMIT) throw new HttpError(409, MSG.apiKeyLimit);
    return q.insertApiKey(tx, {
      userId,
      name,
      prefix: generated.prefix,
      keyHash: generated.hash,
      createdAt: ctx.clock.now(),
    });
  });
  return { ...apiKeyOut(row), key: generated.key };
}

export async function listApiKeys(ctx: AppContext, userId: number): Promise<ApiKeyOut[]> {
  return (await q.listApiKeys(ctx.db, userId)).map(apiKeyOut);
}

export async function deleteApiKey(ctx: AppContext, userId: number, keyId: number): Promise<void> {
  if (!(await q.deleteApiKey(ctx.db, userId, keyId))) throw new HttpError(404, MSG.apiKeyNotFound);
}

// ---- download / stream tokens ----

/** A single-use 60 s token for one action on one resource; the route has checked that the caller may see it. */
export async function downloadToken(
  ctx: AppContext,
  userId: number,
  action: DownloadAction,
  resourceId: number,
): Promise<{ token: string; expires_in_seconds: number }> {
  const token = await mintDownloadToken(ctx, ctx.db, userId, action, resourceId);
  return { token, expires_in_seconds: DOWNLOAD_TOKEN_TTL_SECONDS };
}

// ---- account deletion (§4.15) ----

/**
 * Delete an account: every domain's `before` step (billing cancels the subscription: failure → 502, nothing
 * deleted), collect storage keys, then one transaction deleting the unsent outbox rows and the user (cascades do the
 * rest, docs/data-model.md §3), then remove the collected objects from `getStorage(ctx)` (failures logged).
 */
export async function deleteAccount(ctx: AppContext, userId: number): Promise<void> {
  // Steps that ask an outside provider first (stable sort: otherwise in registration order).
  const ordered = [...ctx.accountCleanup].sort(
    (a, b) => Number(b.external ?? false) - Number(a.external ?? false),
  );
  for (const step of ordered) {
    if (!step.before) continue;
    try {
      await step.before(ctx, userId);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      ctx.logger.error({ err, step: step.name, user_id: userId }, 'account deletion step failed');
      throw err;
    }
  }
  // Each domain names the stored objects of its rows (recordings: takes; models: model files), before they go.
  const keys = new Set<string>();
  for (const step of ctx.accountCleanup) {
    if (!step.collectKeys) continue;
    for (const k of await step.collectKeys(ctx, userId)) keys.add(k);
  }
  await ctx.db.transaction(async (tx) => {
    await discardUnsentEmails(tx, userId);
    await q.deleteUser(tx, userId);
  });
  if (keys.size > 0) {
    const storage = getStorage(ctx);
    for (const key of keys) {
      await storage
        .delete(key)
        .catch((err: unknown) =>
          ctx.logger.error({ err, key }, 'could not delete a stored object of a deleted account'),
        );
    }
  }
  ctx.logger.info({ user_id: userId, objects: keys.size }, 'account deleted');
}

// ---- for other domains (they reach the users table only through these) ------------------------------------------

/**
 * Lock the user's row until the transaction ends (serializes one user's writes, e.g. the recordings cap); false when
 * the user no longer exists.
 */
export function lockUser(tx: DbOrTx, userId: number): Promise<boolean> {
  return q.lockUser(tx, userId);
}

/** The name, address and verification state of a user (emails and checks of other domains), or null. */
export function userContact(
  db: DbOrTx,
  userId: number,
): Promise<{ email: string; name: string; emailVerified: boolean } | null> {
  return q.userContact(db, userId);
}

/** Id, email and name of each of these users that exists (billing's webhook batch: rows and emails). */
export function userContacts(
  db: DbOrTx,
  userIds: number[],
): Promise<{ id: number; email: string; name: string }[]> {
  return q.userContacts(db, userIds);
}

/** The id of the account with this (normalized) email, or null. */
export async function userIdByEmail(db: DbOrTx, email: string): Promise<number | null> {
  return (await q.userByEmail(db, email))?.id ?? null;
}

/** Retention: forget revoked and download tokens that can no longer be used; how many went. */
export function purgeExpiredTokens(ctx: AppContext, now: Date): Promise<number> {
  return q.purgeExpiredTokens(ctx.db, now);
}

/** The administrator's view of accounts (`violawake users`): the first `limit` by id. */
export function listAccounts(db: DbOrTx, limit: number): Promise<q.Account[]> {
  return q.accounts(db, limit);
}

/** One account by id (digits) or email (normalized), for `violawake users show|set-tier`. */
export function findAccount(db: DbOrTx, key: string): Promise<q.Account | null> {
  return /^\d+$/.test(key) ? q.accountById(db, Number(key)) : q.accountByEmail(db, normalizeEmail(key));
}
