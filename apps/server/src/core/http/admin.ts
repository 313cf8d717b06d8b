import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { HttpError } from './errors.ts';

const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();

/** Constant-time comparison of SHA-256 digests (docs/api.md §1.2). */
export function adminTokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

/**
 * Admin guard: no token configured → 404 "Not found"; header missing or wrong → 403 "Forbidden".
 * `allowBearer` also accepts `Authorization: Bearer <admin token>` (the metrics route).
 */
export function requireAdmin(ctx: AppContext, request: FastifyRequest, allowBearer = false): void {
  const expected = ctx.config.adminToken;
  if (!expected) throw new HttpError(404, 'Not found');
  const header = request.headers['x-admin-token'];
  let given = Array.isArray(header) ? header[0] : header;
  if (given === undefined && allowBearer) {
    const auth = request.headers.authorization;
    if (auth?.startsWith('Bearer ')) given = auth.slice(7).trim();
  }
  if (!adminTokenMatches(expected, given)) throw new HttpError(403, 'Forbidden');
}
