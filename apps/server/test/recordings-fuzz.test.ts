/**
 * Fuzzing the upload pipeline: ≥ 10,000 mutated WAV, WebM and Ogg files (headers and bodies) — the bulk straight
 * through the decoder, a large share through the real route with `app.inject`, plus mutated multipart framing.
 * Every outcome must be a success or a 4xx with a `detail`, never a 5xx or an exception of another kind; the process
 * keeps serving; storage holds exactly the objects of committed rows, each a complete WAV, and no temporary files.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execRows } from '../src/core/db/client.ts';
import { getStorage, type LocalStorage } from '../src/core/storage/index.ts';
import { AudioError } from '../src/recordings/audio/errors.ts';
import { processRecording } from '../src/recordings/audio/pipeline.ts';
import { demuxWebmOpus } from '../src/recordings/audio/webm.ts';
import { makeWav, sine } from './fixtures/audio/make-wav.ts';
import { remuxToOgg } from './fixtures/audio/ogg-mux.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { SHARED_DATA } from './helpers/repo.ts';
import { createUser, type TestUser } from './helpers/users.ts';
import { uploadBody } from './recordings-helpers.ts';

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures/audio');
const DIRECT_CASES = 9000;
/** Of the direct cases, this many mutate the full 2 s Chromium clips (WebM and Ogg). */
const FULL_CASES = 40;
const ROUTE_CASES = 850;
const FRAMING_CASES = 150;

/** xorshift32: deterministic, so a failure is reproducible from the printed case index. */
class Rng {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

const INTERESTING8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x20];
const INTERESTING32 = [
  0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 16, 44, 0xfffe, 65536, 192000, 192001,
];

type Seed = { name: string; bytes: Buffer; headerSpan: number; expect?: 'too short' };

function mutate(rng: Rng, seed: Seed): Buffer {
  let b = Buffer.from(seed.bytes);
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const len = b.length;
    const hdr = Math.max(1, Math.min(len, seed.headerSpan));
    switch (rng.int(9)) {
      case 0: // bit flips anywhere
        for (let i = 0, n = 1 + rng.int(4); i < n && len > 0; i++) b[rng.int(len)]! ^= 1 << rng.int(8);
        break;
      case 1: // bytes in the header region
        for (let i = 0, n = 1 + rng.int(8); i < n && len > 0; i++)
          b[rng.int(hdr)] = rng.int(2) ? rng.pick(INTERESTING8) : rng.int(256);
        break;
      case 2: // a 32-bit field in the header region (sizes, rates, counts)
        if (len >= 4)
          b.writeUInt32LE(rng.int(2) ? rng.pick(INTERESTING32) : rng.next(), rng.int(Math.max(1, hdr - 3)));
        break;
      case 3: // 16-bit field in the header region (format tags, channels, bits)
        if (len >= 2)
          b.writeUInt16LE(
            rng.pick([0, 1, 2, 3, 8, 9, 0xfffe, 0xffff, 24, 32, 64, rng.int(65536)]),
            rng.int(Math.max(1, hdr - 1)),
          );
        break;
      case 4: // truncate
        b = b.subarray(0, rng.int(len + 1));
        break;
      case 5: {
        // insert random bytes
        const at = rng.int(len + 1);
        const ins = Buffer.from(Array.from({ length: 1 + rng.int(16) }, () => rng.int(256)));
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 6: {
        // delete a range
        const at = rng.int(len + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(len, at + 1 + rng.int(64)))]);
        break;
      }
      case 7: {
        // duplicate a range elsewhere
        const from = rng.int(len + 1);
        const piece = b.subarray(from, Math.min(len, from + 1 + rng.int(512)));
        const at = rng.int(len + 1);
        b = Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
        break;
      }
      default: // overwrite a body range with noise (audio payload / Opus packets)
        for (let i = 0, at = rng.int(len + 1), n = 1 + rng.int(64); i < n && at + i < len; i++)
          b[at + i] = rng.int(256);
    }
  }
  return b;
}

/**
 * Seeds, weighted. The decoder and the resampler are the expensive steps, so most seeds are short: the WAVs are
 * 0.6 s (mostly 16 kHz), and the "short" Opus seeds hold 7 packets (0.42 s: fully demuxed and decoded, then "too
 * short"). A few full Chromium clips cover the accepted Opus path.
 */
function seeds(): { cheap: Seed[]; full: Seed[] } {
  const real = readdirSync(path.join(SHARED_DATA, 'computer')).sort();
  const webm = readFileSync(path.join(FIXTURES, 'chromium-mediarecorder.webm'));
  const ogg = readFileSync(path.join(FIXTURES, 'chromium-remux.ogg'));
  const packets = demuxWebmOpus(webm).packets;
  const shortWebm = webm.subarray(0, webm.indexOf(Buffer.from(packets[7]!)));
  const shortOgg = remuxToOgg(webm, 7);
  const tone = (rate: number, s = 0.6) => sine(330, s, rate, 0.4);
  const pcm16 = {
    name: 'pcm16-16k',
    bytes: makeWav([tone(16000)], { sampleRate: 16000, encoding: 'pcm16' }),
    headerSpan: 64,
  };
  const webmShort = { name: 'webm-short', bytes: shortWebm, headerSpan: 300, expect: 'too short' };
  const oggShort = { name: 'ogg-short', bytes: shortOgg, headerSpan: 200, expect: 'too short' };
  return {
    cheap: [
      pcm16,
      pcm16,
      pcm16,
      {
        name: 'pcm24-st-16k',
        bytes: makeWav([tone(16000), tone(16000)], { sampleRate: 16000, encoding: 'pcm24' }),
        headerSpan: 64,
      },
      {
        name: 'f32-ext-16k',
        bytes: makeWav([tone(16000)], { sampleRate: 16000, encoding: 'float32', extensible: true }),
        headerSpan: 96,
      },
      {
        name: 'pcm32-16k',
        bytes: makeWav([tone(16000)], { sampleRate: 16000, encoding: 'pcm32' }),
        headerSpan: 64,
      },
      {
        name: 'pcm16-odd-chunks',
        bytes: makeWav([tone(16000)], {
          sampleRate: 16000,
          encoding: 'pcm16',
          chunksBefore: [{ id: 'JUNK', body: new Uint8Array(5) }],
          chunksBetween: [{ id: 'LIST', body: new Uint8Array(7) }],
        }),
        headerSpan: 96,
      },
      {
        name: 'pcm8-8k',
        bytes: makeWav([tone(8000)], { sampleRate: 8000, encoding: 'pcm8' }),
        headerSpan: 64,
      },
      { name: 'real-16k', bytes: readFileSync(path.join(SHARED_DATA, 'computer', real[0]!)), headerSpan: 64 },
      webmShort,
      oggShort,
    ],
    full: [
      { name: 'webm', bytes: webm, headerSpan: 300 },
      { name: 'ogg', bytes: ogg, headerSpan: 200 },
    ],
  };
}

/** Wall time and this process's CPU time (the machine's 2 cores are shared, so wall time depends on the load). */
function elapsed(t0: number, cpu0: NodeJS.CpuUsage): string {
  const cpu = process.cpuUsage(cpu0);
  return `wall ${Math.round(performance.now() - t0)} ms, cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms, load ${os.loadavg()[0]!.toFixed(1)}`;
}

/** Every request must be answered: a hang fails the case (and saves the input for reproduction). */
async function answered<T>(i: number, input: Buffer, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const file = path.join(os.tmpdir(), `vw-fuzz-hang-${i}.bin`);
      writeFileSync(file, input);
      reject(new Error(`case ${i}: no answer within 30 s (input saved to ${file})`));
    }, 30_000);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let server: TestServer;
let users: TestUser[] = [];

beforeAll(async () => {
  server = await startTestServer({ workers: false });
  // The upload bucket allows 50 requests per user per hour: spread the route cases over enough users.
  users = await Promise.all(
    Array.from({ length: Math.ceil((ROUTE_CASES + FRAMING_CASES) / 45) + 1 }, () => createUser(server)),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('upload fuzzing', () => {
  const SEEDS = seeds();

  it('the seeds themselves are accepted (the short Opus ones decode and are too short)', async () => {
    for (const s of [...SEEDS.cheap, ...SEEDS.full]) {
      if (s.expect === 'too short') {
        await expect(processRecording(s.bytes), s.name).rejects.toThrow(/^Recording too short \(0\.4\ds\)/);
      } else {
        expect((await processRecording(s.bytes)).durationS, s.name).toBeGreaterThanOrEqual(0.5);
      }
    }
  });

  it(`${DIRECT_CASES} mutants straight through the decoder: a result or an AudioError, nothing else`, {
    timeout: 300_000,
  }, async () => {
    const rng = new Rng(0x5eed1234);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const outcomes = new Map<string, number>();
    for (let i = 0; i < DIRECT_CASES; i++) {
      const seed = i < FULL_CASES ? SEEDS.full[i % SEEDS.full.length]! : SEEDS.cheap[i % SEEDS.cheap.length]!;
      const bytes = mutate(rng, seed);
      try {
        const r = await processRecording(bytes);
        // Accepted mutants still satisfy the output contract.
        expect(r.durationS).toBeGreaterThanOrEqual(0.5);
        expect(r.durationS).toBeLessThanOrEqual(5);
        expect(r.wav.length).toBe(44 + r.samples.length * 2);
        outcomes.set('accepted', (outcomes.get('accepted') ?? 0) + 1);
      } catch (err) {
        if (!(err instanceof AudioError)) {
          throw new Error(`case ${i} (${seed.name}): ${(err as Error)?.stack ?? String(err)}`);
        }
        const key = err.message.replace(/\(\d+(\.\d+)?s?\)/, '(N)');
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
    }
    const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(DIRECT_CASES);
    // The mutants exercise many distinct rejection paths, not one early exit.
    expect(outcomes.size).toBeGreaterThanOrEqual(10);
    console.log('direct fuzz outcomes', Object.fromEntries(outcomes), elapsed(t0, cpu0));
  });

  it(`${ROUTE_CASES} mutants and ${FRAMING_CASES} broken multipart bodies through the route: never a 5xx, storage consistent`, {
    timeout: 300_000,
  }, async () => {
    const rng = new Rng(0xfeedbeef);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const statuses = new Map<number, number>();
    let userIndex = 0;
    let perUser = 0;
    const nextUser = () => {
      if (perUser === 45) {
        userIndex++;
        perUser = 0;
      }
      perUser++;
      return users[userIndex]!;
    };
    const check = (i: number, status: number, body: string) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 500 || (status !== 200 && status < 400)) throw new Error(`case ${i}: ${status} ${body}`);
      if (status >= 400) expect(JSON.parse(body)).toHaveProperty('detail');
    };
    // Eight requests in flight at a time, like concurrent clients.
    const CONCURRENCY = 8;
    for (let i = 0; i < ROUTE_CASES; i += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, ROUTE_CASES - i) }, async (_, k) => {
          const seed = SEEDS.cheap[(i + k) % SEEDS.cheap.length]!;
          const file = mutate(rng, seed);
          const user = nextUser();
          const { body, contentType } = uploadBody(file, 'hey computer');
          const res = await answered(
            i + k,
            file,
            server.app.inject({
              method: 'POST',
              url: '/api/recordings/upload',
              headers: { 'content-type': contentType, ...user.headers },
              payload: body,
            }),
          );
          check(i + k, res.statusCode, res.body);
        }),
      );
    }
    // Mutated multipart framing around a valid file (concurrently too: a stalled parse costs a few seconds).
    const valid = uploadBody(SEEDS.cheap[0]!.bytes, 'hey computer');
    for (let i = 0; i < FRAMING_CASES; i += CONCURRENCY) {
      await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, FRAMING_CASES - i) }, async (_, k) => {
          const body = mutate(rng, { name: 'multipart', bytes: valid.body, headerSpan: 200 });
          const contentType = rng.int(10) === 0 ? 'multipart/form-data' : valid.contentType;
          const user = nextUser();
          const res = await answered(
            ROUTE_CASES + i + k,
            body,
            server.app.inject({
              method: 'POST',
              url: '/api/recordings/upload',
              headers: { 'content-type': contentType, ...user.headers },
              payload: body,
            }),
          );
          check(ROUTE_CASES + i + k, res.statusCode, res.body);
        }),
      );
    }
    console.log('route fuzz statuses', Object.fromEntries(statuses), elapsed(t0, cpu0));
    expect(statuses.get(400)).toBeGreaterThan(ROUTE_CASES / 4);

    // The process is alive and serving.
    const live = await server.app.inject({ method: 'GET', url: '/api/health/live' });
    expect(live.statusCode).toBe(200);

    // Storage holds exactly the committed rows' objects, each a complete canonical WAV; no temporary files.
    const storage = getStorage(server.ctx) as LocalStorage;
    const rows = await execRows<{ storage_key: string; size_bytes: number; duration_s: number }>(
      server.ctx.db,
      sql`SELECT storage_key, size_bytes, duration_s FROM recordings ORDER BY storage_key`,
    );
    const keys = await storage.list('recordings/');
    expect(keys).toEqual(rows.map((r) => r.storage_key).sort());
    expect(rows.length).toBe(statuses.get(200) ?? 0);
    for (const row of rows) {
      const bytes = await storage.getBytes(row.storage_key);
      expect(bytes.length).toBe(row.size_bytes);
      expect(bytes.toString('latin1', 0, 4)).toBe('RIFF');
      expect(bytes.readUInt32LE(24)).toBe(16000);
      expect(bytes.readUInt32LE(40)).toBe(bytes.length - 44);
      expect(Math.abs((bytes.length - 44) / 2 / 16000 - row.duration_s)).toBeLessThan(0.001);
    }
    expect(await storage.pendingTempFiles()).toEqual([]);
    expect(readdirSync(path.join(server.ctx.config.tmpDir, 'uploads'))).toEqual([]);
  });
});
