/**
 * Password hashing (docs/api.md §4.2): argon2id, 19 MiB, 2 iterations, parallelism 1; parameters live in the encoded hash.
 * Unknown emails are checked against a fixed dummy hash with the same parameters, so timing reveals nothing.
 */
import { createHash } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id (an ambient const enum) */,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

export async function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

let dummy: Promise<string> | null = null;
function dummyHash(): Promise<string> {
  dummy ??= hash('violawake-dummy-password-for-timing', OPTIONS);
  return dummy;
}

const BCRYPT_RE = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

export function isLegacyBcrypt(stored: string): boolean {
  return BCRYPT_RE.test(stored);
}

/**
 * The original console's bcrypt input: passwords longer than bcrypt's 72-byte limit were pre-hashed to the SHA-256
 * hex digest (64 ASCII characters) first.
 */
export function legacyBcryptInput(password: string): string {
  return Buffer.byteLength(password, 'utf8') > 72
    ? createHash('sha256').update(password, 'utf8').digest('hex')
    : password;
}

/** Verify against a stored hash, or against the dummy hash when there is none (always false then). */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored !== null && isLegacyBcrypt(stored)) {
    try {
      return await bcrypt.compare(legacyBcryptInput(password), stored);
    } catch {
      return false;
    }
  }
  const encoded = stored ?? (await dummyHash());
  try {
    const ok = await verify(encoded, password);
    return stored !== null && ok;
  } catch {
    return false;
  }
}

/** True when the hash is not argon2id with the current parameters. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(
    `$argon2id$v=19$m=${OPTIONS.memoryCost},t=${OPTIONS.timeCost},p=${OPTIONS.parallelism}$`,
  );
}

/** Warm the dummy hash at startup (the first unknown-email login is not slower than the others). */
export async function warmPasswordHashing(): Promise<void> {
  await dummyHash();
}
