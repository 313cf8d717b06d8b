/**
 * Every statement on the teams domain's tables: `teams`, `team_members`, `team_invitations` (docs/data-model.md).
 * Plain functions taking the handle they run on; row types come from the Drizzle schema. Names and addresses of
 * members come from the auth service, shared models from the models service — never from here.
 */
import { and, asc, count, desc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db/client.ts';
import { teamInvitations, teamMembers, teams } from '../core/db/schema.ts';

export type TeamRow = Pick<typeof teams.$inferSelect, 'id' | 'name' | 'ownerId' | 'createdAt'>;
export type MemberRow = typeof teamMembers.$inferSelect;
export type InvitationRow = typeof teamInvitations.$inferSelect;
export type TeamRole = MemberRow['role'];
export type InviteRole = InvitationRow['role'];

const teamColumns = { id: teams.id, name: teams.name, ownerId: teams.ownerId, createdAt: teams.createdAt };

// ---- teams ----------------------------------------------------------------------------------------------------

/** The team, locked `FOR UPDATE` until the transaction ends when `lock` is set. */
export async function teamById(db: DbOrTx, teamId: number, lock = false): Promise<TeamRow | null> {
  const query = db.select(teamColumns).from(teams).where(eq(teams.id, teamId));
  const [row] = lock ? await query.for('update') : await query;
  return row ?? null;
}

export async function insertTeam(db: DbOrTx, name: string, ownerId: number, at: Date): Promise<TeamRow> {
  const [row] = await db
    .insert(teams)
    .values({ name, ownerId, createdAt: at, updatedAt: at })
    .returning(teamColumns);
  return row!;
}

export async function deleteTeam(db: DbOrTx, teamId: number): Promise<void> {
  await db.delete(teams).where(eq(teams.id, teamId));
}

export async function setTeamOwner(db: DbOrTx, teamId: number, ownerId: number, at: Date): Promise<void> {
  await db.update(teams).set({ ownerId, updatedAt: at }).where(eq(teams.id, teamId));
}

/** The teams the user has joined, with the user's role and the member count, newest first. */
export function teamsOfUser(
  db: DbOrTx,
  userId: number,
): Promise<(TeamRow & { role: TeamRole; memberCount: number })[]> {
  const counted = db
    .select({ teamId: teamMembers.teamId, n: count().as('n') })
    .from(teamMembers)
    .groupBy(teamMembers.teamId)
    .as('counted');
  return db
    .select({ ...teamColumns, role: teamMembers.role, memberCount: sql<number>`${counted.n}::int` })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .innerJoin(counted, eq(counted.teamId, teams.id))
    .where(eq(teamMembers.userId, userId))
    .orderBy(desc(teams.createdAt), desc(teams.id));
}

// ---- members --------------------------------------------------------------------------------------------------

export async function memberOf(db: DbOrTx, teamId: number, userId: number): Promise<MemberRow | null> {
  const [row] = await db
    .select()
    .from(teamMembers)
    .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)));
  return row ?? null;
}

/** The team's members in the order they joined. */
export function membersOf(db: DbOrTx, teamId: number): Promise<MemberRow[]> {
  return db
    .select()
    .from(teamMembers)
    .where(eq(teamMembers.teamId, teamId))
    .orderBy(asc(teamMembers.joinedAt), asc(teamMembers.id));
}

/** Insert a membership; false when the user already is a member (`uq_team_member`). */
export async function insertMember(
  db: DbOrTx,
  values: Pick<typeof teamMembers.$inferInsert, 'teamId' | 'userId' | 'role' | 'invitedAt' | 'joinedAt'>,
): Promise<boolean> {
  const rows = await db
    .insert(teamMembers)
    .values(values)
    .onConflictDoNothing({ target: [teamMembers.teamId, teamMembers.userId] })
    .returning({ id: teamMembers.id });
  return rows.length > 0;
}

export async function deleteMember(db: DbOrTx, teamId: number, userId: number): Promise<void> {
  await db.delete(teamMembers).where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)));
}

export async function setMemberRole(
  db: DbOrTx,
  teamId: number,
  userId: number,
  role: TeamRole,
): Promise<void> {
  await db
    .update(teamMembers)
    .set({ role })
    .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)));
}

export async function teamIdsOfUser(db: DbOrTx, userId: number): Promise<number[]> {
  const rows = await db
    .select({ id: teamMembers.teamId })
    .from(teamMembers)
    .where(eq(teamMembers.userId, userId));
  return rows.map((r) => r.id);
}

// ---- invitations ----------------------------------------------------------------------------------------------

const pending = (now: Date) =>
  and(
    isNull(teamInvitations.acceptedAt),
    isNull(teamInvitations.revokedAt),
    gt(teamInvitations.expiresAt, now),
  );

/** Revoke the open invitation of this address to this team, if there is one. */
export async function revokeOpenInvitation(
  db: DbOrTx,
  teamId: number,
  email: string,
  at: Date,
): Promise<void> {
  await db
    .update(teamInvitations)
    .set({ revokedAt: at })
    .where(
      and(
        eq(teamInvitations.teamId, teamId),
        eq(teamInvitations.email, email),
        isNull(teamInvitations.acceptedAt),
        isNull(teamInvitations.revokedAt),
      ),
    );
}

export async function insertInvitation(
  db: DbOrTx,
  values: Pick<
    typeof teamInvitations.$inferInsert,
    'teamId' | 'email' | 'role' | 'tokenHash' | 'invitedBy' | 'expiresAt' | 'createdAt'
  >,
): Promise<InvitationRow> {
  const [row] = await db.insert(teamInvitations).values(values).returning();
  return row!;
}

/** Pending invitations of the team (not accepted, revoked or expired at `now`), newest first. */
export function pendingInvitations(db: DbOrTx, teamId: number, now: Date): Promise<InvitationRow[]> {
  return db
    .select()
    .from(teamInvitations)
    .where(and(eq(teamInvitations.teamId, teamId), pending(now)))
    .orderBy(desc(teamInvitations.createdAt), desc(teamInvitations.id));
}

/** Revoke a pending invitation of this team; false when there is none. */
export async function revokeInvitation(
  db: DbOrTx,
  teamId: number,
  invitationId: number,
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(teamInvitations)
    .set({ revokedAt: now })
    .where(and(eq(teamInvitations.id, invitationId), eq(teamInvitations.teamId, teamId), pending(now)))
    .returning({ id: teamInvitations.id });
  return rows.length > 0;
}

/** The invitation with this token hash, locked until the transaction ends. */
export async function lockInvitationByTokenHash(
  tx: DbOrTx,
  tokenHash: string,
): Promise<InvitationRow | null> {
  const [row] = await tx
    .select()
    .from(teamInvitations)
    .where(eq(teamInvitations.tokenHash, tokenHash))
    .for('update');
  return row ?? null;
}

export async function markInvitationAccepted(
  db: DbOrTx,
  invitationId: number,
  userId: number,
  at: Date,
): Promise<void> {
  await db
    .update(teamInvitations)
    .set({ acceptedAt: at, acceptedBy: userId })
    .where(eq(teamInvitations.id, invitationId));
}

/** Retention: drop invitations accepted, revoked or expired more than 30 days before `now`. */
export async function purgeInvitations(db: DbOrTx, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - 30 * 24 * 3600_000);
  const rows = await db
    .delete(teamInvitations)
    .where(
      lt(
        sql`coalesce(${teamInvitations.acceptedAt}, ${teamInvitations.revokedAt}, ${teamInvitations.expiresAt})`,
        cutoff,
      ),
    )
    .returning({ id: teamInvitations.id });
  return rows.length;
}
