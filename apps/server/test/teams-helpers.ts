/** Fixtures of the teams tests: HTTP calls, teams with members, stored models, invitation tokens from the outbox. */
import { getStorage } from '../src/core/storage/index.ts';
import type { TestServer } from './helpers/app.ts';
import type { TestUser } from './helpers/users.ts';

export interface Res {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

export async function call(
  server: TestServer,
  method: string,
  path: string,
  user?: TestUser | null,
  body?: unknown,
): Promise<Res> {
  const headers: Record<string, string> = { ...(user?.headers ?? {}) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

/** Create a team through the API (caller = owner) and add joined members directly (role per user). */
export async function teamWith(
  server: TestServer,
  owner: TestUser,
  members: { user: TestUser; role: 'admin' | 'member' }[] = [],
  name = 'Team',
): Promise<number> {
  const res = await call(server, 'POST', '/api/teams', owner, { name });
  if (res.status !== 201) throw new Error(`create team: ${res.status} ${res.text}`);
  const teamId = res.body.id as number;
  for (const m of members) {
    await server.ctx.database.query(
      `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, $3, now())`,
      [teamId, m.user.id, m.role],
    );
  }
  return teamId;
}

/** A stored model as the training worker leaves it: row + ONNX + manifest objects. */
export async function addModel(
  server: TestServer,
  userId: number,
  word: string,
  teamId: number | null = null,
): Promise<{ id: number; onnx: Uint8Array }> {
  const onnx = new Uint8Array(1024).map((_, i) => (i * 13 + userId) % 251);
  const r = await server.ctx.database.query<{ id: number }>(
    `INSERT INTO trained_models (user_id, team_id, wake_word, storage_key, manifest_key, size_bytes, threshold, d_prime, eer, auc,
       miss_rate_at_target, target_fa_per_hour, quality_grade, metrics, config_json)
     VALUES ($1, $2, $3, 'tmp-' || gen_random_uuid(), 'tmpj-' || gen_random_uuid(), $4, 0.55, 4.1, 0.03, 0.99, 0.04, 0.5, 'B',
       '{}'::jsonb, '{}'::jsonb) RETURNING id`,
    [userId, teamId, word, onnx.length],
  );
  const id = Number(r.rows[0]!.id);
  const onnxKey = `models/${userId}/${id}.onnx`;
  const jsonKey = `models/${userId}/${id}.json`;
  const storage = getStorage(server.ctx);
  await storage.put(onnxKey, onnx);
  await storage.put(
    jsonKey,
    new TextEncoder().encode(JSON.stringify({ schema: 'violawake.model.v1', wake_word: word, model_id: id })),
  );
  await server.ctx.database.query(
    'UPDATE trained_models SET storage_key = $1, manifest_key = $2 WHERE id = $3',
    [onnxKey, jsonKey, id],
  );
  return { id, onnx };
}

export async function modelTeam(server: TestServer, modelId: number): Promise<number | null> {
  const r = await server.ctx.database.query<{ team_id: number | null }>(
    'SELECT team_id FROM trained_models WHERE id = $1',
    [modelId],
  );
  if (!r.rows[0]) throw new Error(`model ${modelId} is gone`);
  return r.rows[0].team_id === null ? null : Number(r.rows[0].team_id);
}

export async function roleOf(server: TestServer, teamId: number, userId: number): Promise<string | null> {
  const r = await server.ctx.database.query<{ role: string }>(
    'SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2',
    [teamId, userId],
  );
  return r.rows[0]?.role ?? null;
}

/** The newest team_invite outbox row for an address: its payload carries the raw token (until it is sent). */
export async function inviteMail(
  server: TestServer,
  email: string,
): Promise<{
  id: number;
  user_id: number | null;
  payload: Record<string, any>;
  status: string;
  dedupe_key: string;
}> {
  const r = await server.ctx.database.query<any>(
    `SELECT id, user_id, payload, status, dedupe_key FROM email_outbox
      WHERE template = 'team_invite' AND to_address = $1 ORDER BY id DESC LIMIT 1`,
    [email],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`no team_invite email to ${email}`);
  const payload = typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload;
  return {
    id: Number(row.id),
    user_id: row.user_id === null ? null : Number(row.user_id),
    payload,
    status: row.status,
    dedupe_key: row.dedupe_key,
  };
}

/** Invite through the API and return the invitation and its token (from the outbox payload). */
export async function inviteToken(
  server: TestServer,
  by: TestUser,
  teamId: number,
  email: string,
  role: 'admin' | 'member' = 'member',
): Promise<{ invitation: any; token: string }> {
  const res = await call(server, 'POST', `/api/teams/${teamId}/invite`, by, { email, role });
  if (res.status !== 201) throw new Error(`invite: ${res.status} ${res.text}`);
  const mail = await inviteMail(server, email.trim().toLowerCase());
  return { invitation: res.body.invitation, token: String(mail.payload.token) };
}
