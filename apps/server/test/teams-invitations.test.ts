/**
 * Team invitations and shared-model access on real PostgreSQL (docs/api.md §2.8, §4.1, §4.13, §4.15; docs/data-model.md §3): hashed
 * single-use tokens, 72 h expiry on an injected clock, revocation, re-invites, the email through the outbox and the
 * log provider, a person without an account who registers, verifies and joins, and access that ends at once when a
 * member leaves or is removed or the team or an account is deleted.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signAccessToken } from '../src/auth/tokens.ts';
import { ManualClock } from '../src/core/clock.ts';
import { emailService } from '../src/core/email/outbox.ts';
import { renderEmail } from '../src/core/email/templates.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser, type TestUser } from './helpers/users.ts';
import { addModel, call, inviteMail, inviteToken, modelTeam, roleOf, teamWith } from './teams-helpers.ts';

const INVALID = { detail: 'Invalid or expired invitation' };
const HOUR = 3600_000;

describe('teams: invitations and shared models', () => {
  let server: TestServer;
  let clock: ManualClock;
  let owner: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    clock = new ManualClock(new Date('2026-11-27T06:00:00.000Z'));
    server = await startTestServer({ workers: false, clock, env: { VIOLAWAKE_EMAIL_AUTO_VERIFY: 'false' } });
    [owner, admin] = await Promise.all([createUser(server, { name: 'Olga Owner' }), createUser(server)]);
  });
  afterAll(() => server?.close());

  /** Access tokens live 2 h: after moving the clock, sign new ones (in place) for the users that act next. */
  async function renew(...users: TestUser[]): Promise<void> {
    for (const u of users) {
      const { token } = await signAccessToken(server.ctx, { id: u.id, tokenVersion: 0 });
      u.token = token;
      u.headers = { Authorization: `Bearer ${token}` };
    }
  }
  beforeEach(() => renew(owner, admin));

  const newTeam = () => teamWith(server, owner, [{ user: admin, role: 'admin' }]);
  const invitationRow = async (id: number) =>
    (await server.ctx.database.query<any>('SELECT * FROM team_invitations WHERE id = $1', [id])).rows[0];

  it('stores only the SHA-256 of a 32-byte token, expires it after 72 h and queues the invite email', async () => {
    const t = await newTeam();
    const invitee = await createUser(server, { email: 'invitee.one@example.com' });
    const res = await call(server, 'POST', `/api/teams/${t}/invite`, admin, {
      email: '  Invitee.ONE@Example.com ',
    });
    expect(res.status).toBe(201);
    const inv = res.body.invitation;
    expect(res.body.message).toBe('Invitation sent');
    expect(inv).toEqual({
      id: expect.any(Number),
      team_id: t,
      email: 'invitee.one@example.com',
      role: 'member',
      invited_by: admin.id,
      created_at: clock.now().toISOString(),
      expires_at: new Date(clock.now().getTime() + 72 * HOUR).toISOString(),
    });
    const mail = await inviteMail(server, 'invitee.one@example.com');
    const token = String(mail.payload.token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(mail.user_id).toBe(invitee.id);
    expect(mail.payload).toMatchObject({ team_id: t, team_name: 'Team', role: 'member' });
    expect(mail.dedupe_key).toBe(`team_invite:${inv.id}`);
    const row = await invitationRow(inv.id);
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token);
    const rendered = renderEmail('team_invite', mail.payload, server.ctx.config.consoleBaseUrl);
    expect(rendered.text).toContain(`/teams/${t}/join?token=${token}`);

    // Listed as pending until it expires; one millisecond before expiry it still works.
    expect((await call(server, 'GET', `/api/teams/${t}/invitations`, owner)).body).toEqual([inv]);
    clock.advance(72 * HOUR - 1000);
    await renew(invitee, owner);
    const ok = await call(server, 'POST', '/api/teams/invitations/accept', invitee, { token });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: t, my_role: 'member', owner_id: owner.id });
    const joined = ok.body.members.find((m: any) => m.user_id === invitee.id);
    expect(joined).toMatchObject({
      role: 'member',
      invited_at: inv.created_at,
      joined_at: clock.now().toISOString(),
    });
    const used = await invitationRow(inv.id);
    expect(Number(used.accepted_by)).toBe(invitee.id);
    expect(new Date(used.accepted_at).toISOString()).toBe(clock.now().toISOString());
    expect((await call(server, 'GET', `/api/teams/${t}/invitations`, owner)).body).toEqual([]);
  });

  it('is single use, expires, and can be revoked; a re-invite replaces the pending one', async () => {
    const t = await newTeam();
    const [a, b, c] = await Promise.all(
      [1, 2, 3].map((i) => createUser(server, { email: `single-${i}-${t}@example.com` })),
    );

    // Reuse: the second accept (also by another account with the same email is impossible) is a 400.
    const first = await inviteToken(server, owner, t, a!.email, 'admin');
    expect(
      (await call(server, 'POST', '/api/teams/invitations/accept', a, { token: first.token })).body.my_role,
    ).toBe('admin');
    const again = await call(server, 'POST', '/api/teams/invitations/accept', a, { token: first.token });
    expect([again.status, again.body]).toEqual([400, INVALID]);

    // Expiry on the injected clock.
    const late = await inviteToken(server, owner, t, b!.email);
    clock.advance(72 * HOUR);
    await renew(owner, admin, a!, b!, c!);
    const expired = await call(server, 'POST', '/api/teams/invitations/accept', b, { token: late.token });
    expect([expired.status, expired.body]).toEqual([400, INVALID]);
    expect((await call(server, 'GET', `/api/teams/${t}/invitations`, owner)).body).toEqual([]);
    const revokeExpired = await call(
      server,
      'DELETE',
      `/api/teams/${t}/invitations/${late.invitation.id}`,
      owner,
    );
    expect([revokeExpired.status, revokeExpired.body]).toEqual([404, { detail: 'Invitation not found' }]);

    // A re-invite of the same address revokes the old (even expired) one and issues a new token.
    const renewed = await inviteToken(server, admin, t, b!.email);
    expect(renewed.token).not.toBe(late.token);
    expect((await invitationRow(late.invitation.id)).revoked_at).not.toBeNull();
    const second = await inviteToken(server, admin, t, b!.email, 'admin');
    expect((await invitationRow(renewed.invitation.id)).revoked_at).not.toBeNull();
    expect(
      (await call(server, 'POST', '/api/teams/invitations/accept', b, { token: renewed.token })).body,
    ).toEqual(INVALID);
    const listed = (await call(server, 'GET', `/api/teams/${t}/invitations`, admin)).body;
    expect(listed.map((i: any) => [i.id, i.role])).toEqual([[second.invitation.id, 'admin']]);
    expect(
      (await call(server, 'POST', '/api/teams/invitations/accept', b, { token: second.token })).body.my_role,
    ).toBe('admin');

    // Revocation: 204, then the token is dead and a second revoke is a 404.
    const revoked = await inviteToken(server, owner, t, c!.email);
    const del = await call(server, 'DELETE', `/api/teams/${t}/invitations/${revoked.invitation.id}`, admin);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const dead = await call(server, 'POST', '/api/teams/invitations/accept', c, { token: revoked.token });
    expect([dead.status, dead.body]).toEqual([400, INVALID]);
    expect(
      (await call(server, 'DELETE', `/api/teams/${t}/invitations/${revoked.invitation.id}`, admin)).status,
    ).toBe(404);
    // An accepted invitation is not pending either.
    expect(
      (await call(server, 'DELETE', `/api/teams/${t}/invitations/${first.invitation.id}`, owner)).status,
    ).toBe(404);

    // Garbage tokens.
    for (const token of ['nope', 'A'.repeat(43)]) {
      expect((await call(server, 'POST', '/api/teams/invitations/accept', c, { token })).body).toEqual(
        INVALID,
      );
    }
    const empty = await call(server, 'POST', '/api/teams/invitations/accept', c, { token: '' });
    expect(empty.status).toBe(422);
    expect(empty.body.detail[0].loc).toEqual(['body', 'token']);
  });

  it('accepts only for the invited email (case-insensitive), keeps the invite usable after a mismatch, and answers 409 for members', async () => {
    const t = await newTeam();
    const right = await createUser(server, { email: `Right.Person-${t}@Example.COM` });
    const wrong = await createUser(server);
    const { invitation, token } = await inviteToken(server, owner, t, `RIGHT.person-${t}@example.com`);
    expect(invitation.email).toBe(`right.person-${t}@example.com`);
    const mismatch = await call(server, 'POST', '/api/teams/invitations/accept', wrong, { token });
    expect([mismatch.status, mismatch.body]).toEqual([
      403,
      { detail: 'This invite was issued for a different email address' },
    ]);
    expect(await roleOf(server, t, wrong.id)).toBeNull();
    expect((await invitationRow(invitation.id)).accepted_at).toBeNull();

    // The join alias checks the team id in the path.
    const other = await teamWith(server, owner, [], 'Other');
    const wrongTeam = await call(
      server,
      'POST',
      `/api/teams/${other}/join?token=${encodeURIComponent(token)}`,
      right,
    );
    expect([wrongTeam.status, wrongTeam.body]).toEqual([400, { detail: 'Token does not match team' }]);
    const noToken = await call(server, 'POST', `/api/teams/${t}/join`, right);
    expect(noToken.status).toBe(422);
    expect(noToken.body.detail[0]).toMatchObject({ loc: ['query', 'token'], type: 'missing' });

    // Already a member (joined by another path meanwhile): 409 and the invitation is not consumed.
    await server.ctx.database.query(
      `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, 'member', now())`,
      [t, right.id],
    );
    const dup = await call(server, 'POST', `/api/teams/${t}/join?token=${encodeURIComponent(token)}`, right);
    expect([dup.status, dup.body]).toEqual([409, { detail: 'Already a team member' }]);
    expect((await invitationRow(invitation.id)).accepted_at).toBeNull();
    await server.ctx.database.query('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [
      t,
      right.id,
    ]);
    const ok = await call(server, 'POST', `/api/teams/${t}/join?token=${encodeURIComponent(token)}`, right);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: t, my_role: 'member' });

    // Inviting someone who already joined is a 409; inviting as owner is a 403.
    const dupInvite = await call(server, 'POST', `/api/teams/${t}/invite`, admin, {
      email: right.email.toUpperCase(),
    });
    expect([dupInvite.status, dupInvite.body]).toEqual([409, { detail: 'User is already a team member' }]);
    const asOwner = await call(server, 'POST', `/api/teams/${t}/invite`, owner, {
      email: 'boss@example.com',
      role: 'owner',
    });
    expect([asOwner.status, asOwner.body]).toEqual([403, { detail: 'Cannot invite a user as owner' }]);
    const badEmail = await call(server, 'POST', `/api/teams/${t}/invite`, owner, { email: 'not-an-email' });
    expect(badEmail.status).toBe(422);
    expect(badEmail.body.detail[0]).toMatchObject({
      loc: ['body', 'email'],
      msg: 'value is not a valid email address',
    });
  });

  it('two concurrent accepts of one token: exactly one joins', async () => {
    const t = await newTeam();
    const racer = await createUser(server, { email: `racer-${t}@example.com` });
    const { token } = await inviteToken(server, owner, t, racer.email);
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => call(server, 'POST', '/api/teams/invitations/accept', racer, { token })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400]);
    const rows = await server.ctx.database.query(
      'SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2',
      [t, racer.id],
    );
    expect(rows.rows).toHaveLength(1);
  });

  it('a person without an account gets the email, registers, verifies and joins', async () => {
    const t = await newTeam();
    const email = `newcomer-${t}@example.com`;
    const res = await call(server, 'POST', `/api/teams/${t}/invite`, owner, {
      email: `NewComer-${t}@Example.com`,
      role: 'admin',
    });
    expect(res.status).toBe(201);
    const queued = await inviteMail(server, email);
    expect(queued.user_id).toBeNull();

    // Deliver through the real outbox and log provider, then read the link from the written message.
    const delivered = await emailService(server.ctx).deliverDue();
    expect(delivered.sent).toBeGreaterThanOrEqual(1);
    const sent = await inviteMail(server, email);
    expect(sent.status).toBe('sent');
    expect(sent.payload.token).toBeUndefined(); // the credential left the outbox once sent
    const mailDir = path.join(server.dataDir, 'mail');
    const file = readdirSync(mailDir).find(
      (f) => f.startsWith(String(sent.id).padStart(6, '0')) && f.endsWith('.txt'),
    );
    expect(file).toBeDefined();
    const message = readFileSync(path.join(mailDir, file!), 'utf8');
    expect(message).toContain(`To: ${email}`);
    expect(message).toContain('Olga Owner invited you');
    const link = new URL(/https?:\/\/\S+\/join\?token=\S+/.exec(message)![0]);
    expect(link.pathname).toBe(`/teams/${t}/join`);
    const token = link.searchParams.get('token')!;

    // Register (auto-verify is off here): the unverified account may not accept yet.
    const reg = await call(server, 'POST', '/api/auth/register', null, {
      email: `NEWCOMER-${t}@example.com`,
      password: 'a-long-password-1',
      name: 'New Comer',
    });
    expect(reg.status).toBe(201);
    const newcomer: TestUser = {
      id: reg.body.user.id,
      email,
      password: 'a-long-password-1',
      name: 'New Comer',
      token: reg.body.token,
      headers: { Authorization: `Bearer ${reg.body.token}` },
    };
    const early = await call(
      server,
      'POST',
      `/api/teams/${t}/join?token=${encodeURIComponent(token)}`,
      newcomer,
    );
    expect(early.status).toBe(403);
    expect(early.body.detail).toMatch(/^Verify your email address/);
    const verifyMail = await server.ctx.database.query<any>(
      `SELECT payload FROM email_outbox WHERE template = 'verify_email' AND to_address = $1`,
      [email],
    );
    const vPayload = verifyMail.rows[0].payload;
    const vToken = (typeof vPayload === 'string' ? JSON.parse(vPayload) : vPayload).token;
    expect((await call(server, 'POST', '/api/auth/verify-email', null, { token: vToken })).status).toBe(200);

    const joined = await call(
      server,
      'POST',
      `/api/teams/${t}/join?token=${encodeURIComponent(token)}`,
      newcomer,
    );
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ id: t, my_role: 'admin' });
    expect(joined.body.members.find((m: any) => m.user_id === newcomer.id)).toMatchObject({
      email,
      name: 'New Comer',
      role: 'admin',
    });
    const teams = await call(server, 'GET', '/api/teams', newcomer);
    expect(teams.body.map((x: any) => [x.id, x.my_role])).toEqual([[t, 'admin']]);
  });

  it('limits invitations to 20 an hour per user', async () => {
    const inviter = await createUser(server);
    const t = await teamWith(server, inviter);
    for (let i = 0; i < 20; i++) {
      const r = await call(server, 'POST', `/api/teams/${t}/invite`, inviter, {
        email: `rl-${i}-${t}@example.com`,
      });
      expect(r.status, r.text).toBe(201);
      expect(r.headers.get('ratelimit-remaining')).toBe(String(19 - i));
    }
    const over = await call(server, 'POST', `/api/teams/${t}/invite`, inviter, {
      email: `rl-x-${t}@example.com`,
    });
    expect([over.status, over.body]).toEqual([429, { detail: 'Rate limit exceeded' }]);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(3500);
    // Another user is not affected; the window ends after an hour.
    expect(
      (await call(server, 'POST', `/api/teams/${t}/invite`, owner, { email: `rl-o-${t}@example.com` }))
        .status,
    ).toBe(403);
    clock.advance(HOUR);
    await renew(inviter);
    expect(
      (await call(server, 'POST', `/api/teams/${t}/invite`, inviter, { email: `rl-y-${t}@example.com` }))
        .status,
    ).toBe(201);
  });

  it('members use shared models (list, download with a token); leaving or removal revokes access at once', async () => {
    const t = await newTeam();
    const [m1, m2] = await Promise.all([createUser(server), createUser(server)]);
    for (const u of [m1!, m2!]) {
      const { token } = await inviteToken(server, admin, t, u.email);
      expect((await call(server, 'POST', '/api/teams/invitations/accept', u, { token })).status).toBe(200);
    }
    const model = await addModel(server, owner.id, 'hey team');
    const shared = await call(server, 'POST', `/api/teams/${t}/models/${model.id}/share`, owner);
    expect(shared.body).toMatchObject({ id: model.id, team_id: t, shared: false, owner_id: owner.id });
    const m2Model = await addModel(server, m2!.id, 'member model', t);

    const seen = await call(server, 'GET', `/api/teams/${t}/models`, m1);
    expect(seen.body.map((m: any) => [m.id, m.shared])).toEqual([
      [m2Model.id, true],
      [model.id, true],
    ]);
    const download = async (u: TestUser, token?: string) =>
      fetch(`${server.url}/api/models/${model.id}/download${token ? `?token=${token}` : ''}`, {
        headers: token ? {} : u.headers,
      });
    const direct = await download(m1!);
    expect(direct.status).toBe(200);
    expect(new Uint8Array(await direct.arrayBuffer())).toEqual(model.onnx);
    const mint = async (u: TestUser) =>
      call(server, 'POST', '/api/auth/download-token', u, {
        action: 'model_download',
        resource_id: model.id,
      });
    const m1Token = (await mint(m1!)).body.token as string;
    const m2Token = (await mint(m2!)).body.token as string;
    const viaToken = await download(m1!, m1Token);
    expect(viaToken.status).toBe(200);
    expect(new Uint8Array(await viaToken.arrayBuffer())).toEqual(model.onnx);

    // m2 leaves: its own shared model is unshared and its unused download token no longer opens the team's model.
    expect((await call(server, 'DELETE', `/api/teams/${t}/members/me`, m2)).body).toEqual({
      message: 'You left the team',
    });
    expect(await modelTeam(server, m2Model.id)).toBeNull();
    expect((await download(m2!, m2Token)).status).toBe(404);
    expect((await mint(m2!)).status).toBe(404);
    expect((await call(server, 'GET', '/api/models', m2)).body.map((m: any) => m.id)).toEqual([m2Model.id]);

    // m1 is removed by the admin: a token minted while a member stops working at once.
    const m1Late = (await mint(m1!)).body.token as string;
    expect((await call(server, 'DELETE', `/api/teams/${t}/members/${m1!.id}`, admin)).body).toEqual({
      message: 'Member removed',
    });
    expect((await download(m1!, m1Late)).status).toBe(404);
    expect((await download(m1!)).status).toBe(404);
    expect((await call(server, 'GET', `/api/teams/${t}/models`, m1)).status).toBe(403);
    expect((await call(server, 'GET', '/api/models', m1)).body).toEqual([]);
    // The owner keeps the model, still shared with the remaining members.
    expect(await modelTeam(server, model.id)).toBe(t);
    expect((await download(admin)).status).toBe(200);
  });

  it('deleting a team or an account never breaks a foreign key and ends access at once', async () => {
    const t = await newTeam();
    const member = await createUser(server);
    const { token } = await inviteToken(server, owner, t, member.email);
    await call(server, 'POST', '/api/teams/invitations/accept', member, { token });
    const pending = await inviteToken(server, admin, t, `pending-${t}@example.com`);
    const ownerModel = await addModel(server, owner.id, 'owner word', t);
    const memberModel = await addModel(server, member.id, 'member word', t);

    // Delete the team: memberships and invitations go, models stay with their owners, unshared.
    const del = await call(server, 'DELETE', `/api/teams/${t}`, owner);
    expect(del.body).toEqual({ message: 'Team deleted' });
    const count = async (table: string) =>
      Number(
        (await server.ctx.database.query<any>(`SELECT count(*) AS n FROM ${table} WHERE team_id = $1`, [t]))
          .rows[0].n,
      );
    expect(await count('team_members')).toBe(0);
    expect(await count('team_invitations')).toBe(0);
    expect(await count('trained_models')).toBe(0);
    expect(await modelTeam(server, ownerModel.id)).toBeNull();
    expect(await modelTeam(server, memberModel.id)).toBeNull();
    expect((await call(server, 'GET', `/api/models/${ownerModel.id}/config`, member)).status).toBe(404);
    expect(
      (await call(server, 'POST', '/api/teams/invitations/accept', member, { token: pending.token })).body,
    ).toEqual(INVALID);
    expect((await call(server, 'GET', `/api/teams/${t}`, owner)).body).toEqual({
      detail: 'You are not a member of this team',
    });

    // Account deletion (§4.15 cascades): the inviter's invitations keep going (invited_by → NULL), a deleted member's
    // membership goes (row deleted directly: the bare FK cascade), and an owner who deletes the account through
    // DELETE /api/auth/account takes the team along while other members' models stay, unshared.
    const boss = await createUser(server);
    const stays = await createUser(server);
    const leaver = await createUser(server);
    const t2 = await teamWith(server, boss, [
      { user: stays, role: 'admin' },
      { user: leaver, role: 'member' },
    ]);
    const byLeaver = await inviteToken(server, stays, t2, `later-${t2}@example.com`);
    await server.ctx.database.query(`UPDATE team_invitations SET invited_by = $1 WHERE id = $2`, [
      leaver.id,
      byLeaver.invitation.id,
    ]);
    const staysModel = await addModel(server, stays.id, 'stays word', t2);
    await server.ctx.database.query('DELETE FROM users WHERE id = $1', [leaver.id]);
    expect(await roleOf(server, t2, leaver.id)).toBeNull();
    expect((await call(server, 'GET', `/api/teams/${t2}/invitations`, stays)).body).toEqual([
      { ...byLeaver.invitation, invited_by: null },
    ]);
    const gone = await call(server, 'DELETE', '/api/auth/account', boss);
    expect(gone.status, gone.text).toBe(200);
    expect((await server.ctx.database.query('SELECT 1 FROM teams WHERE id = $1', [t2])).rows).toEqual([]);
    expect(await modelTeam(server, staysModel.id)).toBeNull();
    expect((await call(server, 'GET', '/api/teams', stays)).body).toEqual([]);
    expect((await call(server, 'GET', `/api/teams/${t2}/models`, stays)).status).toBe(403);
  });
});
