/**
 * Issue 26 crash test: SIGKILL of the API process (`violawake serve`, a real process on real PostgreSQL) in the
 * middle of concurrent recording uploads, then a restart on the same database and storage. An upload is either
 * complete (row + byte-identical object, listed and playable) or absent; every upload that was answered 200 exists;
 * the server recovers and takes the interrupted uploads again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { type Proc, registerAndLogin, spawnViolawake } from './helpers/processes.ts';
import { SHARED_DATA } from './helpers/repo.ts';
import { uploadBody } from './recordings-helpers.ts';

const TAKES = 24; // with the re-uploads below, under the 50 uploads an hour per user
const SENDERS = 8;

let db: TestDatabase;
let dataDir: string;
let client: pg.Client;
const procs: Proc[] = [];

function env(): Record<string, string> {
  return {
    VIOLAWAKE_DB_URL: db.url,
    VIOLAWAKE_DATA_DIR: dataDir,
    VIOLAWAKE_SECRET_KEY: 'crash-upload-secret-key-0123456789abcdefghijkl',
    VIOLAWAKE_DB_POOL_MAX: '12',
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'vw-crash-upload-'));
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
}, 60_000);
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL').catch(() => {});
  await client?.end().catch(() => {});
  await db?.drop().catch(() => {});
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Every object file below the storage root (relative path → bytes), `.tmp` leftovers apart. */
function storedObjects(root: string): { objects: Map<string, Buffer>; tmpLeftovers: number } {
  const objects = new Map<string, Buffer>();
  let tmpLeftovers = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      if (e.isDirectory()) walk(p);
      else if (rel.startsWith('.tmp')) tmpLeftovers++;
      else if (statSync(p).isFile()) objects.set(rel, readFileSync(p));
    }
  };
  walk(root);
  return { objects, tmpLeftovers };
}

describe('SIGKILL of the API process during uploads', () => {
  it('leaves every upload complete or absent, keeps every answered one, and recovers', async () => {
    const files = readdirSync(path.join(SHARED_DATA, 'computer'))
      .filter((f) => f.endsWith('.wav'))
      .sort()
      .slice(0, TAKES)
      .map((f) => readFileSync(path.join(SHARED_DATA, 'computer', f)));
    const first = await spawnViolawake('api-1', ['serve'], env());
    procs.push(first);
    const headers = await registerAndLogin(first.url!, 'crash-upload@example.com');

    const answered = new Map<number, number>(); // recording_id → take index
    const refused: string[] = [];
    let next = 0;
    let killed = false;
    const sender = async () => {
      while (next < files.length) {
        const i = next++;
        const { body, contentType } = uploadBody(files[i]!, 'computer', `take${i}.wav`);
        try {
          const res = await fetch(`${first.url}/api/recordings/upload`, {
            method: 'POST',
            headers: { ...headers, 'Content-Type': contentType },
            body,
          });
          const json = (await res.json()) as { recording_id?: number };
          if (res.status === 200) answered.set(json.recording_id!, i);
          else refused.push(`${res.status} ${JSON.stringify(json)}`);
        } catch {
          // connection reset by the kill
        }
        // kill with uploads in flight: after a third has been answered
        if (!killed && answered.size >= files.length / 3) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    await new Promise<void>((r) =>
      first.child.exitCode !== null || first.child.signalCode ? r() : first.child.once('exit', () => r()),
    );
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(refused).toEqual([]);
    expect(answered.size).toBeGreaterThan(0);
    expect(answered.size).toBeLessThan(files.length);

    // The database and the storage as the kill left them (PostgreSQL has rolled back the dead sessions).
    await new Promise((r) => setTimeout(r, 500));
    const rows = (
      await client.query<{ id: string; storage_key: string; size_bytes: number }>(
        'SELECT id, storage_key, size_bytes FROM recordings WHERE deleted_at IS NULL ORDER BY id',
      )
    ).rows;
    const storageRoot = path.join(dataDir, 'storage');
    const { objects, tmpLeftovers } = storedObjects(storageRoot);
    // every answered upload has its row; every row has its whole object
    const rowIds = new Set(rows.map((r) => Number(r.id)));
    for (const id of answered.keys()) expect(rowIds.has(id), `answered recording ${id} has a row`).toBe(true);
    for (const r of rows) {
      const obj = objects.get(r.storage_key);
      expect(obj, `object of recording ${r.id}`).toBeDefined();
      expect(obj!.length).toBe(Number(r.size_bytes));
      expect(obj!.subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect(obj!.readUInt32LE(40)).toBe(obj!.length - 44); // the data chunk is complete
    }
    // objects without a row (written, transaction killed before its commit) are invisible; none is partial
    const orphans = [...objects.keys()].filter(
      (k) => k.startsWith('recordings/') && !rows.some((r) => r.storage_key === k),
    );
    for (const k of orphans) expect(objects.get(k)!.readUInt32LE(40)).toBe(objects.get(k)!.length - 44);
    console.log(
      `crash-upload: ${answered.size} answered before the kill, ${rows.length} rows, ${orphans.length} unreferenced whole objects, ${tmpLeftovers} .tmp leftovers`,
    );

    // Restart: the listing is exactly the rows, each plays back byte-identical, and the rest of the takes upload.
    const second = await spawnViolawake('api-2', ['serve'], env());
    procs.push(second);
    const list = (await (await fetch(`${second.url}/api/recordings`, { headers })).json()) as {
      id: number;
    }[];
    const listed = list.map((r) => r.id);
    expect(listed.sort((a, b) => a - b)).toEqual([...rowIds].sort((a, b) => a - b));
    for (const r of rows) {
      const audio = await fetch(`${second.url}/api/recordings/${r.id}/audio`, { headers });
      expect(audio.status, `recording ${r.id} plays`).toBe(200);
      const bytes = Buffer.from(await audio.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(
        createHash('sha256').update(objects.get(r.storage_key)!).digest('hex'),
      );
    }
    const storedTakes = new Set(
      rows
        .map((r) => Number(r.id))
        .map((id) => answered.get(id))
        .filter((i) => i !== undefined),
    );
    let again = 0;
    for (let i = 0; i < files.length; i++) {
      if (storedTakes.has(i)) continue;
      const { body, contentType } = uploadBody(files[i]!, 'computer', `take${i}.wav`);
      const res = await fetch(`${second.url}/api/recordings/upload`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': contentType },
        body,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      again++;
    }
    const total = (
      await client.query<{ n: number }>('SELECT count(*)::int AS n FROM recordings WHERE deleted_at IS NULL')
    ).rows[0]!.n;
    expect(total).toBe(rows.length + again);
    await second.stop('SIGTERM');
  }, 240_000);
});
