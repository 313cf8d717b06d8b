import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRows } from '../src/core/db/client.ts';
import { getStorage, LocalStorage } from '../src/core/storage/index.ts';
import { MAX_RECORDINGS_PER_USER } from '../src/recordings/service.ts';
import { makeWav, sine } from './fixtures/audio/make-wav.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { SHARED_DATA } from './helpers/repo.ts';
import { createUser, type TestUser } from './helpers/users.ts';
import { multipartBody, pcm16DataSamples, uploadBody, wavSamples } from './recordings-helpers.ts';
import { type S3Server, startS3Server } from './storage-helpers.ts';

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures/audio');
const WEBM = readFileSync(path.join(FIXTURES, 'chromium-mediarecorder.webm'));
const OGG = readFileSync(path.join(FIXTURES, 'chromium-remux.ogg'));
const COMPUTER = path.join(SHARED_DATA, 'computer');
const computerFiles = readdirSync(COMPUTER).sort();
const realWav = (i: number) => readFileSync(path.join(COMPUTER, computerFiles[i]!));

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

async function upload(user: TestUser | null, file: Uint8Array, wakeWord: string) {
  const { body, contentType } = uploadBody(file, wakeWord);
  return server.app.inject({
    method: 'POST',
    url: '/api/recordings/upload',
    headers: { 'content-type': contentType, ...(user ? user.headers : {}) },
    payload: body,
  });
}

beforeAll(async () => {
  server = await startTestServer({ workers: false });
  alice = await createUser(server);
  bob = await createUser(server);
});

afterAll(async () => {
  await server?.close();
});

describe('POST /api/recordings/upload', () => {
  it('stores a real 16 kHz WAV unchanged, lists it and plays it back to the owner only', async () => {
    const src = realWav(0);
    const res = await upload(alice, src, '  Hey   COMPUTER ');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual({
      recording_id: expect.any(Number),
      filename: `${body.recording_id}.wav`,
      wake_word: 'hey computer',
      language: 'en',
      duration_s: Math.round((pcm16DataSamples(src).length / 16000) * 1000) / 1000,
      take_number: null,
      warnings: [],
    });
    const id = body.recording_id as number;

    // Object under its id key, samples identical to the upload's.
    const key = `recordings/${alice.id}/${id}.wav`;
    const stored = await getStorage(server.ctx).getBytes(key);
    expect(Buffer.from(wavSamples(stored).buffer).equals(Buffer.from(pcm16DataSamples(src).buffer))).toBe(
      true,
    );
    const [row] = await execRows<Record<string, unknown>>(
      server.ctx.db,
      sql`SELECT * FROM recordings WHERE id = ${id}`,
    );
    expect(row).toMatchObject({
      user_id: alice.id,
      wake_word: 'hey computer',
      language: 'en',
      filename: `${id}.wav`,
      storage_key: key,
      source_format: 'wav',
      sample_rate: 16000,
      size_bytes: stored.length,
    });

    const audio = await server.app.inject({
      method: 'GET',
      url: `/api/recordings/${id}/audio`,
      headers: alice.headers,
    });
    expect(audio.statusCode).toBe(200);
    expect(audio.headers['content-type']).toBe('audio/wav');
    expect(audio.headers['content-disposition']).toBe(`inline; filename="${id}.wav"`);
    expect(audio.headers['cache-control']).toBe('no-store');
    expect(audio.rawPayload.equals(stored)).toBe(true);

    const other = await server.app.inject({
      method: 'GET',
      url: `/api/recordings/${id}/audio`,
      headers: bob.headers,
    });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual({ detail: 'Recording not found' });

    const list = await server.app.inject({ method: 'GET', url: '/api/recordings', headers: alice.headers });
    expect(list.statusCode).toBe(200);
    const item = list.json().find((r: { id: number }) => r.id === id);
    expect(item).toEqual({
      id,
      wake_word: 'hey computer',
      language: 'en',
      filename: `${id}.wav`,
      duration_s: body.duration_s,
      take_number: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const bobs = await server.app.inject({ method: 'GET', url: '/api/recordings', headers: bob.headers });
    expect(bobs.json().some((r: { id: number }) => r.id === id)).toBe(false);
  });

  it('accepts the Chromium WebM/Opus and the Ogg Opus clips, storing 16 kHz mono WAV', async () => {
    for (const [bytes, format] of [
      [WEBM, 'webm'],
      [OGG, 'ogg'],
    ] as const) {
      const res = await upload(alice, bytes, 'computer');
      expect(res.statusCode).toBe(200);
      const { recording_id: id, duration_s } = res.json();
      expect(duration_s).toBeGreaterThan(1.7);
      expect(duration_s).toBeLessThan(2.3);
      const [row] = await execRows<{ source_format: string }>(
        server.ctx.db,
        sql`SELECT source_format FROM recordings WHERE id = ${id}`,
      );
      expect(row!.source_format).toBe(format);
      const audio = await server.app.inject({
        method: 'GET',
        url: `/api/recordings/${id}/audio`,
        headers: alice.headers,
      });
      expect(audio.rawPayload.readUInt32LE(24)).toBe(16000);
      expect(audio.rawPayload.readUInt16LE(22)).toBe(1);
      expect(wavSamples(audio.rawPayload).length).toBe(Math.round(duration_s * 16000));
    }
  });

  it('returns clipping and low-level warnings with the upload', async () => {
    // a real take, too loud (×30, clipped) and too soft (−40 dB): both still usable, both warned about
    const take = Float64Array.from(pcm16DataSamples(realWav(3)), (v) => v / 32768);
    const loud = take.map((v) => Math.max(-1, Math.min(1, v * 30)));
    const res = await upload(alice, makeWav([loud], { sampleRate: 16000, encoding: 'pcm16' }), 'loud');
    expect(res.statusCode).toBe(200);
    expect(res.json().warnings.map((w: { code: string }) => w.code)).toEqual(['clipping']);
    const quiet = await upload(
      alice,
      makeWav([take.map((v) => v * 0.01)], { sampleRate: 16000, encoding: 'pcm16' }),
      'quiet',
    );
    expect(quiet.statusCode).toBe(200);
    const w = quiet.json().warnings;
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ code: 'low_level', value: expect.any(Number) });
    expect(w[0].value).toBeLessThan(-40);
  });

  it('refuses with 422 and the reason a take the trainer could not use, storing nothing', async () => {
    const user = await createUser(server);
    const cases: [string, Float64Array, string][] = [
      // a steady tone between silences: loud, long enough, not speech
      [
        'vad_rejected',
        Float64Array.from({ length: 32000 }, (_, i) =>
          i > 8000 && i < 24000 ? 0.3 * Math.sin(i * 0.17) : 0,
        ),
        'does not sound like speech',
      ],
      // half a second of noise around a 60 ms click: the spoken part would be under 0.2 s
      [
        'too_short',
        Float64Array.from({ length: 16000 }, (_, i) =>
          i > 8000 && i < 9000 ? 0.3 * Math.sin(i * 1.7) * Math.sin(i * 0.31) : 0.0003 * Math.sin(i * 2.3),
        ),
        'too short',
      ],
    ];
    for (const [reason, samples, text] of cases) {
      const res = await upload(
        user,
        makeWav([samples], { sampleRate: 16000, encoding: 'pcm16' }),
        'computer',
      );
      expect(res.statusCode, reason).toBe(422);
      expect(res.headers['x-take-rejection']).toBe(reason);
      expect(res.json().detail).toMatch(/^This take cannot be used for training: /);
      expect(res.json().detail).toContain(text);
    }
    const list = await server.app.inject({ method: 'GET', url: '/api/recordings', headers: user.headers });
    expect(list.json()).toEqual([]);
    expect(await getStorage(server.ctx).list(`recordings/${user.id}/`)).toEqual([]);
  });

  it('keeps the take number sent with the upload and refuses one out of range', async () => {
    const user = await createUser(server);
    const send = (take: string) => {
      const { body, contentType } = multipartBody([
        { name: 'wake_word', value: 'computer' },
        { name: 'take', value: take },
        { name: 'file', value: realWav(4), filename: 'take.wav', contentType: 'audio/wav' },
      ]);
      return server.app.inject({
        method: 'POST',
        url: '/api/recordings/upload',
        headers: { 'content-type': contentType, ...user.headers },
        payload: body,
      });
    };
    const ok = await send('7');
    expect(ok.statusCode).toBe(200);
    expect(ok.json().take_number).toBe(7);
    const list = await server.app.inject({ method: 'GET', url: '/api/recordings', headers: user.headers });
    expect(list.json()[0].take_number).toBe(7);
    for (const bad of ['0', '101', 'three', '2.5', '']) {
      const res = await send(bad);
      expect(res.statusCode, bad).toBe(422);
      expect(res.json().detail[0].loc).toEqual(['body', 'take']);
    }
  });

  it('answers each pipeline rejection with its exact 400 message', async () => {
    const tone = (s: number, amp = 0.3) =>
      makeWav([sine(440, s, 16000, amp)], { sampleRate: 16000, encoding: 'pcm16' });
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), 'Empty file'],
      [
        Buffer.from('GIF89a not audio at all'),
        'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
      ],
      [tone(1).subarray(0, 40), 'File too small to be a valid WAV'],
      [
        makeWav([sine(440, 1, 16000)], { sampleRate: 16000, encoding: 'pcm16', formatTag: 2 }),
        'Unsupported WAV format (2). Use PCM or IEEE float.',
      ],
      [
        makeWav([sine(440, 1, 16000)], { sampleRate: 16000, encoding: 'pcm16', fmtSize: 12 }),
        'Malformed fmt chunk',
      ],
      [
        makeWav([sine(440, 1, 16000)], { sampleRate: 16000, encoding: 'pcm16', channelsField: 0 }),
        'Invalid WAV header values',
      ],
      [tone(0.2), 'Recording too short (0.20s). Minimum is 0.5s.'],
      [tone(5.5), 'Recording too long (5.50s). Maximum is 5.0s.'],
      [tone(1, 0), 'Recording appears to be silent. Please check your microphone and try again.'],
      [
        Buffer.concat([WEBM.subarray(0, 60), Buffer.alloc(200, 0x42)]),
        'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
      ],
    ];
    for (const [bytes, message] of cases) {
      const res = await upload(alice, bytes, 'hey computer');
      expect({ status: res.statusCode, body: res.json() }).toEqual({
        status: 400,
        body: { detail: message },
      });
    }
    const [n] = await execRows<{ n: string }>(
      server.ctx.db,
      sql`SELECT count(*) AS n FROM recordings WHERE wake_word = 'hey computer' AND user_id = ${alice.id}`,
    );
    expect(Number(n!.n)).toBe(1); // only the first test's upload
  });

  it('validates the wake word (docs/api.md §4.4) before looking at the audio', async () => {
    for (const [word, message] of [
      ['hey, jarvis', 'Wake word may only contain letters, digits, spaces, apostrophes and hyphens'],
      ['   ', 'wake_word is required'],
      ["' - '", 'Wake word contains no valid characters'],
      ['a'.repeat(65), 'Wake word must be at most 64 characters'],
    ]) {
      const res = await upload(alice, new Uint8Array(0), word!);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ detail: message });
    }
  });

  it('422 for missing parts, a second file part, an over-long text field, or a non-multipart body', async () => {
    const only = (parts: Parameters<typeof multipartBody>[0]) => {
      const { body, contentType } = multipartBody(parts);
      return server.app.inject({
        method: 'POST',
        url: '/api/recordings/upload',
        headers: { 'content-type': contentType, ...alice.headers },
        payload: body,
      });
    };
    const noFile = await only([{ name: 'wake_word', value: 'computer' }]);
    expect(noFile.statusCode).toBe(422);
    expect(noFile.json()).toEqual({
      detail: [{ loc: ['body', 'file'], msg: 'Field required', type: 'missing' }],
    });
    const noWord = await only([{ name: 'file', value: realWav(1), filename: 'a.wav' }]);
    expect(noWord.statusCode).toBe(422);
    expect(noWord.json().detail[0].loc).toEqual(['body', 'wake_word']);
    const neither = await only([{ name: 'other', value: 'x' }]);
    expect(neither.json().detail.map((d: { loc: string[] }) => d.loc.join('.'))).toEqual([
      'body.file',
      'body.wake_word',
    ]);
    const twoFiles = await only([
      { name: 'wake_word', value: 'computer' },
      { name: 'file', value: realWav(1), filename: 'a.wav' },
      { name: 'file', value: realWav(2), filename: 'b.wav' },
    ]);
    expect(twoFiles.statusCode).toBe(422);
    const longField = await only([
      { name: 'wake_word', value: 'a'.repeat(2000) },
      { name: 'file', value: realWav(1), filename: 'a.wav' },
    ]);
    expect(longField.statusCode).toBe(422);
    expect(longField.json().detail[0]).toMatchObject({ loc: ['body', 'wake_word'], type: 'string_too_long' });

    const json = await server.app.inject({
      method: 'POST',
      url: '/api/recordings/upload',
      headers: { 'content-type': 'application/json', ...alice.headers },
      payload: { wake_word: 'computer' },
    });
    expect(json.statusCode).toBe(422);
    expect(json.json().detail[0].loc).toEqual(['body']);
    const text = await server.app.inject({
      method: 'POST',
      url: '/api/recordings/upload',
      headers: { 'content-type': 'text/plain', ...alice.headers },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(422);
    const broken = await server.app.inject({
      method: 'POST',
      url: '/api/recordings/upload',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz', ...alice.headers },
      payload: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
    });
    expect(broken.statusCode).toBeGreaterThanOrEqual(400);
    expect(broken.statusCode).toBeLessThan(500);
  });

  it('answers 422 (instead of hanging) when busboy stalls on mangled part headers', async () => {
    // Found by the fuzz test: with these headers the multipart parser stops producing parts without finishing.
    const b = '----vwtestboundary';
    const body = Buffer.concat([
      Buffer.from(
        `--${b}\r\nContent-Disposition: f{rm-data; name="wake_word"\r\n\r\nhey computer\r\n`,
        'latin1',
      ),
      Buffer.from(
        `--${b}\r\nContent-Disposition: 6orm-data; \u00a3ame="file"; filename="clip.wav"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
        'latin1',
      ),
      realWav(1),
      Buffer.from(`\r\n--${b}--\r\n`, 'latin1'),
    ]);
    const t0 = Date.now();
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/recordings/upload',
      headers: { 'content-type': `multipart/form-data; boundary=${b}`, ...alice.headers },
      payload: body,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().detail[0].loc).toEqual(['body']);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('requires a verified user', async () => {
    const anon = await upload(null, realWav(0), 'computer');
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toEqual({ detail: 'Not authenticated' });
    const unverified = await createUser(server, { verified: false });
    const res = await upload(unverified, realWav(0), 'computer');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      detail: 'Verify your email address to access recording, training, and billing features.',
    });
    for (const url of ['/api/recordings', '/api/recordings/1/audio']) {
      expect((await server.app.inject({ method: 'GET', url, headers: unverified.headers })).statusCode).toBe(
        403,
      );
    }
  });

  it('concurrent uploads of the same word get distinct ids and keys, and no object overwrites another', async () => {
    const user = await createUser(server);
    const files = Array.from({ length: 16 }, (_, i) => realWav(10 + i));
    const responses = await Promise.all(files.map((f) => upload(user, f, 'Computer')));
    expect(responses.map((r) => r.statusCode)).toEqual(files.map(() => 200));
    const ids = responses.map((r) => r.json().recording_id as number);
    expect(new Set(ids).size).toBe(files.length);
    const storage = getStorage(server.ctx);
    expect(await storage.list(`recordings/${user.id}/`)).toEqual(
      ids.map((id) => `recordings/${user.id}/${id}.wav`).sort(),
    );
    for (let i = 0; i < files.length; i++) {
      const stored = await storage.getBytes(`recordings/${user.id}/${ids[i]}.wav`);
      expect(
        Buffer.from(wavSamples(stored).buffer).equals(Buffer.from(pcm16DataSamples(files[i]!).buffer)),
      ).toBe(true);
    }
  });

  it(`caps stored recordings at ${MAX_RECORDINGS_PER_USER} per user, also under concurrency`, async () => {
    const user = await createUser(server);
    await server.ctx.database.query(
      `INSERT INTO recordings (user_id, wake_word, filename, storage_key, source_format, duration_s, size_bytes)
       SELECT $1::bigint, 'computer', g || '.wav', 'recordings/' || $1::text || '/seed-' || g || '.wav', 'wav', 1.0, 32044
         FROM generate_series(1, $2::int) g`,
      [String(user.id), MAX_RECORDINGS_PER_USER - 1],
    );
    // A soft-deleted recording does not count.
    await server.ctx.database.query(
      `INSERT INTO recordings (user_id, wake_word, filename, storage_key, source_format, duration_s, size_bytes, deleted_at)
       VALUES ($1, 'computer', 'x.wav', $2, 'wav', 1.0, 32044, now())`,
      [user.id, `recordings/${user.id}/soft.wav`],
    );
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => upload(user, realWav(40 + i), 'computer')),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 409, 409, 409, 409, 409]);
    const conflict = results.find((r) => r.statusCode === 409)!;
    expect(conflict.json().detail).toMatch(/at most 500 recordings/);
    const [n] = await execRows<{ n: string }>(
      server.ctx.db,
      sql`SELECT count(*) AS n FROM recordings WHERE user_id = ${user.id} AND deleted_at IS NULL`,
    );
    expect(Number(n!.n)).toBe(MAX_RECORDINGS_PER_USER);
    // Refused uploads left no objects behind: only the accepted one is stored.
    expect(await getStorage(server.ctx).list(`recordings/${user.id}/`)).toHaveLength(1);
  });

  it('413 from Content-Length before reading the body, and after 10 MiB of a streamed body', async () => {
    const url = new URL('/api/recordings/upload', server.url);
    const { contentType } = uploadBody(new Uint8Array(0), 'x');
    const boundary = contentType.split('boundary=')[1]!;

    // 1. Declared too large: the answer comes while the client has sent only the headers.
    const declared = await new Promise<{ status: number; body: string; connection?: string }>(
      (resolve, reject) => {
        const req = http.request(url, {
          method: 'POST',
          headers: {
            ...alice.headers,
            'content-type': contentType,
            'content-length': String(11 * 1024 * 1024),
          },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
        });
        req.on('error', reject);
        req.flushHeaders();
      },
    );
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toEqual({ detail: 'File too large. Maximum size is 10 MiB.' });
    expect(declared.connection).toBe('close');

    // 2. Chunked body with no length: 11 MiB of file data, and the request is never finished. The server must answer
    //    413 on its own once it has counted past 10 MiB (a server that buffered the body would wait forever).
    let sent = 0;
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(url, {
        method: 'POST',
        headers: { ...alice.headers, 'content-type': contentType },
      });
      let answered = false;
      const timer = setTimeout(() => reject(new Error('no answer while the body was incomplete')), 15_000);
      req.on('response', (res) => {
        answered = true;
        clearTimeout(timer);
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      // The server closes the connection after answering: a write error after that is expected.
      req.on('error', (err) => (answered ? undefined : sent >= 11 * 1024 * 1024 ? undefined : reject(err)));
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="wake_word"\r\n\r\ncomputer\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n`,
      );
      const chunk = Buffer.alloc(256 * 1024, 0x41);
      const pump = () => {
        while (!answered && sent < 11 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toEqual({ detail: 'File too large. Maximum size is 10 MiB.' });
    // No temporary upload file is left behind.
    const tmp = path.join(server.ctx.config.tmpDir, 'uploads');
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('GET /api/recordings', () => {
  it('filters by the normalized wake word, newest first, and rejects invalid filters with §4.4 messages', async () => {
    const user = await createUser(server);
    const a = (await upload(user, realWav(60), "O'Neil")).json().recording_id;
    const b = (await upload(user, realWav(61), 'Hey Viola')).json().recording_id;
    const c = (await upload(user, realWav(62), 'hey  viola')).json().recording_id;
    const get = (q: string) =>
      server.app.inject({ method: 'GET', url: `/api/recordings${q}`, headers: user.headers });
    expect((await get('')).json().map((r: { id: number }) => r.id)).toEqual([c, b, a]);
    expect(
      (await get(`?wake_word=${encodeURIComponent('  HEY   viola ')}`))
        .json()
        .map((r: { id: number }) => r.id),
    ).toEqual([c, b]);
    expect(
      (await get(`?wake_word=${encodeURIComponent('O’NEIL')}`)).json().map((r: { id: number }) => r.id),
    ).toEqual([a]);
    expect((await get('?wake_word=nobody')).json()).toEqual([]);
    const bad = await get(`?wake_word=${encodeURIComponent('hey!')}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      detail: 'Wake word may only contain letters, digits, spaces, apostrophes and hyphens',
    });
    const empty = await get('?wake_word=');
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toEqual({ detail: 'wake_word is required' });
    // Soft-deleted recordings are excluded and their audio answers 404.
    await server.ctx.database.query('UPDATE recordings SET deleted_at = now() WHERE id = $1', [b]);
    expect((await get('')).json().map((r: { id: number }) => r.id)).toEqual([c, a]);
    expect(
      (await server.app.inject({ method: 'GET', url: `/api/recordings/${b}/audio`, headers: user.headers }))
        .statusCode,
    ).toBe(404);
  });
});

describe('DELETE /api/recordings/{id}', () => {
  it('removes row and object (204), 404 for others and repeats, 409 while a queued or running job uses it', async () => {
    const user = await createUser(server);
    const id = (await upload(user, realWav(70), 'computer')).json().recording_id as number;
    const key = `recordings/${user.id}/${id}.wav`;
    const storage = getStorage(server.ctx);
    expect(await storage.exists(key)).toBe(true);

    expect(
      (await server.app.inject({ method: 'DELETE', url: `/api/recordings/${id}`, headers: bob.headers }))
        .statusCode,
    ).toBe(404);

    await server.ctx.database.query(
      `INSERT INTO training_jobs (user_id, wake_word, recording_ids, priority, usage_period_start, status)
       VALUES ($1, 'computer', ARRAY[$2::bigint], 0, date_trunc('month', now()), 'queued')`,
      [user.id, id],
    );
    const busy = await server.app.inject({
      method: 'DELETE',
      url: `/api/recordings/${id}`,
      headers: user.headers,
    });
    expect(busy.statusCode).toBe(409);
    expect(busy.json()).toEqual({ detail: 'Recording is used by a queued or running training job' });
    expect(await storage.exists(key)).toBe(true);

    await server.ctx.database.query(`UPDATE training_jobs SET status = 'completed' WHERE user_id = $1`, [
      user.id,
    ]);
    const ok = await server.app.inject({
      method: 'DELETE',
      url: `/api/recordings/${id}`,
      headers: user.headers,
    });
    expect(ok.statusCode).toBe(204);
    expect(ok.body).toBe('');
    expect(await storage.exists(key)).toBe(false);
    const [row] = await execRows(server.ctx.db, sql`SELECT id FROM recordings WHERE id = ${id}`);
    expect(row).toBeUndefined();
    const again = await server.app.inject({
      method: 'DELETE',
      url: `/api/recordings/${id}`,
      headers: user.headers,
    });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ detail: 'Recording not found' });
    const notInt = await server.app.inject({
      method: 'DELETE',
      url: '/api/recordings/abc',
      headers: user.headers,
    });
    expect(notInt.statusCode).toBe(422);
    expect(notInt.json().detail[0].loc).toEqual(['path', 'recording_id']);
  });

  it('account deletion collects the recording keys', async () => {
    const user = await createUser(server);
    const id = (await upload(user, realWav(80), 'computer')).json().recording_id as number;
    const step = server.ctx.accountCleanup.find((s) => s.name === 'recordings');
    expect(await step!.collectKeys!(server.ctx, user.id)).toEqual([`recordings/${user.id}/${id}.wav`]);
  });

  it('uses the local backend under the data dir by default', () => {
    const s = getStorage(server.ctx);
    expect(s).toBeInstanceOf(LocalStorage);
    expect((s as LocalStorage).root).toBe(path.join(server.dataDir, 'storage'));
  });
});

describe('rate limit', () => {
  it('counts 50 uploads per hour per user, invalid ones included', async () => {
    const user = await createUser(server);
    const codes: number[] = [];
    for (let i = 0; i < 51; i++) {
      const r = await server.app.inject({
        method: 'POST',
        url: '/api/recordings/upload',
        headers: { 'content-type': 'application/json', ...user.headers },
        payload: '{}',
      });
      codes.push(r.statusCode);
    }
    expect(codes.slice(0, 50).every((c) => c === 422)).toBe(true);
    expect(codes[50]).toBe(429);
  });
});

describe('with the S3 backend (s3rver)', () => {
  let s3: S3Server;
  let s3server: TestServer;
  beforeAll(async () => {
    s3 = await startS3Server('vw-recordings');
    s3server = await startTestServer({
      workers: false,
      env: {
        VIOLAWAKE_S3_BUCKET: s3.config.bucket,
        VIOLAWAKE_S3_ACCESS_KEY_ID: s3.config.accessKeyId,
        VIOLAWAKE_S3_SECRET_ACCESS_KEY: s3.config.secretAccessKey,
        VIOLAWAKE_S3_ENDPOINT: s3.endpoint,
        VIOLAWAKE_S3_REGION: 'us-east-1',
        VIOLAWAKE_S3_FORCE_PATH_STYLE: 'true',
      },
    });
  });
  afterAll(async () => {
    await s3server?.close();
    await s3?.close();
  });

  it('upload, playback and delete go through the bucket', async () => {
    const user = await createUser(s3server);
    const { body, contentType } = uploadBody(WEBM, 'computer');
    const res = await s3server.app.inject({
      method: 'POST',
      url: '/api/recordings/upload',
      headers: { 'content-type': contentType, ...user.headers },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    const id = res.json().recording_id;
    const storage = getStorage(s3server.ctx);
    expect(storage.backend).toBe('s3');
    const key = `recordings/${user.id}/${id}.wav`;
    expect(await storage.list(`recordings/${user.id}/`)).toEqual([key]);
    const audio = await s3server.app.inject({
      method: 'GET',
      url: `/api/recordings/${id}/audio`,
      headers: user.headers,
    });
    expect(audio.statusCode).toBe(200);
    expect(audio.rawPayload.equals(await storage.getBytes(key))).toBe(true);
    const del = await s3server.app.inject({
      method: 'DELETE',
      url: `/api/recordings/${id}`,
      headers: user.headers,
    });
    expect(del.statusCode).toBe(204);
    expect(await storage.exists(key)).toBe(false);
  });
});

describe('on the embedded database (PGlite)', () => {
  let lite: TestServer;
  beforeAll(async () => {
    lite = await startTestServer({ driver: 'pglite', workers: false });
  });
  afterAll(async () => {
    await lite?.close();
  });

  it('upload (cap check, id allocation), list, playback, 409 and delete work unchanged', async () => {
    const user = await createUser(lite);
    const ids: number[] = [];
    for (const bytes of [realWav(90), OGG]) {
      const { body, contentType } = uploadBody(bytes, 'Hey Computer');
      const res = await lite.app.inject({
        method: 'POST',
        url: '/api/recordings/upload',
        headers: { 'content-type': contentType, ...user.headers },
        payload: body,
      });
      expect(res.statusCode).toBe(200);
      ids.push(res.json().recording_id);
    }
    const list = await lite.app.inject({
      method: 'GET',
      url: '/api/recordings?wake_word=hey%20computer',
      headers: user.headers,
    });
    expect(list.json().map((r: { id: number }) => r.id)).toEqual([...ids].reverse());
    const audio = await lite.app.inject({
      method: 'GET',
      url: `/api/recordings/${ids[0]}/audio`,
      headers: user.headers,
    });
    expect(audio.statusCode).toBe(200);
    expect(
      Buffer.from(wavSamples(audio.rawPayload).buffer).equals(
        Buffer.from(pcm16DataSamples(realWav(90)).buffer),
      ),
    ).toBe(true);
    await lite.ctx.database.query(
      `INSERT INTO training_jobs (user_id, wake_word, recording_ids, priority, usage_period_start, status)
       VALUES ($1, 'hey computer', ARRAY[$2::bigint], 0, date_trunc('month', now()), 'running')`,
      [user.id, ids[1]],
    );
    expect(
      (await lite.app.inject({ method: 'DELETE', url: `/api/recordings/${ids[1]}`, headers: user.headers }))
        .statusCode,
    ).toBe(409);
    expect(
      (await lite.app.inject({ method: 'DELETE', url: `/api/recordings/${ids[0]}`, headers: user.headers }))
        .statusCode,
    ).toBe(204);
    expect(await getStorage(lite.ctx).list(`recordings/${user.id}/`)).toEqual([
      `recordings/${user.id}/${ids[1]}.wav`,
    ]);
  });
});
