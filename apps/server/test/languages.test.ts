/**
 * Languages (docs/languages.md): GET /api/languages lists every language the engine supports with this installation's
 * voices for it; an unknown code is a 422 listing the supported ones; a wake word with letters its language cannot
 * speak is a 422 naming them. Real PostgreSQL, real espeak-ng.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser, type TestUser } from './helpers/users.ts';
import { multipartBody } from './recordings-helpers.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const takeDir = path.resolve(repoRoot, '../shared/data/picovoice-dev/computer');
/** A real take (a person saying "computer"): the upload's speech checks pass it. */
const TAKE = readFileSync(
  path.join(
    takeDir,
    readdirSync(takeDir)
      .filter((f) => f.endsWith('.wav'))
      .sort()[0]!,
  ),
);

let server: TestServer;
let user: TestUser;

beforeAll(async () => {
  server = await startTestServer({ workers: false });
  user = await createUser(server);
});
afterAll(async () => {
  await server?.close();
});

const SUPPORTED = ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'ru'];

describe('GET /api/languages', () => {
  it('lists the supported languages with their voices here, English first and the default', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/api/languages' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      default: string;
      languages: Array<{
        code: string;
        name: string;
        voices: number;
        providers: string[];
        trainable: boolean;
        reason: string | null;
        real_speech_negatives: boolean;
      }>;
    };
    expect(body.default).toBe('en');
    expect(body.languages.map((l) => l.code)).toEqual(SUPPORTED);
    const de = body.languages.find((l) => l.code === 'de')!;
    expect(de.name).toBe('German');
    expect(de.voices).toBeGreaterThanOrEqual(10);
    expect(de.providers.every((p) => p.startsWith('espeak'))).toBe(true);
    expect(de.trainable).toBe(true);
    expect(de.reason).toBeNull();
    for (const l of body.languages) {
      expect(l.real_speech_negatives).toBe(false);
      expect(l.trainable).toBe(l.reason === null);
    }
    const en = body.languages[0]!;
    expect(en.voices).toBeGreaterThan(de.voices);
  });
});

describe('language validation', () => {
  const preview = (body: unknown) =>
    server.app.inject({
      method: 'POST',
      url: '/api/training/pronunciation/preview',
      headers: { 'content-type': 'application/json', ...user.headers },
      payload: JSON.stringify(body),
    });

  it('answers an unknown language code with a 422 listing the supported codes', async () => {
    const res = await preview({ wake_word: 'hallo viola', language: 'xx' });
    expect(res.statusCode).toBe(422);
    const item = (res.json().detail as Array<{ loc: string[]; msg: string }>)[0]!;
    expect(item.loc).toEqual(['body', 'language']);
    expect(item.msg).toContain('Unknown language "xx"');
    expect(item.msg).toContain(SUPPORTED.join(', '));
  });

  it('answers a wake word its language cannot speak with a 422 naming the characters', async () => {
    const res = await preview({ wake_word: 'hallo вера', language: 'de' });
    expect(res.statusCode).toBe(422);
    const item = (res.json().detail as Array<{ loc: string[]; msg: string }>)[0]!;
    expect(item.loc).toEqual(['body', 'wake_word']);
    expect(item.msg).toBe(
      'The wake word contains characters that German voices cannot speak: "в", "е", "р", "а".',
    );
  });

  it('previews a word in its language', async () => {
    const ru = await preview({ wake_word: 'Привет Вера', language: 'ru' });
    expect(ru.statusCode).toBe(200);
    const de = await preview({ wake_word: 'hallo viola', language: 'de-DE' });
    expect(de.statusCode).toBe(200);
    const en = await preview({ wake_word: 'hallo viola' });
    expect(en.statusCode).toBe(200);
    expect(de.headers['x-phonemes']).toMatch(/h'alo/);
    expect(de.headers['x-phonemes']).not.toBe(en.headers['x-phonemes']);
  });
});

describe('the language of an upload', () => {
  const upload = (wakeWord: string, language?: string) => {
    const { body, contentType } = multipartBody([
      { name: 'wake_word', value: wakeWord },
      ...(language === undefined ? [] : [{ name: 'language', value: language }]),
      { name: 'file', value: TAKE, filename: 'take.wav', contentType: 'audio/wav' },
    ]);
    return server.app.inject({
      method: 'POST',
      url: '/api/recordings/upload',
      headers: { ...user.headers, 'content-type': contentType },
      payload: body,
    });
  };

  it('stores the language with the take and lists it (English when absent)', async () => {
    const ru = await upload('Привет Вера', 'ru-RU');
    expect(ru.statusCode).toBe(200);
    expect(ru.json()).toMatchObject({ wake_word: 'привет вера', language: 'ru' });
    const en = await upload('computer');
    expect(en.statusCode).toBe(200);
    expect(en.json().language).toBe('en');
    const list = await server.app.inject({ method: 'GET', url: '/api/recordings', headers: user.headers });
    const rows = list.json() as Array<{ id: number; language: string }>;
    expect(rows.find((r) => r.id === ru.json().recording_id)?.language).toBe('ru');
    expect(rows.find((r) => r.id === en.json().recording_id)?.language).toBe('en');
  });

  it('refuses an unknown code and letters the language cannot speak with a 422, storing nothing', async () => {
    const before = (
      await server.app.inject({ method: 'GET', url: '/api/recordings', headers: user.headers })
    ).json().length;
    const xx = await upload('computer', 'tlh');
    expect(xx.statusCode).toBe(422);
    expect(xx.json().detail[0].loc).toEqual(['body', 'language']);
    expect(xx.json().detail[0].msg).toContain(SUPPORTED.join(', '));
    const de = await upload('hallo вера', 'de');
    expect(de.statusCode).toBe(422);
    expect(de.json().detail[0].msg).toContain('German voices cannot speak: "в", "е", "р", "а"');
    const after = (
      await server.app.inject({ method: 'GET', url: '/api/recordings', headers: user.headers })
    ).json().length;
    expect(after).toBe(before);
  });
});

describe('the language of a training job', () => {
  const submit = (body: unknown) =>
    server.app.inject({
      method: 'POST',
      url: '/api/jobs',
      headers: { 'content-type': 'application/json', ...user.headers },
      payload: JSON.stringify(body),
    });

  it('queues a text-only job in its language and answers with it', async () => {
    const res = await submit({ wake_word: 'hallo viola', text_only: true, language: 'de-AT' });
    expect(res.statusCode).toBe(202);
    const job = await server.app.inject({
      method: 'GET',
      url: `/api/jobs/${res.json().job_id}`,
      headers: user.headers,
    });
    expect(job.json()).toMatchObject({ wake_word: 'hallo viola', language: 'de', text_only: true });
    const en = await submit({ wake_word: 'hey viola', text_only: true });
    const enJob = await server.app.inject({
      method: 'GET',
      url: `/api/jobs/${en.json().job_id}`,
      headers: user.headers,
    });
    expect(enJob.json().language).toBe('en');
  });

  it('refuses an unknown code (listing the supported ones) and letters the language cannot speak', async () => {
    const xx = await submit({ wake_word: 'hallo viola', text_only: true, language: 'xx' });
    expect(xx.statusCode).toBe(422);
    expect(xx.json().detail[0]).toMatchObject({ loc: ['body', 'language'] });
    expect(xx.json().detail[0].msg).toContain(SUPPORTED.join(', '));
    const ru = await submit({ wake_word: 'привет viola', text_only: true, language: 'it' });
    expect(ru.statusCode).toBe(422);
    expect(ru.json().detail[0]).toMatchObject({ loc: ['body', 'wake_word'] });
    expect(ru.json().detail[0].msg).toContain('Italian voices cannot speak: "п", "р", "и", "в", "е", "т"');
  });
});
