/**
 * Users for tests: written straight to the database (real argon2id hash, real access token), so suites do not spend
 * the registration rate limit. `verified` defaults to true.
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../../src/auth/passwords.ts';
import { signAccessToken } from '../../src/auth/tokens.ts';
import { users } from '../../src/core/db/schema.ts';
import type { TestServer } from './app.ts';

export interface TestUser {
  id: number;
  email: string;
  password: string;
  name: string;
  token: string;
  headers: Record<string, string>;
}

export async function createUser(
  server: TestServer,
  opts: { email?: string; password?: string; name?: string; verified?: boolean } = {},
): Promise<TestUser> {
  const email = (opts.email ?? `user-${randomBytes(5).toString('hex')}@example.com`).trim().toLowerCase();
  const password = opts.password ?? `pw-${randomBytes(6).toString('hex')}`;
  const name = opts.name ?? 'Test User';
  const verified = opts.verified ?? true;
  const now = server.ctx.clock.now();
  const [row] = await server.ctx.db
    .insert(users)
    .values({
      email,
      passwordHash: await hashPassword(password),
      name,
      emailVerified: verified,
      emailVerifiedAt: verified ? now : null,
    })
    .returning({ id: users.id, tokenVersion: users.tokenVersion });
  const { token } = await signAccessToken(server.ctx, { id: row!.id, tokenVersion: row!.tokenVersion });
  return { id: row!.id, email, password, name, token, headers: { Authorization: `Bearer ${token}` } };
}
