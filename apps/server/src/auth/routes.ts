/**
 * `/api/auth` (docs/api.md §2.2, §2.3). Hooks run before body validation: authentication, then the rate limiter, so a
 * request counts whatever its outcome (§1.5).
 */
import { sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../core/context.ts';
import { execRows } from '../core/db/client.ts';
import { HttpError } from '../core/http/errors.ts';
import { rateLimit } from '../core/http/rate-limit.ts';
import { modelVisibleTo } from '../models/visibility.ts';
import { authUser, requireUser } from './guard.ts';
import * as svc from './service.ts';
import { DOWNLOAD_TOKEN_TTL_SECONDS, mintDownloadToken } from './tokens.ts';

const Email = z.string().trim().toLowerCase().max(254).email();
const Password = z.string().min(8).max(128);
const Name = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[^\p{Cc}]*$/u, 'Name must not contain control characters');

const Message = z.object({ message: z.string() });
const UserBrief = z.object({
  id: z.number().int(),
  email: z.string(),
  name: z.string(),
  email_verified: z.boolean(),
});
const AuthResponse = z.object({
  token: z.string(),
  token_type: z.literal('bearer'),
  expires_at: z.string(),
  user: UserBrief,
});
const UserOut = UserBrief.extend({ created_at: z.string() });
const ApiKeyOut = z.object({
  id: z.number().int(),
  name: z.string(),
  prefix: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
});

const TAGS = ['auth'];
const BEARER = [{ bearer: [] }];
const MINUTE = 60;
const HOUR = 3600;

export function routes(ctx: AppContext): FastifyPluginAsync {
  return async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const user = requireUser(ctx);
    const ipLimit = (bucket: string, limit: number, windowSeconds: number) =>
      rateLimit(ctx, { bucket, limit, windowSeconds, key: 'ip' });
    const userLimit = (bucket: string, limit: number, windowSeconds: number) =>
      rateLimit(ctx, { bucket, limit, windowSeconds, key: 'user' });

    app.post(
      '/auth/register',
      {
        preValidation: [ipLimit('register', 100, HOUR)],
        schema: {
          tags: TAGS,
          summary: 'Create an account',
          body: z.object({ email: Email, password: Password, name: Name }),
          response: { 201: AuthResponse },
        },
      },
      async (request, reply) => {
        const out = await svc.register(ctx, request.body);
        return reply.status(201).send(out);
      },
    );

    app.post(
      '/auth/login',
      {
        preValidation: [ipLimit('login', 5, MINUTE)],
        schema: {
          tags: TAGS,
          summary: 'Sign in',
          body: z.object({ email: Email, password: Password }),
          response: { 200: AuthResponse },
        },
      },
      async (request) => svc.login(ctx, request.body),
    );

    app.post(
      '/auth/logout',
      {
        preValidation: [user],
        schema: {
          tags: TAGS,
          summary: 'Revoke this access token',
          security: BEARER,
          response: { 200: Message },
        },
      },
      async (request) => {
        const u = authUser(request);
        if (u.via === 'api_key' || !request.authSession) throw new HttpError(400, svc.MSG.apiKeyLogout);
        await svc.logout(ctx, u.id, request.authSession);
        return { message: svc.MSG.loggedOut };
      },
    );

    app.post(
      '/auth/logout-all',
      {
        preValidation: [user],
        schema: {
          tags: TAGS,
          summary: 'Revoke every access token of the user',
          security: BEARER,
          response: { 200: Message },
        },
      },
      async (request) => {
        await svc.logoutAll(ctx, authUser(request).id);
        return { message: svc.MSG.loggedOutAll };
      },
    );

    app.get(
      '/auth/me',
      {
        preValidation: [user],
        schema: { tags: TAGS, summary: 'The signed-in user', security: BEARER, response: { 200: UserOut } },
      },
      async (request) => svc.me(ctx, authUser(request).id),
    );

    app.post(
      '/auth/download-token',
      {
        preValidation: [user, userLimit('download-token', 60, MINUTE)],
        schema: {
          tags: TAGS,
          summary: 'A single-use token (60 s) for a model download or a training event stream',
          security: BEARER,
          body: z.object({
            action: z.enum(['model_download', 'training_stream']),
            resource_id: z.number().int().min(1),
          }),
          response: { 200: z.object({ token: z.string(), expires_in_seconds: z.number().int() }) },
        },
      },
      async (request) => {
        const u = authUser(request);
        const { action, resource_id } = request.body;
        if (action === 'model_download') {
          if (!(await modelVisibleTo(ctx.db, u.id, resource_id))) throw new HttpError(404, 'Model not found');
        } else {
          const rows = await execRows(
            ctx.db,
            sql`SELECT 1 AS ok FROM training_jobs WHERE id = ${resource_id} AND user_id = ${u.id}`,
          );
          if (rows.length === 0) throw new HttpError(404, 'Training job not found');
        }
        const token = await mintDownloadToken(ctx, ctx.db, u.id, action, resource_id);
        return { token, expires_in_seconds: DOWNLOAD_TOKEN_TTL_SECONDS };
      },
    );

    app.post(
      '/auth/verify-email',
      {
        preValidation: [ipLimit('verify-email', 20, 5 * MINUTE)],
        schema: {
          tags: TAGS,
          summary: 'Confirm an email address with the emailed token',
          body: z.object({ token: z.string().min(1).max(4096) }),
          response: { 200: Message },
        },
      },
      async (request) => {
        await svc.verifyEmail(ctx, request.body.token);
        return { message: svc.MSG.verified };
      },
    );

    app.post(
      '/auth/resend-verification',
      {
        preValidation: [user, userLimit('resend-verification', 3, HOUR)],
        schema: {
          tags: TAGS,
          summary: 'Send the verification email again',
          security: BEARER,
          response: { 200: Message },
        },
      },
      async (request) => ({ message: await svc.resendVerification(ctx, authUser(request).id) }),
    );

    app.post(
      '/auth/forgot-password',
      {
        preValidation: [ipLimit('forgot-password', 5, 5 * MINUTE)],
        schema: {
          tags: TAGS,
          summary: 'Email a password reset link (the answer is the same whether the account exists or not)',
          body: z.object({ email: Email }),
          response: { 200: Message },
        },
      },
      async (request) => {
        await svc.forgotPassword(ctx, request.body.email);
        return { message: svc.MSG.forgot };
      },
    );

    app.post(
      '/auth/reset-password',
      {
        preValidation: [ipLimit('reset-password', 10, 5 * MINUTE)],
        schema: {
          tags: TAGS,
          summary: 'Set a new password with the emailed token (single use)',
          body: z.object({ token: z.string().min(1).max(4096), password: Password }),
          response: { 200: Message },
        },
      },
      async (request) => {
        await svc.resetPassword(ctx, request.body.token, request.body.password);
        return { message: svc.MSG.resetDone };
      },
    );

    app.post(
      '/auth/change-password',
      {
        preValidation: [user, userLimit('change-password', 10, HOUR)],
        schema: {
          tags: TAGS,
          summary: 'Change the password; signs out every other session and returns a fresh token',
          security: BEARER,
          body: z.object({ current_password: z.string().min(1).max(128), new_password: Password }),
          response: { 200: z.object({ message: z.string(), token: z.string(), expires_at: z.string() }) },
        },
      },
      async (request) =>
        svc.changePassword(
          ctx,
          authUser(request).id,
          request.body.current_password,
          request.body.new_password,
        ),
    );

    app.delete(
      '/auth/account',
      {
        preValidation: [user, userLimit('delete-account', 3, HOUR)],
        schema: {
          tags: TAGS,
          summary: 'Delete the account and all its data',
          security: BEARER,
          response: { 200: Message },
        },
      },
      async (request) => {
        await svc.deleteAccount(ctx, authUser(request).id);
        return { message: svc.MSG.deleted };
      },
    );

    app.post(
      '/auth/api-keys',
      {
        preValidation: [user, userLimit('api-key-create', 10, HOUR)],
        schema: {
          tags: TAGS,
          summary: 'Create a personal API key (the key is shown only in this response)',
          security: BEARER,
          body: z.object({ name: z.string().trim().min(1).max(100) }),
          response: { 201: ApiKeyOut.extend({ key: z.string() }) },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await svc.createApiKey(ctx, authUser(request).id, request.body.name)),
    );

    app.get(
      '/auth/api-keys',
      {
        preValidation: [user],
        schema: {
          tags: TAGS,
          summary: 'List personal API keys',
          security: BEARER,
          response: { 200: z.array(ApiKeyOut) },
        },
      },
      async (request) => svc.listApiKeys(ctx, authUser(request).id),
    );

    app.delete(
      '/auth/api-keys/:key_id',
      {
        preValidation: [user],
        schema: {
          tags: TAGS,
          summary: 'Delete (revoke) a personal API key',
          security: BEARER,
          params: z.object({ key_id: z.coerce.number().int().min(1) }),
          response: { 204: z.null().describe('Deleted') },
        },
      },
      async (request, reply) => {
        await svc.deleteApiKey(ctx, authUser(request).id, request.params.key_id);
        return reply.status(204).send(null);
      },
    );
  };
}
