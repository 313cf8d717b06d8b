/**
 * Teams on real PostgreSQL: the role matrix of docs/api.md §4.13 (owner / admin / member / non-member × every team
 * endpoint, each cell on a fresh team, checking both the answer and the database afterwards), the per-action rules
 * (remove, role change, transfer, share), an IDOR sweep and the OpenAPI description.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser, type TestUser } from './helpers/users.ts';
import { addModel, call, inviteToken, modelTeam, type Res, roleOf, teamWith } from './teams-helpers.ts';

const NOT_MEMBER = { detail: 'You are not a member of this team' };
const INSUFFICIENT = { detail: 'Insufficient team role' };
const WRONG_EMAIL = { detail: 'This invite was issued for a different email address' };

type Who = 'owner' | 'admin' | 'member' | 'outsider';
const WHO: Who[] = ['owner', 'admin', 'member', 'outsider'];

describe('teams: roles and permissions', () => {
  let server: TestServer;
  let O: TestUser; // owner
  let A: TestUser; // admin
  let A2: TestUser; // second admin
  let M: TestUser; // member
  let M2: TestUser; // second member
  let X: TestUser; // outsider (owns another team)
  let U: TestUser; // unverified

  beforeAll(async () => {
    server = await startTestServer({ workers: false });
    [O, A, A2, M, M2, X] = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) => createUser(server, { name: `User ${i}` })),
    );
    U = await createUser(server, { verified: false });
  });
  afterAll(() => server?.close());

  const actor = (w: Who) => ({ owner: O, admin: A, member: M, outsider: X })[w];
  const fresh = () =>
    teamWith(server, O, [
      { user: A, role: 'admin' },
      { user: A2, role: 'admin' },
      { user: M, role: 'member' },
      { user: M2, role: 'member' },
    ]);
  const teamExists = async (id: number) =>
    (await server.ctx.database.query('SELECT 1 FROM teams WHERE id = $1', [id])).rows.length === 1;

  interface Cell {
    status: number;
    body?: unknown;
  }
  interface Case {
    name: string;
    expect: Record<Who, Cell>;
    /** Prepare the team for one cell; returns the request. */
    run(
      teamId: number,
      who: Who,
      user: TestUser,
    ): Promise<{ res: Res; verify: (ok: boolean) => Promise<void> }>;
  }

  const cases: Case[] = [
    {
      name: 'GET /api/teams/{id}',
      expect: {
        owner: { status: 200 },
        admin: { status: 200 },
        member: { status: 200 },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, who, user) {
        const res = await call(server, 'GET', `/api/teams/${teamId}`, user);
        return {
          res,
          verify: async (ok) => {
            if (!ok) return;
            expect(res.body.my_role).toBe(who);
            expect(res.body.owner_id).toBe(O.id);
            expect(res.body.members.map((m: any) => m.user_id).sort()).toEqual(
              [O, A, A2, M, M2].map((u) => u.id).sort(),
            );
            expect(res.body.members.find((m: any) => m.user_id === A.id)).toMatchObject({
              role: 'admin',
              email: A.email,
              name: A.name,
            });
          },
        };
      },
    },
    {
      name: 'GET /api/teams/{id}/models',
      expect: {
        owner: { status: 200 },
        admin: { status: 200 },
        member: { status: 200 },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, who, user) {
        const model = await addModel(server, A2.id, 'shared word', teamId);
        await addModel(server, A2.id, 'private word');
        const res = await call(server, 'GET', `/api/teams/${teamId}/models`, user);
        return {
          res,
          verify: async (ok) => {
            if (!ok) return;
            expect(res.body).toHaveLength(1);
            expect(res.body[0]).toMatchObject({
              id: model.id,
              team_id: teamId,
              owner_id: A2.id,
              shared: true,
              wake_word: 'shared word',
            });
            void who;
          },
        };
      },
    },
    {
      name: 'POST /api/teams/{id}/invite',
      expect: {
        owner: { status: 201 },
        admin: { status: 201 },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const email = `invitee-${randomBytes(4).toString('hex')}@example.com`;
        const res = await call(server, 'POST', `/api/teams/${teamId}/invite`, user, { email, role: 'admin' });
        return {
          res,
          verify: async (ok) => {
            const rows = await server.ctx.database.query(
              'SELECT email, role, invited_by FROM team_invitations WHERE team_id = $1',
              [teamId],
            );
            const mails = await server.ctx.database.query(
              `SELECT 1 FROM email_outbox WHERE template = 'team_invite' AND to_address = $1`,
              [email],
            );
            expect(rows.rows.length).toBe(ok ? 1 : 0);
            expect(mails.rows.length).toBe(ok ? 1 : 0);
            if (ok) {
              expect(res.body).toMatchObject({
                message: 'Invitation sent',
                invitation: { team_id: teamId, email, role: 'admin', invited_by: user.id },
              });
            }
          },
        };
      },
    },
    {
      name: 'GET /api/teams/{id}/invitations',
      expect: {
        owner: { status: 200 },
        admin: { status: 200 },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const { invitation } = await inviteToken(
          server,
          O,
          teamId,
          `pending-${randomBytes(4).toString('hex')}@example.com`,
        );
        const res = await call(server, 'GET', `/api/teams/${teamId}/invitations`, user);
        return {
          res,
          verify: async (ok) => {
            if (ok) expect(res.body).toEqual([invitation]);
          },
        };
      },
    },
    {
      name: 'DELETE /api/teams/{id}/invitations/{invitation_id}',
      expect: {
        owner: { status: 204 },
        admin: { status: 204 },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const { invitation } = await inviteToken(
          server,
          O,
          teamId,
          `revoke-${randomBytes(4).toString('hex')}@example.com`,
        );
        const res = await call(server, 'DELETE', `/api/teams/${teamId}/invitations/${invitation.id}`, user);
        return {
          res,
          verify: async (ok) => {
            const r = await server.ctx.database.query<{ revoked_at: Date | null }>(
              'SELECT revoked_at FROM team_invitations WHERE id = $1',
              [invitation.id],
            );
            expect(r.rows[0]!.revoked_at !== null).toBe(ok);
            if (ok) expect(res.text).toBe('');
          },
        };
      },
    },
    {
      name: 'DELETE /api/teams/{id}/members/{user_id} (a member)',
      expect: {
        owner: { status: 200, body: { message: 'Member removed' } },
        admin: { status: 200, body: { message: 'Member removed' } },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const res = await call(server, 'DELETE', `/api/teams/${teamId}/members/${M2.id}`, user);
        return {
          res,
          verify: async (ok) => expect(await roleOf(server, teamId, M2.id)).toBe(ok ? null : 'member'),
        };
      },
    },
    {
      name: 'PATCH /api/teams/{id}/members/{user_id}?role=admin',
      expect: {
        owner: { status: 200 },
        admin: { status: 403, body: INSUFFICIENT },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const res = await call(server, 'PATCH', `/api/teams/${teamId}/members/${M2.id}?role=admin`, user);
        return {
          res,
          verify: async (ok) => {
            expect(await roleOf(server, teamId, M2.id)).toBe(ok ? 'admin' : 'member');
            if (ok)
              expect(res.body).toMatchObject({
                user_id: M2.id,
                email: M2.email,
                name: M2.name,
                role: 'admin',
              });
          },
        };
      },
    },
    {
      name: 'POST /api/teams/{id}/transfer',
      expect: {
        owner: { status: 200 },
        admin: { status: 403, body: INSUFFICIENT },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const res = await call(server, 'POST', `/api/teams/${teamId}/transfer`, user, { user_id: A2.id });
        return {
          res,
          verify: async (ok) => {
            const t = await server.ctx.database.query<{ owner_id: number }>(
              'SELECT owner_id FROM teams WHERE id = $1',
              [teamId],
            );
            expect(Number(t.rows[0]!.owner_id)).toBe(ok ? A2.id : O.id);
            expect(await roleOf(server, teamId, A2.id)).toBe(ok ? 'owner' : 'admin');
            expect(await roleOf(server, teamId, O.id)).toBe(ok ? 'admin' : 'owner');
            if (ok) expect(res.body).toMatchObject({ id: teamId, owner_id: A2.id, my_role: 'admin' });
          },
        };
      },
    },
    {
      name: 'DELETE /api/teams/{id}',
      expect: {
        owner: { status: 200, body: { message: 'Team deleted' } },
        admin: { status: 403, body: INSUFFICIENT },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const model = await addModel(server, M.id, 'member word', teamId);
        const res = await call(server, 'DELETE', `/api/teams/${teamId}`, user);
        return {
          res,
          verify: async (ok) => {
            expect(await teamExists(teamId)).toBe(!ok);
            expect(await modelTeam(server, model.id)).toBe(ok ? null : teamId);
          },
        };
      },
    },
    {
      name: 'POST /api/teams/{id}/models/{model_id}/share (own model)',
      expect: {
        owner: { status: 200 },
        admin: { status: 200 },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const model = await addModel(server, user.id, 'to share');
        const res = await call(server, 'POST', `/api/teams/${teamId}/models/${model.id}/share`, user);
        return {
          res,
          verify: async (ok) => {
            expect(await modelTeam(server, model.id)).toBe(ok ? teamId : null);
            if (ok)
              expect(res.body).toMatchObject({
                id: model.id,
                team_id: teamId,
                owner_id: user.id,
                shared: false,
                wake_word: 'to share',
                quality_grade: 'B',
              });
          },
        };
      },
    },
    {
      name: "DELETE /api/teams/{id}/models/{model_id} (another member's model)",
      expect: {
        owner: { status: 200, body: { message: 'Model unshared' } },
        admin: { status: 200, body: { message: 'Model unshared' } },
        member: { status: 403, body: INSUFFICIENT },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, _who, user) {
        const model = await addModel(server, A2.id, 'theirs', teamId);
        const res = await call(server, 'DELETE', `/api/teams/${teamId}/models/${model.id}`, user);
        return {
          res,
          verify: async (ok) => expect(await modelTeam(server, model.id)).toBe(ok ? null : teamId),
        };
      },
    },
    {
      name: 'DELETE /api/teams/{id}/models/{model_id} (own model)',
      expect: {
        owner: { status: 200, body: { message: 'Model unshared' } },
        admin: { status: 200, body: { message: 'Model unshared' } },
        member: { status: 200, body: { message: 'Model unshared' } },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, who, user) {
        // The outsider's model cannot be in the team; use a team member's model for that cell.
        const model = await addModel(server, who === 'outsider' ? M2.id : user.id, 'mine', teamId);
        const res = await call(server, 'DELETE', `/api/teams/${teamId}/models/${model.id}`, user);
        return {
          res,
          verify: async (ok) => expect(await modelTeam(server, model.id)).toBe(ok ? null : teamId),
        };
      },
    },
    {
      name: "POST /api/teams/{id}/join?token= (someone else's invitation)",
      expect: {
        owner: { status: 403, body: WRONG_EMAIL },
        admin: { status: 403, body: WRONG_EMAIL },
        member: { status: 403, body: WRONG_EMAIL },
        outsider: { status: 403, body: WRONG_EMAIL },
      },
      async run(teamId, _who, user) {
        const { invitation, token } = await inviteToken(
          server,
          O,
          teamId,
          `someone-${teamId}@example.com`,
          'admin',
        );
        const res = await call(server, 'POST', `/api/teams/${teamId}/join?token=${token}`, user);
        return {
          res,
          verify: async () => {
            const r = await server.ctx.database.query<any>(
              'SELECT accepted_at FROM team_invitations WHERE id = $1',
              [invitation.id],
            );
            expect(r.rows[0].accepted_at).toBeNull();
            expect(await roleOf(server, teamId, X.id)).toBeNull();
          },
        };
      },
    },
    {
      name: 'POST /api/teams/invitations/accept (own invitation)',
      expect: {
        owner: { status: 409, body: { detail: 'Already a team member' } },
        admin: { status: 409, body: { detail: 'Already a team member' } },
        member: { status: 409, body: { detail: 'Already a team member' } },
        outsider: { status: 200 },
      },
      async run(teamId, who, user) {
        // Members cannot be invited (409 at invite time), so their invitation predates a membership made meanwhile.
        const email = user.email;
        if (who !== 'outsider')
          await server.ctx.database.query('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [
            teamId,
            user.id,
          ]);
        const { token } = await inviteToken(server, who === 'admin' ? O : A, teamId, email, 'member');
        if (who !== 'outsider') {
          await server.ctx.database.query(
            `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, $3, now())`,
            [teamId, user.id, who],
          );
        }
        const res = await call(server, 'POST', '/api/teams/invitations/accept', user, { token });
        return {
          res,
          verify: async (ok) => {
            expect(await roleOf(server, teamId, user.id)).toBe(ok ? 'member' : who);
            if (ok) expect(res.body).toMatchObject({ id: teamId, my_role: 'member' });
          },
        };
      },
    },
    {
      name: 'DELETE /api/teams/{id}/members/me',
      expect: {
        owner: { status: 409, body: { detail: 'The team owner cannot leave. Transfer ownership first.' } },
        admin: { status: 200, body: { message: 'You left the team' } },
        member: { status: 200, body: { message: 'You left the team' } },
        outsider: { status: 403, body: NOT_MEMBER },
      },
      async run(teamId, who, user) {
        const res = await call(server, 'DELETE', `/api/teams/${teamId}/members/me`, user);
        return {
          res,
          verify: async (ok) => {
            const expected = ok ? null : who === 'outsider' ? null : who;
            expect(await roleOf(server, teamId, user.id)).toBe(expected);
          },
        };
      },
    },
  ];

  for (const c of cases) {
    it(`role matrix: ${c.name}`, async () => {
      for (const who of WHO) {
        const teamId = await fresh();
        const { res, verify } = await c.run(teamId, who, actor(who));
        const cell = c.expect[who];
        expect(res.status, `${who}: ${res.text}`).toBe(cell.status);
        if (cell.body !== undefined) expect(res.body, who).toEqual(cell.body);
        await verify(res.status < 300);
      }
    });
  }

  it('creates and lists teams; needs a verified, signed-in user', async () => {
    const owner = await createUser(server);
    const created = await call(server, 'POST', '/api/teams', owner, { name: 'Acoustics' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Acoustics', owner_id: owner.id, my_role: 'owner' });
    expect(created.body.members).toEqual([
      {
        user_id: owner.id,
        email: owner.email,
        name: owner.name,
        role: 'owner',
        invited_at: expect.any(String),
        joined_at: expect.any(String),
      },
    ]);
    expect(created.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const second = await call(server, 'POST', '/api/teams', owner, { name: 'Second' });
    await server.ctx.database.query(
      `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, 'member', now())`,
      [second.body.id, M.id],
    );
    const list = await call(server, 'GET', '/api/teams', owner);
    expect(list.status).toBe(200);
    expect(list.body.map((t: any) => t.id)).toEqual([second.body.id, created.body.id]);
    expect(list.body[0]).toEqual({
      id: second.body.id,
      name: 'Second',
      created_at: second.body.created_at,
      owner_id: owner.id,
      member_count: 2,
      my_role: 'owner',
    });
    const forMember = await call(server, 'GET', '/api/teams', M);
    expect(forMember.body.find((t: any) => t.id === second.body.id)).toMatchObject({
      my_role: 'member',
      member_count: 2,
    });
    expect(forMember.body.some((t: any) => t.id === created.body.id)).toBe(false);

    for (const name of ['', 'x'.repeat(256)]) {
      const bad = await call(server, 'POST', '/api/teams', owner, { name });
      expect(bad.status).toBe(422);
      expect(bad.body.detail[0].loc).toEqual(['body', 'name']);
    }
    expect((await call(server, 'POST', '/api/teams', owner, { name: 'x'.repeat(255) })).status).toBe(201);
    const unverified = await call(server, 'GET', '/api/teams', U);
    expect(unverified.status).toBe(403);
    expect(unverified.body.detail).toMatch(/^Verify your email address/);
    const anon = await call(server, 'GET', '/api/teams');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Bearer');
    expect((await call(server, 'GET', `/api/teams/${created.body.id}`, U)).status).toBe(403);
  });

  it('remove: owners remove admins and members, admins members only, nobody removes the owner', async () => {
    const t = await fresh();
    const cannotOwner = { detail: 'Cannot remove the team owner' };
    let r = await call(server, 'DELETE', `/api/teams/${t}/members/${A2.id}`, A);
    expect([r.status, r.body]).toEqual([403, { detail: 'Insufficient role to remove this member' }]);
    r = await call(server, 'DELETE', `/api/teams/${t}/members/${O.id}`, A);
    expect([r.status, r.body]).toEqual([403, cannotOwner]);
    r = await call(server, 'DELETE', `/api/teams/${t}/members/${O.id}`, O);
    expect([r.status, r.body]).toEqual([403, cannotOwner]);
    r = await call(server, 'DELETE', `/api/teams/${t}/members/${X.id}`, O);
    expect([r.status, r.body]).toEqual([404, { detail: 'Member not found' }]);
    r = await call(server, 'DELETE', `/api/teams/${t}/members/${A2.id}`, O);
    expect([r.status, r.body]).toEqual([200, { message: 'Member removed' }]);
    expect(await roleOf(server, t, A2.id)).toBeNull();
    // The removed admin lost access at once.
    expect((await call(server, 'GET', `/api/teams/${t}`, A2)).status).toBe(403);
    r = await call(server, 'DELETE', `/api/teams/${t}/members/abc`, O);
    expect(r.status).toBe(422);
  });

  it('role change: owner only, admin or member, never the owner', async () => {
    const t = await fresh();
    let r = await call(server, 'PATCH', `/api/teams/${t}/members/${M.id}?role=owner`, O);
    expect([r.status, r.body]).toEqual([400, { detail: "Role must be 'admin' or 'member'" }]);
    r = await call(server, 'PATCH', `/api/teams/${t}/members/${O.id}?role=member`, O);
    expect([r.status, r.body]).toEqual([403, { detail: "Cannot change the owner's role" }]);
    r = await call(server, 'PATCH', `/api/teams/${t}/members/${X.id}?role=admin`, O);
    expect([r.status, r.body]).toEqual([404, { detail: 'Member not found' }]);
    r = await call(server, 'PATCH', `/api/teams/${t}/members/${M.id}`, O);
    expect(r.status).toBe(422);
    expect(r.body.detail[0]).toMatchObject({ loc: ['query', 'role'], type: 'missing' });
    r = await call(server, 'PATCH', `/api/teams/${t}/members/${A.id}?role=member`, O);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ user_id: A.id, role: 'member' });
    // The demoted admin lost the admin rights at once.
    const inv = await call(server, 'POST', `/api/teams/${t}/invite`, A, { email: 'late@example.com' });
    expect([inv.status, inv.body]).toEqual([403, INSUFFICIENT]);
  });

  it('transfer: to another joined member only; the old owner becomes admin and may then leave', async () => {
    const t = await fresh();
    let r = await call(server, 'POST', `/api/teams/${t}/transfer`, O, { user_id: O.id });
    expect([r.status, r.body]).toEqual([400, { detail: 'You already own this team' }]);
    r = await call(server, 'POST', `/api/teams/${t}/transfer`, O, { user_id: X.id });
    expect([r.status, r.body]).toEqual([404, { detail: 'Member not found' }]);
    r = await call(server, 'POST', `/api/teams/${t}/transfer`, O, { user_id: 'two' });
    expect(r.status).toBe(422);
    r = await call(server, 'POST', `/api/teams/${t}/transfer`, O, { user_id: M.id });
    expect(r.status).toBe(200);
    expect(r.body.members.find((m: any) => m.user_id === M.id).role).toBe('owner');
    expect(r.body.members.find((m: any) => m.user_id === O.id).role).toBe('admin');
    // Exactly one owner row, and the new owner has the owner's rights.
    const owners = await server.ctx.database.query(
      `SELECT user_id FROM team_members WHERE team_id = $1 AND role = 'owner'`,
      [t],
    );
    expect(owners.rows.map((x: any) => Number(x.user_id))).toEqual([M.id]);
    expect((await call(server, 'DELETE', `/api/teams/${t}/members/me`, M)).status).toBe(409);
    expect((await call(server, 'DELETE', `/api/teams/${t}`, O)).status).toBe(403);
    expect((await call(server, 'DELETE', `/api/teams/${t}/members/me`, O)).body).toEqual({
      message: 'You left the team',
    });
    expect((await call(server, 'DELETE', `/api/teams/${t}`, M)).body).toEqual({ message: 'Team deleted' });
  });

  it("share: only the caller's own model, moving it between teams; unshare needs it in this team", async () => {
    const t = await fresh();
    const other = await teamWith(server, O, [], 'Other');
    const mine = await addModel(server, O.id, 'mover', other);
    const theirs = await addModel(server, M.id, 'not yours');
    let r = await call(server, 'POST', `/api/teams/${t}/models/${theirs.id}/share`, O);
    expect([r.status, r.body]).toEqual([404, { detail: 'Model not found' }]);
    expect(await modelTeam(server, theirs.id)).toBeNull();
    r = await call(server, 'POST', `/api/teams/${t}/models/${mine.id}/share`, O);
    expect(r.status).toBe(200);
    expect(await modelTeam(server, mine.id)).toBe(t);
    r = await call(server, 'DELETE', `/api/teams/${other}/models/${mine.id}`, O);
    expect([r.status, r.body]).toEqual([404, { detail: 'Model not found' }]);
    // Member M sees it in the team list and in /api/models; A2 unshares it; M no longer sees it.
    expect((await call(server, 'GET', `/api/teams/${t}/models`, M)).body.map((m: any) => m.id)).toEqual([
      mine.id,
    ]);
    expect((await call(server, 'GET', '/api/models', M)).body.some((m: any) => m.id === mine.id)).toBe(true);
    r = await call(server, 'DELETE', `/api/teams/${t}/models/${mine.id}`, A2);
    expect(r.body).toEqual({ message: 'Model unshared' });
    expect((await call(server, 'GET', `/api/teams/${t}/models`, M)).body).toEqual([]);
    expect((await call(server, 'GET', '/api/models', M)).body.some((m: any) => m.id === mine.id)).toBe(false);
  });

  it('IDOR sweep: ids of another team answer exactly like ids that do not exist, and change nothing', async () => {
    const t = await fresh();
    const tModel = await addModel(server, O.id, 'secret', t);
    const { invitation: tInvite } = await inviteToken(server, O, t, 'pending-t@example.com');
    const y = await teamWith(server, X, [], 'Intruders');
    await addModel(server, X.id, 'intruder word', y);
    const missing = 987654321;

    // Every route with a team id: the other team and a non-existent team give the same 403 body.
    const teamRoutes: [string, (id: number) => string, unknown?][] = [
      ['GET', (id) => `/api/teams/${id}`],
      ['DELETE', (id) => `/api/teams/${id}`],
      ['POST', (id) => `/api/teams/${id}/invite`, { email: 'spy@example.com' }],
      ['GET', (id) => `/api/teams/${id}/invitations`],
      ['DELETE', (id) => `/api/teams/${id}/invitations/${tInvite.id}`],
      ['DELETE', (id) => `/api/teams/${id}/members/me`],
      ['DELETE', (id) => `/api/teams/${id}/members/${M.id}`],
      ['PATCH', (id) => `/api/teams/${id}/members/${M.id}?role=admin`],
      ['POST', (id) => `/api/teams/${id}/transfer`, { user_id: M.id }],
      ['GET', (id) => `/api/teams/${id}/models`],
      ['POST', (id) => `/api/teams/${id}/models/${tModel.id}/share`],
      ['DELETE', (id) => `/api/teams/${id}/models/${tModel.id}`],
    ];
    for (const [method, path, body] of teamRoutes) {
      const real = await call(server, method, path(t), X, body);
      const none = await call(server, method, path(missing), X, body);
      expect(real.status, `${method} ${path(t)}`).toBe(403);
      expect(real.text, `${method} ${path(t)}`).toBe(none.text);
      expect(real.body).toEqual(NOT_MEMBER);
    }

    // Nested ids of the other team, used on the caller's own team: the same 404 as a missing id.
    const nested: [string, (id: number) => string, ((id: number) => unknown)?][] = [
      ['DELETE', (id) => `/api/teams/${y}/invitations/${id}`],
      ['DELETE', (id) => `/api/teams/${y}/members/${id}`],
      ['PATCH', (id) => `/api/teams/${y}/members/${id}?role=admin`],
      ['POST', () => `/api/teams/${y}/transfer`, (id) => ({ user_id: id })],
      ['POST', (id) => `/api/teams/${y}/models/${id}/share`],
      ['DELETE', (id) => `/api/teams/${y}/models/${id}`],
      ['GET', (id) => `/api/models/${id}/config`],
      ['GET', (id) => `/api/models/${id}/download`],
    ];
    const ids = (path: string) =>
      path.includes('invitations') ? tInvite.id : path.includes('models') ? tModel.id : M.id;
    for (const [method, path, body] of nested) {
      const realId = ids(path(0));
      const real = await call(server, method, path(realId), X, body?.(realId));
      const none = await call(server, method, path(missing), X, body?.(missing));
      expect(real.status, `${method} ${path(realId)}`).toBe(404);
      expect(real.text, `${method} ${path(realId)}`).toBe(none.text);
    }
    const mint = await call(server, 'POST', '/api/auth/download-token', X, {
      action: 'model_download',
      resource_id: tModel.id,
    });
    expect(mint.status).toBe(404);

    // Nothing changed in the other team.
    const team = await call(server, 'GET', `/api/teams/${t}`, O);
    expect(team.body.members).toHaveLength(5);
    expect(team.body.owner_id).toBe(O.id);
    expect(await roleOf(server, t, M.id)).toBe('member');
    expect(await modelTeam(server, tModel.id)).toBe(t);
    expect((await call(server, 'GET', `/api/teams/${t}/invitations`, O)).body.map((i: any) => i.id)).toEqual([
      tInvite.id,
    ]);
    const spy = await server.ctx.database.query(
      `SELECT 1 FROM team_invitations WHERE email = 'spy@example.com'`,
    );
    expect(spy.rows).toEqual([]);
  });

  it('describes every team route with its schemas in /api/openapi.json', async () => {
    const doc = (await call(server, 'GET', '/api/openapi.json')).body;
    const routes: [string, string, number, string[]][] = [
      ['post', '/api/teams', 201, ['id', 'name', 'created_at', 'owner_id', 'my_role', 'members']],
      ['get', '/api/teams', 200, []],
      ['get', '/api/teams/{team_id}', 200, ['id', 'name', 'created_at', 'owner_id', 'my_role', 'members']],
      ['delete', '/api/teams/{team_id}', 200, ['message']],
      ['post', '/api/teams/{team_id}/invite', 201, ['message', 'invitation']],
      ['get', '/api/teams/{team_id}/invitations', 200, []],
      ['delete', '/api/teams/{team_id}/invitations/{invitation_id}', 204, []],
      ['post', '/api/teams/invitations/accept', 200, ['id', 'members', 'my_role']],
      ['post', '/api/teams/{team_id}/join', 200, ['id', 'members', 'my_role']],
      ['delete', '/api/teams/{team_id}/members/me', 200, ['message']],
      ['delete', '/api/teams/{team_id}/members/{user_id}', 200, ['message']],
      [
        'patch',
        '/api/teams/{team_id}/members/{user_id}',
        200,
        ['user_id', 'email', 'name', 'role', 'invited_at', 'joined_at'],
      ],
      ['post', '/api/teams/{team_id}/transfer', 200, ['id', 'owner_id', 'members']],
      ['get', '/api/teams/{team_id}/models', 200, []],
      [
        'post',
        '/api/teams/{team_id}/models/{model_id}/share',
        200,
        ['id', 'wake_word', 'team_id', 'shared', 'owner_id', 'quality_grade'],
      ],
      ['delete', '/api/teams/{team_id}/models/{model_id}', 200, ['message']],
    ];
    const pathKey = (p: string) => (doc.paths[p] ? p : `${p}/`);
    for (const [method, path, status, fields] of routes) {
      const op = doc.paths[pathKey(path)]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.tags).toEqual(['teams']);
      expect(op.security).toEqual([{ bearer: [] }]);
      const resp = op.responses[String(status)];
      expect(resp, `${method} ${path} ${status}`).toBeDefined();
      if (fields.length > 0) {
        const schema = resp.content['application/json'].schema;
        expect(Object.keys(schema.properties).sort(), `${method} ${path}`).toEqual(
          expect.arrayContaining(fields),
        );
      }
      for (const param of path.match(/\{(\w+)\}/g) ?? []) {
        const name = param.slice(1, -1);
        expect(
          op.parameters.some((p: any) => p.in === 'path' && p.name === name),
          `${path} ${name}`,
        ).toBe(true);
      }
    }
    const invite = doc.paths['/api/teams/{team_id}/invite'].post;
    const body = invite.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties).sort()).toEqual(['email', 'role']);
    expect(body.properties.role.enum).toEqual(['owner', 'admin', 'member']);
    const listSchema =
      doc.paths[pathKey('/api/teams')].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(listSchema.items.properties).sort()).toEqual([
      'created_at',
      'id',
      'member_count',
      'my_role',
      'name',
      'owner_id',
    ]);
    const join = doc.paths['/api/teams/{team_id}/join'].post;
    expect(join.parameters.some((p: any) => p.in === 'query' && p.name === 'token' && p.required)).toBe(true);
    const patch = doc.paths['/api/teams/{team_id}/members/{user_id}'].patch;
    expect(patch.parameters.some((p: any) => p.in === 'query' && p.name === 'role')).toBe(true);
    const accept =
      doc.paths['/api/teams/invitations/accept'].post.requestBody.content['application/json'].schema;
    expect(accept.required).toEqual(['token']);
  });
});
