/**
 * Teams, members, invitations and model sharing (docs/api.md §2.8, §4.1, §4.13; tables: docs/data-model.md §2–§3).
 *
 * Every team-scoped action first resolves the caller's joined membership: a caller who is not a joined member of the
 * team — whether it exists or not — gets 403 "You are not a member of this team", so another team's ids reveal
 * nothing. Mutations lock the team row (`FOR UPDATE`) before reading roles, so concurrent role changes, removals,
 * transfers and deletions serialize per team. Invitation tokens are 32 random bytes (base64url); only their SHA-256
 * is stored; they expire after 72 h and are consumed by one locked update.
 */
import { userContacts, userIdByEmail } from '../auth/service.ts';
import { randomToken, sha256Hex } from '../auth/tokens.ts';
import type { AppContext } from '../core/context.ts';
import type { DbOrTx } from '../core/db/client.ts';
import { enqueueEmail } from '../core/email/outbox.ts';
import { HttpError } from '../core/http/errors.ts';
import type { ModelSummary } from '../models/schemas.ts';
import {
  lockTeamModel,
  modelSummary,
  modelsOfTeam,
  shareOwnModel,
  unshareModels,
} from '../models/service.ts';
import * as q from './queries.ts';
import type { InvitationOut, MemberOut, TeamResponse, TeamSummary } from './schemas.ts';

export const INVITATION_TTL_MS = 72 * 3600_000;

export const MSG = {
  notMember: 'You are not a member of this team',
  insufficientRole: 'Insufficient team role',
  inviteOwner: 'Cannot invite a user as owner',
  alreadyMemberInvite: 'User is already a team member',
  invitationNotFound: 'Invitation not found',
  invalidInvitation: 'Invalid or expired invitation',
  wrongEmail: 'This invite was issued for a different email address',
  alreadyMember: 'Already a team member',
  tokenTeamMismatch: 'Token does not match team',
  ownerCannotLeave: 'The team owner cannot leave. Transfer ownership first.',
  left: 'You left the team',
  cannotRemoveOwner: 'Cannot remove the team owner',
  cannotRemoveRole: 'Insufficient role to remove this member',
  memberNotFound: 'Member not found',
  memberRemoved: 'Member removed',
  badRole: "Role must be 'admin' or 'member'",
  cannotChangeOwner: "Cannot change the owner's role",
  alreadyOwner: 'You already own this team',
  teamDeleted: 'Team deleted',
  modelNotFound: 'Model not found',
  modelUnshared: 'Model unshared',
  invitationSent: 'Invitation sent',
} as const;

export type TeamRole = q.TeamRole;

export interface Caller {
  id: number;
  email: string;
  name: string;
}

const iso = (v: Date | string) => new Date(v).toISOString();

// ---- output shapes --------------------------------------------------------------------------------------------

export type { InvitationOut, MemberOut, TeamResponse, TeamSummary };

/** A member row with the user's name and address (from the auth service). */
type Member = q.MemberRow & { email: string; name: string };

const memberOut = (r: Member): MemberOut => ({
  user_id: r.userId,
  email: r.email,
  name: r.name,
  role: r.role,
  invited_at: iso(r.invitedAt),
  joined_at: iso(r.joinedAt),
});

const invitationOut = (r: q.InvitationRow): InvitationOut => ({
  id: r.id,
  team_id: r.teamId,
  email: r.email,
  role: r.role,
  invited_by: r.invitedBy,
  created_at: iso(r.createdAt),
  expires_at: iso(r.expiresAt),
});

// ---- membership -----------------------------------------------------------------------------------------------

interface Membership {
  team: q.TeamRow;
  role: TeamRole;
}

/**
 * The team and the caller's role; 403 "You are not a member of this team" when the team does not exist or the
 * caller has not joined it (the two cases are indistinguishable). With `lock`, the team row is locked.
 */
async function membership(db: DbOrTx, teamId: number, userId: number, lock = false): Promise<Membership> {
  const team = await q.teamById(db, teamId, lock);
  if (!team) throw new HttpError(403, MSG.notMember);
  const member = await q.memberOf(db, teamId, userId);
  if (!member) throw new HttpError(403, MSG.notMember);
  return { team, role: member.role };
}

function requireRole(m: Membership, ...roles: TeamRole[]): void {
  if (!roles.includes(m.role)) throw new HttpError(403, MSG.insufficientRole);
}

/** Member rows with their users' names and addresses, in the same order. */
async function withContacts(db: DbOrTx, rows: q.MemberRow[]): Promise<Member[]> {
  const contacts = new Map(
    (
      await userContacts(
        db,
        rows.map((r) => r.userId),
      )
    ).map((u) => [u.id, u]),
  );
  const out: Member[] = [];
  for (const r of rows) {
    const u = contacts.get(r.userId);
    if (u) out.push({ ...r, email: u.email, name: u.name });
  }
  return out;
}

async function members(db: DbOrTx, teamId: number): Promise<MemberOut[]> {
  return (await withContacts(db, await q.membersOf(db, teamId))).map(memberOut);
}

async function teamResponse(db: DbOrTx, m: Membership): Promise<TeamResponse> {
  return {
    id: m.team.id,
    name: m.team.name,
    created_at: iso(m.team.createdAt),
    owner_id: m.team.ownerId,
    my_role: m.role,
    members: await members(db, m.team.id),
  };
}

// ---- teams ----------------------------------------------------------------------------------------------------

export async function createTeam(ctx: AppContext, caller: Caller, name: string): Promise<TeamResponse> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const team = await q.insertTeam(tx, name, caller.id, now);
    await q.insertMember(tx, {
      teamId: team.id,
      userId: caller.id,
      role: 'owner',
      invitedAt: now,
      joinedAt: now,
    });
    return teamResponse(tx, { team, role: 'owner' });
  });
}

export async function listTeams(ctx: AppContext, userId: number): Promise<TeamSummary[]> {
  const rows = await q.teamsOfUser(ctx.db, userId);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    created_at: iso(r.createdAt),
    owner_id: r.ownerId,
    member_count: Number(r.memberCount),
    my_role: r.role,
  }));
}

export async function getTeam(ctx: AppContext, userId: number, teamId: number): Promise<TeamResponse> {
  return teamResponse(ctx.db, await membership(ctx.db, teamId, userId));
}

/** Owner only: memberships and invitations go with the team (cascade); its models stay with their owners, unshared. */
export async function deleteTeam(ctx: AppContext, userId: number, teamId: number): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    requireRole(m, 'owner');
    await unshareModels(tx, { teamId });
    await q.deleteTeam(tx, teamId);
  });
}

// ---- members --------------------------------------------------------------------------------------------------

/** Remove a membership and unshare the departing user's models from that team. */
async function dropMember(tx: DbOrTx, teamId: number, userId: number): Promise<void> {
  await q.deleteMember(tx, teamId, userId);
  await unshareModels(tx, { teamId, userId });
}

export async function leaveTeam(ctx: AppContext, userId: number, teamId: number): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    if (m.role === 'owner') throw new HttpError(409, MSG.ownerCannotLeave);
    await dropMember(tx, teamId, userId);
  });
}

async function targetMember(tx: DbOrTx, teamId: number, userId: number): Promise<Member> {
  const row = await q.memberOf(tx, teamId, userId);
  const [member] = row ? await withContacts(tx, [row]) : [];
  if (!member) throw new HttpError(404, MSG.memberNotFound);
  return member;
}

/** Owner removes anyone but the owner; admin removes members only. */
export async function removeMember(
  ctx: AppContext,
  userId: number,
  teamId: number,
  targetId: number,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    requireRole(m, 'owner', 'admin');
    const target = await targetMember(tx, teamId, targetId);
    if (target.role === 'owner') throw new HttpError(403, MSG.cannotRemoveOwner);
    if (m.role === 'admin' && target.role !== 'member') throw new HttpError(403, MSG.cannotRemoveRole);
    await dropMember(tx, teamId, targetId);
  });
}

/** Owner only; `role` must be admin or member; the owner's own role changes only through a transfer. */
export async function changeRole(
  ctx: AppContext,
  userId: number,
  teamId: number,
  targetId: number,
  role: string,
): Promise<MemberOut> {
  return ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    requireRole(m, 'owner');
    if (role !== 'admin' && role !== 'member') throw new HttpError(400, MSG.badRole);
    const target = await targetMember(tx, teamId, targetId);
    if (target.role === 'owner') throw new HttpError(403, MSG.cannotChangeOwner);
    await q.setMemberRole(tx, teamId, targetId, role);
    return memberOut({ ...target, role });
  });
}

/** Owner only: the target (another joined member) becomes owner, the previous owner admin, in one transaction. */
export async function transferOwnership(
  ctx: AppContext,
  userId: number,
  teamId: number,
  targetId: number,
): Promise<TeamResponse> {
  return ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    requireRole(m, 'owner');
    if (targetId === userId) throw new HttpError(400, MSG.alreadyOwner);
    await targetMember(tx, teamId, targetId);
    const now = ctx.clock.now();
    // Demote first: at most one owner row per team (uq_team_owner).
    await q.setMemberRole(tx, teamId, userId, 'admin');
    await q.setMemberRole(tx, teamId, targetId, 'owner');
    await q.setTeamOwner(tx, teamId, targetId, now);
    return teamResponse(tx, { team: { ...m.team, ownerId: targetId }, role: 'admin' });
  });
}

// ---- invitations ----------------------------------------------------------------------------------------------

/**
 * Owner or admin. Re-inviting an address with an open invitation revokes the old one. The `team_invite` email goes
 * through the outbox in the same transaction. Returns the invitation and the raw token (only ever in the email).
 */
export async function invite(
  ctx: AppContext,
  caller: Caller,
  teamId: number,
  email: string,
  role: TeamRole,
): Promise<{ invitation: InvitationOut; token: string }> {
  return ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, caller.id, true);
    requireRole(m, 'owner', 'admin');
    if (role === 'owner') throw new HttpError(403, MSG.inviteOwner);
    const invitee = await userIdByEmail(tx, email);
    if (invitee !== null && (await q.memberOf(tx, teamId, invitee))) {
      throw new HttpError(409, MSG.alreadyMemberInvite);
    }
    const now = ctx.clock.now();
    await q.revokeOpenInvitation(tx, teamId, email, now);
    const token = randomToken(32);
    const row = await q.insertInvitation(tx, {
      teamId,
      email,
      role,
      tokenHash: sha256Hex(token),
      invitedBy: caller.id,
      expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
      createdAt: now,
    });
    const invitation = invitationOut(row);
    await enqueueEmail(tx, {
      to: email,
      userId: invitee,
      template: 'team_invite',
      payload: {
        team_id: teamId,
        team_name: m.team.name,
        inviter_name: caller.name,
        role,
        token,
        invitation_id: invitation.id,
      },
      dedupeKey: `team_invite:${invitation.id}`,
    });
    return { invitation, token };
  });
}

/** Pending invitations (not accepted, not revoked, not expired), newest first; owner or admin. */
export async function listInvitations(
  ctx: AppContext,
  userId: number,
  teamId: number,
): Promise<InvitationOut[]> {
  const m = await membership(ctx.db, teamId, userId);
  requireRole(m, 'owner', 'admin');
  return (await q.pendingInvitations(ctx.db, teamId, ctx.clock.now())).map(invitationOut);
}

/** Owner or admin; 404 "Invitation not found" unless it is a pending invitation of this team. */
export async function revokeInvitation(
  ctx: AppContext,
  userId: number,
  teamId: number,
  invitationId: number,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    requireRole(m, 'owner', 'admin');
    if (!(await q.revokeInvitation(tx, teamId, invitationId, ctx.clock.now())))
      throw new HttpError(404, MSG.invitationNotFound);
  });
}

/**
 * Accept an invitation (or the `join` alias with `expectTeamId`): lock it by token hash; unknown, expired, revoked
 * or used → 400; another team → 400; another email → 403 (the invitation stays usable); already a member → 409.
 * Otherwise the membership is inserted and the invitation consumed in one transaction.
 */
export async function acceptInvitation(
  ctx: AppContext,
  caller: Caller,
  token: string,
  expectTeamId?: number,
): Promise<TeamResponse> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const inv = await q.lockInvitationByTokenHash(tx, sha256Hex(token));
    if (
      !inv ||
      inv.acceptedAt !== null ||
      inv.revokedAt !== null ||
      inv.expiresAt.getTime() <= now.getTime()
    ) {
      throw new HttpError(400, MSG.invalidInvitation);
    }
    const teamId = inv.teamId;
    if (expectTeamId !== undefined && expectTeamId !== teamId)
      throw new HttpError(400, MSG.tokenTeamMismatch);
    if (inv.email !== caller.email.trim().toLowerCase()) throw new HttpError(403, MSG.wrongEmail);
    const team = await q.teamById(tx, teamId, true);
    if (!team) throw new HttpError(400, MSG.invalidInvitation); // unreachable: invitations cascade with the team
    const inserted = await q.insertMember(tx, {
      teamId,
      userId: caller.id,
      role: inv.role,
      invitedAt: inv.createdAt,
      joinedAt: now,
    });
    if (!inserted) throw new HttpError(409, MSG.alreadyMember);
    await q.markInvitationAccepted(tx, inv.id, caller.id, now);
    return teamResponse(tx, { team, role: inv.role });
  });
}

/** Retention: invitations settled more than 30 days before `now` are removed; returns how many. */
export function purgeSettledInvitations(ctx: AppContext, now: Date): Promise<number> {
  return q.purgeInvitations(ctx.db, now);
}

// ---- models ---------------------------------------------------------------------------------------------------

/** Owner or admin shares one of their own models; it moves to this team (a model is shared to one team at most). */
export async function shareModel(
  ctx: AppContext,
  userId: number,
  teamId: number,
  modelId: number,
): Promise<ModelSummary> {
  return ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    requireRole(m, 'owner', 'admin');
    const model = await shareOwnModel(tx, userId, modelId, teamId);
    if (!model) throw new HttpError(404, MSG.modelNotFound);
    return modelSummary(model, userId);
  });
}

/** Owner or admin unshares any model of the team; a member only their own. 404 unless shared to this team. */
export async function unshareModel(
  ctx: AppContext,
  userId: number,
  teamId: number,
  modelId: number,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    const model = await lockTeamModel(tx, teamId, modelId);
    if (!model) throw new HttpError(404, MSG.modelNotFound);
    if (m.role === 'member' && model.userId !== userId) throw new HttpError(403, MSG.insufficientRole);
    await unshareModels(tx, { modelId });
  });
}

/** Models shared to the team, newest first; any member. */
export async function teamModels(ctx: AppContext, userId: number, teamId: number): Promise<ModelSummary[]> {
  await membership(ctx.db, teamId, userId);
  return (await modelsOfTeam(ctx.db, teamId)).map((m) => modelSummary(m, userId));
}

/** Ids of the teams the user belongs to (the models domain shows the models shared to them). */
export function teamIdsOf(db: DbOrTx, userId: number): Promise<number[]> {
  return q.teamIdsOfUser(db, userId);
}
