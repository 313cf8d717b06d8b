/**
 * Teams routes (docs/api.md §2.8), registered under `/api/teams`. Every route needs a verified email (`VER`); the
 * permission rules of §4.13 live in `service.ts`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authUser, requireVerified } from '../auth/guard.ts';
import type { AppContext } from '../core/context.ts';
import { errorResponses } from '../core/http/errors.ts';
import { rateLimit } from '../core/http/rate-limit.ts';
import { ModelSummary } from '../models/routes.ts';
import {
  Email,
  InvitationOut,
  InvitationParams,
  Member,
  MemberParams,
  Message,
  ModelParams,
  Role,
  TeamParams,
  TeamResponse,
  TeamSummary,
} from './schemas.ts';
import * as svc from './service.ts';

const TAGS = ['teams'];
const SECURITY = [{ bearer: [] }];
const HOUR = 3600;

const errors = errorResponses;

export function routes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const verified = requireVerified(ctx);
    const caller = (request: Parameters<typeof authUser>[0]): svc.Caller => {
      const u = authUser(request);
      return { id: u.id, email: u.email, name: u.name };
    };

    r.post(
      '/teams',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Create a team (the caller becomes its owner)',
          security: SECURITY,
          body: z.object({ name: z.string().min(1).max(255) }),
          response: { 201: TeamResponse, ...errors(401, 403) },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await svc.createTeam(ctx, caller(request), request.body.name)),
    );

    r.get(
      '/teams',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Teams the caller has joined',
          security: SECURITY,
          response: { 200: z.array(TeamSummary), ...errors(401, 403) },
        },
      },
      async (request) => svc.listTeams(ctx, authUser(request).id),
    );

    // Static paths before `/:team_id/...` (find-my-way prefers static segments anyway).
    r.post(
      '/teams/invitations/accept',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Accept an invitation with its emailed token',
          security: SECURITY,
          body: z.object({ token: z.string().min(1).max(512) }),
          response: { 200: TeamResponse, ...errors(400, 401, 403, 409) },
        },
      },
      async (request) => svc.acceptInvitation(ctx, caller(request), request.body.token),
    );

    r.get(
      '/teams/:team_id',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'A team with its joined members',
          security: SECURITY,
          params: TeamParams,
          response: { 200: TeamResponse, ...errors(401, 403) },
        },
      },
      async (request) => svc.getTeam(ctx, authUser(request).id, request.params.team_id),
    );

    r.delete(
      '/teams/:team_id',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Delete the team (owner); its models stay with their owners, unshared',
          security: SECURITY,
          params: TeamParams,
          response: { 200: Message, ...errors(401, 403) },
        },
      },
      async (request) => {
        await svc.deleteTeam(ctx, authUser(request).id, request.params.team_id);
        return { message: svc.MSG.teamDeleted };
      },
    );

    r.post(
      '/teams/:team_id/invite',
      {
        preValidation: [
          verified,
          rateLimit(ctx, { bucket: 'team-invite', limit: 20, windowSeconds: HOUR, key: 'user' }),
        ],
        schema: {
          tags: TAGS,
          summary: 'Invite an email address (owner or admin); sends the invitation email',
          security: SECURITY,
          params: TeamParams,
          body: z.object({ email: Email, role: Role.default('member') }),
          response: {
            201: z.object({ message: z.string(), invitation: InvitationOut }),
            ...errors(401, 403, 409, 429),
          },
        },
      },
      async (request, reply) => {
        const { invitation } = await svc.invite(
          ctx,
          caller(request),
          request.params.team_id,
          request.body.email,
          request.body.role,
        );
        return reply.status(201).send({ message: svc.MSG.invitationSent, invitation });
      },
    );

    r.get(
      '/teams/:team_id/invitations',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Pending invitations (owner or admin)',
          security: SECURITY,
          params: TeamParams,
          response: { 200: z.array(InvitationOut), ...errors(401, 403) },
        },
      },
      async (request) => svc.listInvitations(ctx, authUser(request).id, request.params.team_id),
    );

    r.delete(
      '/teams/:team_id/invitations/:invitation_id',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Revoke a pending invitation (owner or admin)',
          security: SECURITY,
          params: InvitationParams,
          response: { 204: z.null().describe('Revoked'), ...errors(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await svc.revokeInvitation(
          ctx,
          authUser(request).id,
          request.params.team_id,
          request.params.invitation_id,
        );
        return reply.status(204).send(null);
      },
    );

    r.post(
      '/teams/:team_id/join',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Accept an invitation to this team (alias of /invitations/accept)',
          security: SECURITY,
          params: TeamParams,
          querystring: z.object({ token: z.string().min(1).max(512) }),
          response: { 200: TeamResponse, ...errors(400, 401, 403, 409) },
        },
      },
      async (request) =>
        svc.acceptInvitation(ctx, caller(request), request.query.token, request.params.team_id),
    );

    r.delete(
      '/teams/:team_id/members/me',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Leave the team (the owner must transfer ownership first)',
          security: SECURITY,
          params: TeamParams,
          response: { 200: Message, ...errors(401, 403, 409) },
        },
      },
      async (request) => {
        await svc.leaveTeam(ctx, authUser(request).id, request.params.team_id);
        return { message: svc.MSG.left };
      },
    );

    r.delete(
      '/teams/:team_id/members/:user_id',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Remove a member (owner: anyone but the owner; admin: members only)',
          security: SECURITY,
          params: MemberParams,
          response: { 200: Message, ...errors(401, 403, 404) },
        },
      },
      async (request) => {
        await svc.removeMember(ctx, authUser(request).id, request.params.team_id, request.params.user_id);
        return { message: svc.MSG.memberRemoved };
      },
    );

    r.patch(
      '/teams/:team_id/members/:user_id',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: "Change a member's role to admin or member (owner)",
          security: SECURITY,
          params: MemberParams,
          querystring: z.object({ role: z.string().max(32) }),
          response: { 200: Member, ...errors(400, 401, 403, 404) },
        },
      },
      async (request) =>
        svc.changeRole(
          ctx,
          authUser(request).id,
          request.params.team_id,
          request.params.user_id,
          request.query.role,
        ),
    );

    r.post(
      '/teams/:team_id/transfer',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Transfer ownership to another member (owner); the previous owner becomes admin',
          security: SECURITY,
          params: TeamParams,
          body: z.object({ user_id: z.number().int().min(1) }),
          response: { 200: TeamResponse, ...errors(400, 401, 403, 404) },
        },
      },
      async (request) =>
        svc.transferOwnership(ctx, authUser(request).id, request.params.team_id, request.body.user_id),
    );

    r.get(
      '/teams/:team_id/models',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Models shared to the team',
          security: SECURITY,
          params: TeamParams,
          response: { 200: z.array(ModelSummary), ...errors(401, 403) },
        },
      },
      async (request) => svc.teamModels(ctx, authUser(request).id, request.params.team_id),
    );

    r.post(
      '/teams/:team_id/models/:model_id/share',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Share one of your models to the team (owner or admin)',
          security: SECURITY,
          params: ModelParams,
          response: { 200: ModelSummary, ...errors(401, 403, 404) },
        },
      },
      async (request) =>
        svc.shareModel(ctx, authUser(request).id, request.params.team_id, request.params.model_id),
    );

    r.delete(
      '/teams/:team_id/models/:model_id',
      {
        preValidation: [verified],
        schema: {
          tags: TAGS,
          summary: 'Unshare a model from the team (owner or admin; members their own models)',
          security: SECURITY,
          params: ModelParams,
          response: { 200: Message, ...errors(401, 403, 404) },
        },
      },
      async (request) => {
        await svc.unshareModel(ctx, authUser(request).id, request.params.team_id, request.params.model_id);
        return { message: svc.MSG.modelUnshared };
      },
    );
  };
}
