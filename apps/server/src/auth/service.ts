/**
 * Accounts (docs/api.md §4.2, §4.3, §4.15): registration, login with lockout, verification, password reset and change,
 * logout, API keys and account deletion. Routes validate and authenticate; everything else happens here.
 */
import { and, count, desc, eq, sql } from 'drizzle-orm';
import type { AppContext } from '../core/context.ts';
import { type DbOrTx, execRows } from '../core/db/client.ts';
import { apiKeys, revokedTokens, users } from '../core/db/schema.ts';
import { enqueueEmail } from '../core/email/outbox.ts';
import { HttpError } from '../core/http/errors.ts';
import { getStorage } from '../core/storage/index.ts';
import { hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import {
  generateApiKey,
  INVALID_TOKEN,
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

export interface AuthResponse {
  token: string;
  token_type: 'bearer';
  expires_at: string;
  user: { id: number; email: string; name: string; email_verified: boolean };
}

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

export async function register(
  ctx: AppContext,
  input: { email: string; password: string; name: string },
): Promise<AuthResponse> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const now = ctx.clock.now();
  const verified = autoVerifies(ctx);
  const user = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(users)
      .values({
        email,
        passwordHash,
        name: input.name,
        emailVerified: verified,
        emailVerifiedAt: verified ? now : null,
      })
      .onConflictDoNothing({ target: users.email })
      .returning();
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

export async function login(
  ctx: AppContext,
  input: { email: string; password: string },
): Promise<AuthResponse> {
  const email = normalizeEmail(input.email);
  const now = ctx.clock.now();
  const [user] = await ctx.db.select().from(users).where(eq(users.email, email));
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
    const [row] = await execRows<{ locked: boolean }>(
      ctx.db,
      sql`UPDATE users SET
            failed_login_count = CASE WHEN failed_login_count + 1 >= ${max} THEN 0 ELSE failed_login_count + 1 END,
            locked_until = CASE WHEN failed_login_count + 1 >= ${max} THEN ${lockUntil}::timestamptz ELSE locked_until END,
            updated_at = now()
          WHERE id = ${user.id}
          RETURNING (failed_login_count = 0 AND locked_until = ${lockUntil}::timestamptz) AS locked`,
    );
    if (row?.locked && lockMs > 0) {
      ctx.logger.warn({ user_id: user.id }, 'account locked after repeated login failures');
      throw new HttpError(423, MSG.locked, { 'Retry-After': String(Math.ceil(lockMs / 1000)) });
    }
    throw new HttpError(401, MSG.badLogin);
  }
  const rehash = needsRehash(user.passwordHash) ? await hashPassword(input.password) : null;
  await ctx.db
    .update(users)
    .set({
      failedLoginCount: 0,
      lockedUntil: null,
      ...(rehash ? { passwordHash: rehash, updatedAt: now } : {}),
    })
    .where(eq(users.id, user.id));
  return authResponse(ctx, user);
}

export async function me(ctx: AppContext, userId: number) {
  const [u] = await ctx.db.select().from(users).where(eq(users.id, userId));
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
  await ctx.db
    .insert(revokedTokens)
    .values({ jti: session.jti, userId, expiresAt: session.exp, revokedAt: ctx.clock.now() })
    .onConflictDoNothing();
}

export async function logoutAll(ctx: AppContext, userId: number): Promise<void> {
  await ctx.db
    .update(users)
    .set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: ctx.clock.now() })
    .where(eq(users.id, userId));
}

export async function verifyEmail(ctx: AppContext, token: string): Promise<void> {
  const claims = await verifyJwt(ctx, token, 'verify_email');
  if (!claims || typeof claims.claims.email !== 'string') throw new HttpError(400, INVALID_TOKEN);
  const [user] = await ctx.db.select().from(users).where(eq(users.id, claims.userId));
  if (!user) throw new HttpError(404, MSG.userNotFound);
  if (user.email !== claims.claims.email) throw new HttpError(400, INVALID_TOKEN);
  if (user.emailVerified) return;
  await ctx.db.transaction(async (tx) => {
    const rows = await tx
      .update(users)
      .set({ emailVerified: true, emailVerifiedAt: ctx.clock.now(), updatedAt: ctx.clock.now() })
      .where(and(eq(users.id, user.id), eq(users.emailVerified, false)))
      .returning({ id: users.id });
    if (rows.length > 0) {
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
  const [user] = await ctx.db.select().from(users).where(eq(users.id, userId));
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
  const [user] = await ctx.db.select().from(users).where(eq(users.email, email));
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
  const rows = await ctx.db
    .update(users)
    .set({
      passwordHash,
      tokenVersion: sql`${users.tokenVersion} + 1`,
      failedLoginCount: 0,
      lockedUntil: null,
      updatedAt: ctx.clock.now(),
    })
    .where(and(eq(users.id, claims.userId), eq(users.tokenVersion, claims.claims.ver)))
    .returning({ id: users.id });
  if (rows.length > 0) return;
  const [exists] = await ctx.db.select({ id: users.id }).from(users).where(eq(users.id, claims.userId));
  if (!exists) throw new HttpError(404, MSG.userNotFound);
  throw new HttpError(400, INVALID_TOKEN);
}

export async function changePassword(
  ctx: AppContext,
  userId: number,
  current: string,
  next: string,
): Promise<{ message: string; token: string; expires_at: string }> {
  const [user] = await ctx.db.select().from(users).where(eq(users.id, userId));
  if (!user) throw new HttpError(401, INVALID_TOKEN);
  // A wrong current password does not count toward lockout.
  if (!(await verifyPassword(user.passwordHash, current))) throw new HttpError(401, MSG.wrongCurrent);
  const passwordHash = await hashPassword(next);
  const [row] = await ctx.db
    .update(users)
    .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: ctx.clock.now() })
    .where(eq(users.id, userId))
    .returning({ id: users.id, tokenVersion: users.tokenVersion });
  if (!row) throw new HttpError(401, INVALID_TOKEN);
  const { token, expiresAt } = await signAccessToken(ctx, row);
  return { message: MSG.changed, token, expires_at: expiresAt.toISOString() };
}

// ---- API keys ----

const apiKeyOut = (k: typeof apiKeys.$inferSelect) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  created_at: iso(k.createdAt)!,
  last_used_at: iso(k.lastUsedAt),
});

export async function createApiKey(ctx: AppContext, userId: number, name: string) {
  const generated = generateApiKey();
  const row = await ctx.db.transaction(async (tx) => {
    // Serialize key creation per user so the limit holds under concurrency.
    await tx.execute(sql`SELECT id FROM users WHERE id = ${userId} FOR UPDATE`);
    const [c] = await tx.select({ n: count() }).from(apiKeys).where(eq(apiKeys.userId, userId));
    if ((c?.n ?? 0) >= API_KEY_LIMIT) throw new HttpError(409, MSG.apiKeyLimit);
    const [inserted] = await tx
      .insert(apiKeys)
      .values({ userId, name, prefix: generated.prefix, keyHash: generated.hash, createdAt: ctx.clock.now() })
      .returning();
    return inserted!;
  });
  return { ...apiKeyOut(row), key: generated.key };
}

export async function listApiKeys(ctx: AppContext, userId: number) {
  const rows = await ctx.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.userId, userId))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  return rows.map(apiKeyOut);
}

export async function deleteApiKey(ctx: AppContext, userId: number, keyId: number): Promise<void> {
  const rows = await ctx.db
    .delete(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.userId, userId)))
    .returning({ id: apiKeys.id });
  if (rows.length === 0) throw new HttpError(404, MSG.apiKeyNotFound);
}

// ---- account deletion (§4.15) ----

/** Storage keys of the user's recordings and models (collected before the rows go). */
async function ownStorageKeys(ctx: AppContext, userId: number): Promise<string[]> {
  const rows = await execRows<{ key: string }>(
    ctx.db,
    sql`SELECT storage_key AS key FROM recordings WHERE user_id = ${userId}
        UNION ALL SELECT storage_key FROM trained_models WHERE user_id = ${userId}
        UNION ALL SELECT manifest_key FROM trained_models WHERE user_id = ${userId}`,
  );
  return rows.map((r) => r.key);
}

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
  const keys = new Set(await ownStorageKeys(ctx, userId));
  for (const step of ctx.accountCleanup) {
    if (!step.collectKeys) continue;
    for (const k of await step.collectKeys(ctx, userId)) keys.add(k);
  }
  await ctx.db.transaction(async (tx) => {
    await tx.execute(sql`DELETE FROM email_outbox WHERE user_id = ${userId} AND status <> 'sent'`);
    await tx.delete(users).where(eq(users.id, userId));
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
export async function lockUser(tx: DbOrTx, userId: number): Promise<boolean> {
  const rows = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update');
  return rows.length > 0;
}

/** The name, address and verification state of a user (emails and checks of other domains), or null. */
export async function userContact(
  db: DbOrTx,
  userId: number,
): Promise<{ email: string; name: string; emailVerified: boolean } | null> {
  const [row] = await db
    .select({ email: users.email, name: users.name, emailVerified: users.emailVerified })
    .from(users)
    .where(eq(users.id, userId));
  return row ?? null;
}
