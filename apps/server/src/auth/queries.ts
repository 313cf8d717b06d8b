/**
 * Every statement on the auth domain's tables: `users`, `api_keys`, `revoked_tokens`, `download_tokens`
 * (docs/data-model.md). Plain functions taking the handle they run on (the database or a transaction); row types
 * come from the Drizzle schema. Other domains reach these tables through `auth/service.ts`, never from here.
 */
import { and, count, desc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db/client.ts';
import { apiKeys, downloadTokens, revokedTokens, users } from '../core/db/schema.ts';

export type UserRow = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type NewDownloadToken = typeof downloadTokens.$inferInsert;

// ---- users ----------------------------------------------------------------------------------------------------

export async function userById(db: DbOrTx, userId: number): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.id, userId));
  return row ?? null;
}

export async function userByEmail(db: DbOrTx, email: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.email, email));
  return row ?? null;
}

/** Insert a user; null when the email is taken (the unique index decides, also under concurrency). */
export async function insertUser(db: DbOrTx, values: NewUser): Promise<UserRow | null> {
  const [row] = await db
    .insert(users)
    .values(values)
    .onConflictDoNothing({ target: users.email })
    .returning();
  return row ?? null;
}

/**
 * Count one failed login; at the `max`-th consecutive failure reset the counter and lock until `lockUntil`.
 * Returns true when this failure locked the account. One statement, so concurrent failures count exactly.
 */
export async function recordLoginFailure(
  db: DbOrTx,
  userId: number,
  max: number,
  lockUntil: Date,
): Promise<boolean> {
  const reached = sql`${users.failedLoginCount} + 1 >= ${max}`;
  const [row] = await db
    .update(users)
    .set({
      failedLoginCount: sql`CASE WHEN ${reached} THEN 0 ELSE ${users.failedLoginCount} + 1 END`,
      lockedUntil: sql`CASE WHEN ${reached} THEN ${lockUntil}::timestamptz ELSE ${users.lockedUntil} END`,
      updatedAt: sql`now()`,
    })
    .where(eq(users.id, userId))
    .returning({
      locked: sql<boolean>`(${users.failedLoginCount} = 0 AND ${users.lockedUntil} = ${lockUntil}::timestamptz)`,
    });
  return row?.locked === true;
}

/** A successful login: clear the failure count and lock; store a rehashed password when given one. */
export async function recordLoginSuccess(
  db: DbOrTx,
  userId: number,
  rehash: { passwordHash: string; at: Date } | null,
): Promise<void> {
  await db
    .update(users)
    .set({
      failedLoginCount: 0,
      lockedUntil: null,
      ...(rehash ? { passwordHash: rehash.passwordHash, updatedAt: rehash.at } : {}),
    })
    .where(eq(users.id, userId));
}

/** Invalidate every access token of the user (they carry the old `ver`). */
export async function bumpTokenVersion(db: DbOrTx, userId: number, at: Date): Promise<void> {
  await db
    .update(users)
    .set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: at })
    .where(eq(users.id, userId));
}

/** Mark the email verified unless it already was; true when this call verified it. */
export async function markEmailVerified(db: DbOrTx, userId: number, at: Date): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ emailVerified: true, emailVerifiedAt: at, updatedAt: at })
    .where(and(eq(users.id, userId), eq(users.emailVerified, false)))
    .returning({ id: users.id });
  return rows.length > 0;
}

/**
 * Set a new password with a reset token issued at token version `version`: also signs out everywhere and clears the
 * lock. False when the user is gone or the version moved on (the token was used or superseded).
 */
export async function resetPasswordAtVersion(
  db: DbOrTx,
  userId: number,
  version: number,
  passwordHash: string,
  at: Date,
): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({
      passwordHash,
      tokenVersion: sql`${users.tokenVersion} + 1`,
      failedLoginCount: 0,
      lockedUntil: null,
      updatedAt: at,
    })
    .where(and(eq(users.id, userId), eq(users.tokenVersion, version)))
    .returning({ id: users.id });
  return rows.length > 0;
}

/** Set a new password and sign out every session; the new token version, or null when the user is gone. */
export async function changePassword(
  db: DbOrTx,
  userId: number,
  passwordHash: string,
  at: Date,
): Promise<{ id: number; tokenVersion: number } | null> {
  const [row] = await db
    .update(users)
    .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: at })
    .where(eq(users.id, userId))
    .returning({ id: users.id, tokenVersion: users.tokenVersion });
  return row ?? null;
}

/** Lock the user's row until the transaction ends; false when the user no longer exists. */
export async function lockUser(tx: DbOrTx, userId: number): Promise<boolean> {
  const rows = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update');
  return rows.length > 0;
}

export async function userContact(
  db: DbOrTx,
  userId: number,
): Promise<Pick<UserRow, 'email' | 'name' | 'emailVerified'> | null> {
  const [row] = await db
    .select({ email: users.email, name: users.name, emailVerified: users.emailVerified })
    .from(users)
    .where(eq(users.id, userId));
  return row ?? null;
}

/** Email and name of each of these users that exists. */
export function userContacts(
  db: DbOrTx,
  userIds: number[],
): Promise<Pick<UserRow, 'id' | 'email' | 'name'>[]> {
  if (userIds.length === 0) return Promise.resolve([]);
  return db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(users)
    .where(inArray(users.id, userIds));
}

export async function deleteUser(tx: DbOrTx, userId: number): Promise<void> {
  await tx.delete(users).where(eq(users.id, userId));
}

// ---- credentials of a request ---------------------------------------------------------------------------------

export type CredentialUser = Pick<UserRow, 'id' | 'email' | 'name' | 'emailVerified' | 'tokenVersion'>;

const credentialColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  emailVerified: users.emailVerified,
  tokenVersion: users.tokenVersion,
};

/** The user of an access token and whether its `jti` was revoked, in one round trip. */
export async function userForAccessToken(
  db: DbOrTx,
  userId: number,
  jti: string,
): Promise<(CredentialUser & { revoked: boolean }) | null> {
  const [row] = await db
    .select({
      ...credentialColumns,
      revoked: sql<boolean>`EXISTS (SELECT 1 FROM ${revokedTokens} WHERE ${revokedTokens.jti} = ${jti}::uuid)`,
    })
    .from(users)
    .where(eq(users.id, userId));
  return row ?? null;
}

/** The API key with this hash and its user. */
export async function userForApiKeyHash(
  db: DbOrTx,
  keyHash: string,
): Promise<{ keyId: number; user: CredentialUser } | null> {
  const [row] = await db
    .select({ keyId: apiKeys.id, user: credentialColumns })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(eq(apiKeys.keyHash, keyHash));
  return row ?? null;
}

/** Write `last_used_at` unless it was written less than a minute before `now`. */
export async function touchApiKey(db: DbOrTx, keyId: number, now: Date): Promise<void> {
  const minuteAgo = new Date(now.getTime() - 60_000);
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(and(eq(apiKeys.id, keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, minuteAgo))));
}

// ---- API keys -------------------------------------------------------------------------------------------------

export async function countApiKeys(db: DbOrTx, userId: number): Promise<number> {
  const [c] = await db.select({ n: count() }).from(apiKeys).where(eq(apiKeys.userId, userId));
  return c?.n ?? 0;
}

export async function insertApiKey(db: DbOrTx, values: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
  const [row] = await db.insert(apiKeys).values(values).returning();
  return row!;
}

export function listApiKeys(db: DbOrTx, userId: number): Promise<ApiKeyRow[]> {
  return db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.userId, userId))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
}

/** Delete the user's key; false when the user has no such key. */
export async function deleteApiKey(db: DbOrTx, userId: number, keyId: number): Promise<boolean> {
  const rows = await db
    .delete(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.userId, userId)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

// ---- revoked access tokens and download tokens ------------------------------------------------------------------

export async function revokeToken(db: DbOrTx, values: typeof revokedTokens.$inferInsert): Promise<void> {
  await db.insert(revokedTokens).values(values).onConflictDoNothing();
}

export async function insertDownloadToken(db: DbOrTx, values: NewDownloadToken): Promise<void> {
  await db.insert(downloadTokens).values(values);
}

/**
 * Use a download token with one atomic UPDATE (works across processes): the hash, action and resource must match,
 * unused and unexpired. The token's user id, or null.
 */
export async function consumeDownloadToken(
  db: DbOrTx,
  tokenHash: string,
  action: NewDownloadToken['action'],
  resourceId: number,
  now: Date,
): Promise<number | null> {
  const [row] = await db
    .update(downloadTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(downloadTokens.tokenHash, tokenHash),
        eq(downloadTokens.action, action),
        eq(downloadTokens.resourceId, resourceId),
        isNull(downloadTokens.usedAt),
        gt(downloadTokens.expiresAt, now),
      ),
    )
    .returning({ userId: downloadTokens.userId });
  return row?.userId ?? null;
}

/** Retention: revoked access tokens past their expiry, download tokens an hour past theirs; how many went. */
export async function purgeExpiredTokens(db: DbOrTx, now: Date): Promise<number> {
  const revoked = await db
    .delete(revokedTokens)
    .where(lt(revokedTokens.expiresAt, now))
    .returning({ jti: revokedTokens.jti });
  const downloads = await db
    .delete(downloadTokens)
    .where(lt(downloadTokens.expiresAt, new Date(now.getTime() - 3600_000)))
    .returning({ id: downloadTokens.id });
  return revoked.length + downloads.length;
}

export type Account = Pick<UserRow, 'id' | 'email' | 'name' | 'createdAt'>;
const accountColumns = { id: users.id, email: users.email, name: users.name, createdAt: users.createdAt };

/** The first `limit` accounts by id (the administrator's listing). */
export function accounts(db: DbOrTx, limit: number): Promise<Account[]> {
  return db.select(accountColumns).from(users).orderBy(users.id).limit(limit);
}

export async function accountById(db: DbOrTx, userId: number): Promise<Account | null> {
  const [row] = await db.select(accountColumns).from(users).where(eq(users.id, userId));
  return row ?? null;
}

export async function accountByEmail(db: DbOrTx, email: string): Promise<Account | null> {
  const [row] = await db.select(accountColumns).from(users).where(eq(users.email, email));
  return row ?? null;
}
