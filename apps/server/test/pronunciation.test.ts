/**
 * Pronunciation (docs/training.md, "Pronunciation"): the preview route synthesises the word with espeak-ng the way a
 * job would say it, and a job accepts and stores the corrected pronunciation; bad input is a 422 naming the field.
 * Real PostgreSQL, real espeak-ng.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRows } from '../src/core/db/client.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createUser, type TestUser } from './helpers/users.ts';

let server: TestServer;
let user: TestUser;

beforeAll(async () => {
  server = await startTestServer({ workers: false });
  user = await createUser(server);
});
afterAll(async () => {
  await server?.close();
});

const preview = (body: unknown, u: TestUser | null = user) =>
  server.app.inject({
    method: 'POST',
    url: '/api/training/pronunciation/preview',
    headers: { 'content-type': 'application/json', ...(u ? u.headers : {}) },
    payload: JSON.stringify(body),
  });

function wavSeconds(b: Buffer): number {
  expect(b.toString('latin1', 0, 4)).toBe('RIFF');
  expect(b.toString('latin1', 8, 12)).toBe('WAVE');
  const rate = b.readUInt32LE(24);
  return (b.length - 44) / 2 / rate;
}

describe('POST /api/training/pronunciation/preview', () => {
  it('synthesises the word as spelled, as a "sounds like" spelling and from phonemes', async () => {
    const spelled = await preview({ wake_word: 'Hey Mycroft' });
    expect(spelled.statusCode).toBe(200);
    expect(spelled.headers['content-type']).toBe('audio/wav');
    expect(spelled.headers['x-pronunciation-source']).toBe('spelling');
    expect(spelled.headers['x-phonemes']).toMatch(/m/);
    const s1 = wavSeconds(spelled.rawPayload);
    expect(s1).toBeGreaterThan(0.3);
    expect(s1).toBeLessThanOrEqual(3);

    const like = await preview({ wake_word: 'hey mycroft', sounds_like: 'hey my croft' });
    expect(like.statusCode).toBe(200);
    expect(like.headers['x-pronunciation-source']).toBe('sounds_like');
    // espeak-ng reads "my" as /maI/: the respelling changed what is said
    expect(like.headers['x-phonemes']).toContain('maI');
    expect(like.headers['x-phonemes']).not.toBe(spelled.headers['x-phonemes']);

    const ph = await preview({ wake_word: 'hey mycroft', phonemes: "h'eI m'aIkr0ft" });
    expect(ph.statusCode).toBe(200);
    expect(ph.headers['x-pronunciation-source']).toBe('phonemes');
    expect(ph.headers['x-phonemes']).toBe("h'eI m'aIkr0ft");
    expect(wavSeconds(ph.rawPayload)).toBeGreaterThan(0.3);
  });

  it('answers bad phonemes or spelling with 422 and a clear detail, a bad word with 400, no user with 401', async () => {
    const cases: [unknown, string[], RegExp][] = [
      [{ wake_word: 'computer', phonemes: 'k@mpju:t€' }, ['body', 'phonemes'], /ASCII notation/],
      [{ wake_word: 'computer', phonemes: 'kmptr' }, ['body', 'phonemes'], /no vowel/],
      [{ wake_word: 'computer', sounds_like: 'com<pu>ter' }, ['body', 'sounds_like'], /only letters/],
      [
        { wake_word: 'computer', sounds_like: 'kom pew ter', phonemes: 'k@mpju:t3' },
        ['body', 'phonemes'],
        /not both/,
      ],
      [{ wake_word: 'computer', sounds_like: 'a'.repeat(150) }, ['body', 'sounds_like'], /longer than 100/],
    ];
    for (const [body, loc, msg] of cases) {
      const res = await preview(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(422);
      expect(res.json().detail[0].loc).toEqual(loc);
      expect(res.json().detail[0].msg).toMatch(msg);
    }
    expect((await preview({ wake_word: '!!!' })).statusCode).toBe(400);
    expect((await preview({ wake_word: 'computer', extra: 1 })).statusCode).toBe(422);
    expect((await preview({ wake_word: 'computer' }, null)).statusCode).toBe(401);
  });
});

describe('a job with a pronunciation', () => {
  const submit = (body: unknown) =>
    server.app.inject({
      method: 'POST',
      url: '/api/training/start',
      headers: { 'content-type': 'application/json', ...user.headers },
      payload: JSON.stringify(body),
    });

  it('is refused with 422 naming the field when the pronunciation is bad, charging nothing', async () => {
    const res = await submit({
      wake_word: 'hey mycroft',
      recording_ids: [],
      text_only: true,
      pronunciation: { phonemes: 'h€y' },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().detail[0].loc).toEqual(['body', 'pronunciation', 'phonemes']);
    const rows = await execRows<{ n: number }>(
      server.ctx.db,
      sql`SELECT count(*)::int AS n FROM training_jobs WHERE user_id = ${user.id}`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('stores the checked pronunciation on the job row', async () => {
    const res = await submit({
      wake_word: 'hey mycroft',
      recording_ids: [],
      text_only: true,
      pronunciation: { sounds_like: '  hey   my croft ' },
    });
    expect(res.statusCode).toBe(202);
    const rows = await execRows<{ pronunciation: unknown }>(
      server.ctx.db,
      sql`SELECT pronunciation FROM training_jobs WHERE id = ${res.json().job_id}`,
    );
    expect(rows[0]!.pronunciation).toEqual({ sounds_like: 'hey my croft' });
  });
});
