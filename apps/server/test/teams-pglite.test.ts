/**
 * The team flow on the embedded database (PGlite, single `all` process): create, invite, accept (row locks and
 * `ON CONFLICT ON CONSTRAINT` work there too), share, role change, transfer, leave and delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser, type TestUser } from './helpers/users.ts';
import { addModel, call, inviteToken, modelTeam, roleOf } from './teams-helpers.ts';

describe('teams on PGlite', () => {
  let server: TestServer;
  let owner: TestUser;
  let joiner: TestUser;

  beforeAll(async () => {
    server = await startTestServer({ driver: 'pglite', workers: false });
    [owner, joiner] = await Promise.all([createUser(server), createUser(server)]);
  });
  afterAll(() => server?.close());

  it('runs the whole lifecycle of a team', async () => {
    const created = await call(server, 'POST', '/api/teams', owner, { name: 'Embedded' });
    expect(created.status).toBe(201);
    const t = created.body.id as number;
    const { token } = await inviteToken(server, owner, t, joiner.email.toUpperCase(), 'member');
    const joined = await call(server, 'POST', '/api/teams/invitations/accept', joiner, { token });
    expect(joined.status).toBe(200);
    expect(joined.body.members.map((m: any) => [m.user_id, m.role])).toEqual([
      [owner.id, 'owner'],
      [joiner.id, 'member'],
    ]);
    expect((await call(server, 'POST', '/api/teams/invitations/accept', joiner, { token })).status).toBe(400);

    const model = await addModel(server, owner.id, 'embedded word');
    expect((await call(server, 'POST', `/api/teams/${t}/models/${model.id}/share`, owner)).status).toBe(200);
    expect((await call(server, 'GET', `/api/teams/${t}/models`, joiner)).body.map((m: any) => m.id)).toEqual([
      model.id,
    ]);
    const dl = await fetch(`${server.url}/api/models/${model.id}/download`, { headers: joiner.headers });
    expect(dl.status).toBe(200);
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(model.onnx);

    expect(
      (await call(server, 'PATCH', `/api/teams/${t}/members/${joiner.id}?role=admin`, owner)).body.role,
    ).toBe('admin');
    const transferred = await call(server, 'POST', `/api/teams/${t}/transfer`, owner, { user_id: joiner.id });
    expect(transferred.body).toMatchObject({ owner_id: joiner.id, my_role: 'admin' });
    expect((await call(server, 'DELETE', `/api/teams/${t}/members/me`, owner)).body).toEqual({
      message: 'You left the team',
    });
    expect(await roleOf(server, t, owner.id)).toBeNull();
    expect(await modelTeam(server, model.id)).toBeNull(); // the leaver's model left with them
    expect((await call(server, 'DELETE', `/api/teams/${t}`, joiner)).body).toEqual({
      message: 'Team deleted',
    });
    expect((await call(server, 'GET', '/api/teams', joiner)).body).toEqual([]);
  });
});
