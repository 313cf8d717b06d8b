/**
 * Teams, members, invitations and model sharing (docs/api.md §2.8, §4.1, §4.13; tables: docs/data-model.md §2–§3).
 *
 * Every team-scoped action first resolves the caller's joined membership: a caller who is not a joined member of the
 * team — whether it exists or not — gets 403 "You are not a member of this team", so another team's ids reveal
 * nothing. Mutations lock the team row (`FOR UPDATE`) before reading roles, so concurrent role changes, removals,
 * transfers and deletions serialize per team. Invitation tokens are 32 random bytes (base64url); only their SHA-256
 * is stored; they expire after 72 h and are consumed by one locked update.
 */
import { eq, sql } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../auth/tokens.ts';
import type { AppContext } from '../core/context.ts';
import { type DbOrTx, execRows } from '../core/db/client.ts';
import { teamMembers } from '../core/db/schema.ts';
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

export type TeamRole = 'owner' | 'admin' | 'member';

export interface Caller {
  id: number;
  email: string;
  name: string;
}

const iso = (v: Date | string) => new Date(v).toISOString();

// ---- output shapes --------------------------------------------------------------------------------------------

export interface MemberOut {
  user_id: number;
  email: string;
  name: string;
  role: TeamRole;
  invited_at: string;
  joined_at: string;
}

export interface TeamResponse {
  id: number;
  name: string;
  created_at: string;
  owner_id: number;
  my_role: TeamRole;
  members: MemberOut[];
}

export interface TeamSummary {
  id: number;
  name: string;
  created_at: string;
  owner_id: number;
  member_count: number;
  my_role: TeamRole;
}

export interface InvitationOut {
  id: number;
  team_id: number;
  email: string;
  role: 'admin' | 'member';
  invited_by: number | null;
  created_at: string;
  expires_at: string;
}

interface TeamRow {
  id: number;
  name: string;
  owner_id: number;
  created_at: Date | string;
}

interface MemberRow {
  user_id: number;
  email: string;
  name: string;
  role: TeamRole;
  invited_at: Date | string;
  joined_at: Date | string;
}

interface InvitationRow {
  id: number;
  team_id: number;
  email: string;
  role: 'admin' | 'member';
  invited_by: number | null;
  created_at: Date | string;
  expires_at: Date | string;
  accepted_at: Date | string | null;
  revoked_at: Date | string | null;
}

const memberOut = (r: MemberRow): MemberOut => ({
  user_id: Number(r.user_id),
  email: r.email,
  name: r.name,
  role: r.role,
  invited_at: iso(r.invited_at),
  joined_at: iso(r.joined_at),
});

const invitationOut = (r: InvitationRow): InvitationOut => ({
  id: Number(r.id),
  team_id: Number(r.team_id),
  email: r.email,
  role: r.role,
  invited_by: r.invited_by === null ? null : Number(r.invited_by),
  created_at: iso(r.created_at),
  expires_at: iso(r.expires_at),
});

// ---- membership -----------------------------------------------------------------------------------------------

interface Membership {
  team: TeamRow;
  role: TeamRole;
}

/**
 * The team and the caller's role; 403 "You are not a member of this team" when the team does not exist or the
 * caller has not joined it (the two cases are indistinguishable). With `lock`, the team row is locked.
 */
async function membership(db: DbOrTx, teamId: number, userId: number, lock = false): Promise<Membership> {
  const teams = await execRows<TeamRow>(
    db,
    lock
      ? sql`SELECT id, name, owner_id, created_at FROM teams WHERE id = ${teamId} FOR UPDATE`
      : sql`SELECT id, name, owner_id, created_at FROM teams WHERE id = ${teamId}`,
  );
  const team = teams[0];
  if (!team) throw new HttpError(403, MSG.notMember);
  const rows = await execRows<{ role: TeamRole }>(
    db,
    sql`SELECT role FROM team_members WHERE team_id = ${teamId} AND user_id = ${userId}`,
  );
  if (!rows[0]) throw new HttpError(403, MSG.notMember);
  return { team: { ...team, id: Number(team.id), owner_id: Number(team.owner_id) }, role: rows[0].role };
}

function requireRole(m: Membership, ...roles: TeamRole[]): void {
  if (!roles.includes(m.role)) throw new HttpError(403, MSG.insufficientRole);
}

async function members(db: DbOrTx, teamId: number): Promise<MemberOut[]> {
  const rows = await execRows<MemberRow>(
    db,
    sql`SELECT tm.user_id, u.email, u.name, tm.role, tm.invited_at, tm.joined_at
          FROM team_members tm JOIN users u ON u.id = tm.user_id
         WHERE tm.team_id = ${teamId}
         ORDER BY tm.joined_at, tm.id`,
  );
  return rows.map(memberOut);
}

async function teamResponse(db: DbOrTx, m: Membership): Promise<TeamResponse> {
  return {
    id: m.team.id,
    name: m.team.name,
    created_at: iso(m.team.created_at),
    owner_id: m.team.owner_id,
    my_role: m.role,
    members: await members(db, m.team.id),
  };
}

// ---- teams ----------------------------------------------------------------------------------------------------

export async function createTeam(ctx: AppContext, caller: Caller, name: string): Promise<TeamResponse> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const [team] = await execRows<TeamRow>(
      tx,
      sql`INSERT INTO teams (name, owner_id, created_at, updated_at) VALUES (${name}, ${caller.id}, ${now}, ${now})
          RETURNING id, name, owner_id, created_at`,
    );
    const teamId = Number(team!.id);
    await tx.execute(
      sql`INSERT INTO team_members (team_id, user_id, role, invited_at, joined_at)
          VALUES (${teamId}, ${caller.id}, 'owner', ${now}, ${now})`,
    );
    return teamResponse(tx, { team: { ...team!, id: teamId, owner_id: caller.id }, role: 'owner' });
  });
}

export async function listTeams(ctx: AppContext, userId: number): Promise<TeamSummary[]> {
  const rows = await execRows<TeamRow & { role: TeamRole; member_count: number | string }>(
    ctx.db,
    sql`SELECT t.id, t.name, t.owner_id, t.created_at, me.role,
               (SELECT count(*) FROM team_members c WHERE c.team_id = t.id) AS member_count
          FROM team_members me JOIN teams t ON t.id = me.team_id
         WHERE me.user_id = ${userId}
         ORDER BY t.created_at DESC, t.id DESC`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    created_at: iso(r.created_at),
    owner_id: Number(r.owner_id),
    member_count: Number(r.member_count),
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
    await tx.execute(sql`DELETE FROM teams WHERE id = ${teamId}`);
  });
}

// ---- members --------------------------------------------------------------------------------------------------

/** Remove a membership and unshare the departing user's models from that team. */
async function dropMember(tx: DbOrTx, teamId: number, userId: number): Promise<void> {
  await tx.execute(sql`DELETE FROM team_members WHERE team_id = ${teamId} AND user_id = ${userId}`);
  await unshareModels(tx, { teamId, userId });
}

export async function leaveTeam(ctx: AppContext, userId: number, teamId: number): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const m = await membership(tx, teamId, userId, true);
    if (m.role === 'owner') throw new HttpError(409, MSG.ownerCannotLeave);
    await dropMember(tx, teamId, userId);
  });
}

async function targetMember(tx: DbOrTx, teamId: number, userId: number): Promise<MemberRow> {
  const rows = await execRows<MemberRow>(
    tx,
    sql`SELECT tm.user_id, u.email, u.name, tm.role, tm.invited_at, tm.joined_at
          FROM team_members tm JOIN users u ON u.id = tm.user_id
         WHERE tm.team_id = ${teamId} AND tm.user_id = ${userId}`,
  );
  if (!rows[0]) throw new HttpError(404, MSG.memberNotFound);
  return rows[0];
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
    await tx.execute(
      sql`UPDATE team_members SET role = ${role} WHERE team_id = ${teamId} AND user_id = ${targetId}`,
    );
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
    await tx.execute(
      sql`UPDATE team_members SET role = 'admin' WHERE team_id = ${teamId} AND user_id = ${userId}`,
    );
    await tx.execute(
      sql`UPDATE team_members SET role = 'owner' WHERE team_id = ${teamId} AND user_id = ${targetId}`,
    );
    await tx.execute(sql`UPDATE teams SET owner_id = ${targetId}, updated_at = ${now} WHERE id = ${teamId}`);
    return teamResponse(tx, { team: { ...m.team, owner_id: targetId }, role: 'admin' });
  });
}

// ---- invitations ----------------------------------------------------------------------------------------------

const INVITATION_COLS = sql.raw(
  'id, team_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at',
);

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
    const existing = await execRows<{ id: number }>(
      tx,
      sql`SELECT u.id FROM users u WHERE u.email = ${email}`,
    );
    const invitee = existing[0] ? Number(existing[0].id) : null;
    if (invitee !== null) {
      const joined = await execRows(
        tx,
        sql`SELECT 1 AS ok FROM team_members WHERE team_id = ${teamId} AND user_id = ${invitee}`,
      );
      if (joined.length > 0) throw new HttpError(409, MSG.alreadyMemberInvite);
    }
    const now = ctx.clock.now();
    await tx.execute(
      sql`UPDATE team_invitations SET revoked_at = ${now}
           WHERE team_id = ${teamId} AND email = ${email} AND accepted_at IS NULL AND revoked_at IS NULL`,
    );
    const token = randomToken(32);
    const expires = new Date(now.getTime() + INVITATION_TTL_MS);
    const [row] = await execRows<InvitationRow>(
      tx,
      sql`INSERT INTO team_invitations (team_id, email, role, token_hash, invited_by, expires_at, created_at)
          VALUES (${teamId}, ${email}, ${role}, ${sha256Hex(token)}, ${caller.id}, ${expires}, ${now})
          RETURNING ${INVITATION_COLS}`,
    );
    const invitation = invitationOut(row!);
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
  const now = ctx.clock.now();
  const rows = await execRows<InvitationRow>(
    ctx.db,
    sql`SELECT ${INVITATION_COLS} FROM team_invitations
         WHERE team_id = ${teamId} AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ${now}
         ORDER BY created_at DESC, id DESC`,
  );
  return rows.map(invitationOut);
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
    const now = ctx.clock.now();
    const rows = await execRows(
      tx,
      sql`UPDATE team_invitations SET revoked_at = ${now}
           WHERE id = ${invitationId} AND team_id = ${teamId}
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ${now}
       RETURNING id`,
    );
    if (rows.length === 0) throw new HttpError(404, MSG.invitationNotFound);
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
    const rows = await execRows<InvitationRow>(
      tx,
      sql`SELECT ${INVITATION_COLS} FROM team_invitations WHERE token_hash = ${sha256Hex(token)} FOR UPDATE`,
    );
    const inv = rows[0];
    if (
      !inv ||
      inv.accepted_at !== null ||
      inv.revoked_at !== null ||
      new Date(inv.expires_at).getTime() <= now.getTime()
    ) {
      throw new HttpError(400, MSG.invalidInvitation);
    }
    const teamId = Number(inv.team_id);
    if (expectTeamId !== undefined && expectTeamId !== teamId)
      throw new HttpError(400, MSG.tokenTeamMismatch);
    if (inv.email !== caller.email.trim().toLowerCase()) throw new HttpError(403, MSG.wrongEmail);
    const teams = await execRows<TeamRow>(
      tx,
      sql`SELECT id, name, owner_id, created_at FROM teams WHERE id = ${teamId} FOR UPDATE`,
    );
    const team = teams[0];
    if (!team) throw new HttpError(400, MSG.invalidInvitation); // unreachable: invitations cascade with the team
    const inserted = await execRows(
      tx,
      sql`INSERT INTO team_members (team_id, user_id, role, invited_at, joined_at)
          VALUES (${teamId}, ${caller.id}, ${inv.role}, ${inv.created_at}, ${now})
          ON CONFLICT ON CONSTRAINT uq_team_member DO NOTHING
          RETURNING id`,
    );
    if (inserted.length === 0) throw new HttpError(409, MSG.alreadyMember);
    await tx.execute(
      sql`UPDATE team_invitations SET accepted_at = ${now}, accepted_by = ${caller.id} WHERE id = ${inv.id}`,
    );
    return teamResponse(tx, {
      team: { ...team, id: teamId, owner_id: Number(team.owner_id) },
      role: inv.role,
    });
  });
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
export async function teamIdsOf(db: DbOrTx, userId: number): Promise<number[]> {
  const rows = await db
    .select({ id: teamMembers.teamId })
    .from(teamMembers)
    .where(eq(teamMembers.userId, userId));
  return rows.map((r) => r.id);
}
