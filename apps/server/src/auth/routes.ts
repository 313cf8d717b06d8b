/**
 * `/api/auth` (docs/api.md §2.2, §2.3). Hooks run before body validation: authentication, then the rate limiter, so a
 * request counts whatever its outcome (§1.5).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../core/context.ts';
import { HttpError } from '../core/http/errors.ts';
import { rateLimit } from '../core/http/rate-limit.ts';
import { visibleModel } from '../models/service.ts';
import { teamIdsOf } from '../teams/service.ts';
import { ownJob } from '../training/service.ts';
import { authUser, requireUser } from './guard.ts';
import {
  ApiKeyCreateBody,
  ApiKeyCreated,
  ApiKeyOut,
  ApiKeyParams,
  AuthResponse,
  ChangePasswordBody,
  ChangePasswordOut,
  DownloadTokenBody,
  DownloadTokenOut,
  ForgotPasswordBody,
  LoginBody,
  Message,
  RegisterBody,
  ResetPasswordBody,
  TokenBody,
  UserOut,
} from './schemas.ts';
import * as svc from './service.ts';

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
          body: RegisterBody,
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
          body: LoginBody,
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
          body: DownloadTokenBody,
          response: { 200: DownloadTokenOut },
        },
      },
      async (request) => {
        const u = authUser(request);
        const { action, resource_id } = request.body;
        // The resource must be the caller's to see: a model through the models domain, a job through training.
        if (action === 'model_download') {
          // 404 'Model not found' unless the caller owns it or it is shared to one of their teams
          await visibleModel(ctx.db, { userId: u.id, teamIds: await teamIdsOf(ctx.db, u.id) }, resource_id);
        } else {
          await ownJob(ctx, u.id, resource_id);
        }
        return svc.downloadToken(ctx, u.id, action, resource_id);
      },
    );

    app.post(
      '/auth/verify-email',
      {
        preValidation: [ipLimit('verify-email', 20, 5 * MINUTE)],
        schema: {
          tags: TAGS,
          summary: 'Confirm an email address with the emailed token',
          body: TokenBody,
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
          body: ForgotPasswordBody,
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
          body: ResetPasswordBody,
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
          body: ChangePasswordBody,
          response: { 200: ChangePasswordOut },
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
          body: ApiKeyCreateBody,
          response: { 201: ApiKeyCreated },
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
          params: ApiKeyParams,
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
