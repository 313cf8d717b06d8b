/**
 * `npm run bench:upload`: server time of recording uploads, the way the console sends them.
 *
 * Starts the real server (in process, real PostgreSQL database, local storage in a temporary data dir, HTTP on
 * 127.0.0.1), creates a verified user, then uploads 10 recordings in a row over HTTP (multipart, one after the
 * other) for each kind of input:
 *   - wav16k: real 16 kHz mono recordings from the picovoice-dev set (stored unchanged);
 *   - wav44k: the same speech as 44.1 kHz stereo 24-bit WAV (decode, downmix, band-limited resampling);
 *   - webm:   the Chromium MediaRecorder WebM/Opus fixture (2 s, decoded at 48 kHz, resampled).
 * Each request's time is measured at the client over loopback (an upper bound of the server time). One warm-up
 * upload per kind runs first (WebAssembly compilation, JIT). Appends the run to bench/results/upload.json and a row
 * to bench/results/upload.md, with the load average (the machine's 2 cores are shared).
 *
 * Options (env): BENCH_ROUNDS (default 3): rounds of 10 per kind; the best and the median round are reported.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeWav } from '../apps/server/test/fixtures/audio/make-wav.ts';
import { startTestServer } from '../apps/server/test/helpers/app.ts';
import { SHARED_DATA } from '../apps/server/test/helpers/repo.ts';
import { createUser } from '../apps/server/test/helpers/users.ts';
import { uploadBody } from '../apps/server/test/recordings-helpers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = path.join(ROOT, 'bench/results');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PER_ROUND = 10;

function pcm16ToFloat(wav: Buffer): Float64Array {
  const at = wav.indexOf('data', 12, 'latin1');
  const n = Math.floor((wav.length - at - 8) / 2);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = wav.readInt16LE(at + 8 + 2 * i) / 32768;
  return out;
}

/** Linear-interpolated 44.1 kHz version of a 16 kHz signal (input preparation only; the server resamples). */
function to44k(x: Float64Array): Float64Array {
  const n = Math.floor((x.length * 44100) / 16000);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = (i * 16000) / 44100;
    const k = Math.floor(t);
    const f = t - k;
    out[i] = (x[k] ?? 0) * (1 - f) + (x[k + 1] ?? 0) * f;
  }
  return out;
}

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const files = readdirSync(path.join(SHARED_DATA, 'computer'))
    .sort()
    .slice(0, PER_ROUND)
    .map((f) => readFileSync(path.join(SHARED_DATA, 'computer', f)));
  const webm = readFileSync(path.join(ROOT, 'apps/server/test/fixtures/audio/chromium-mediarecorder.webm'));
  const kinds: Record<string, Buffer[]> = {
    wav16k: files,
    wav44k: files.map((f) => {
      const x = to44k(pcm16ToFloat(f));
      return makeWav([x, x], { sampleRate: 44100, encoding: 'pcm24' });
    }),
    webm: files.map(() => webm),
  };

  const server = await startTestServer({ workers: false });
  const results: Record<
    string,
    { best_ms: number; median_ms: number; per_upload_ms: { median: number; max: number } }
  > = {};
  try {
    // One user per round and kind keeps each under the 50/hour upload bucket.
    const upload = async (headers: Record<string, string>, bytes: Buffer) => {
      const { body, contentType } = uploadBody(bytes, 'hey computer');
      const t = performance.now();
      const res = await fetch(`${server.url}/api/recordings/upload`, {
        method: 'POST',
        headers: { ...headers, 'content-type': contentType },
        body,
      });
      const ms = performance.now() - t;
      if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      return ms;
    };
    const warm = await createUser(server);
    for (const bytes of Object.values(kinds)) await upload(warm.headers, bytes[0]!);

    for (const [kind, inputs] of Object.entries(kinds)) {
      const totals: number[] = [];
      const each: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const user = await createUser(server);
        let total = 0;
        for (const bytes of inputs) {
          const ms = await upload(user.headers, bytes);
          total += ms;
          each.push(ms);
        }
        totals.push(total);
      }
      results[kind] = {
        best_ms: Math.round(Math.min(...totals)),
        median_ms: Math.round(median(totals)),
        per_upload_ms: {
          median: Math.round(median(each) * 10) / 10,
          max: Math.round(Math.max(...each) * 10) / 10,
        },
      };
      console.log(
        `${kind}: 10 uploads in a row: best ${results[kind].best_ms} ms, median ${results[kind].median_ms} ms`,
      );
    }
  } finally {
    await server.close();
  }

  const run = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    load_average_1m: Math.round(os.loadavg()[0]! * 100) / 100,
    rounds: ROUNDS,
    uploads_per_round: PER_ROUND,
    storage: 'local',
    database: 'postgresql',
    results,
  };
  mkdirSync(RESULTS, { recursive: true });
  const jsonPath = path.join(RESULTS, 'upload.json');
  const history = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as unknown[]) : [];
  history.push(run);
  writeFileSync(jsonPath, `${JSON.stringify(history, null, 2)}\n`);
  const mdPath = path.join(RESULTS, 'upload.md');
  if (!existsSync(mdPath)) {
    writeFileSync(
      mdPath,
      '# Upload benchmark (`npm run bench:upload`)\n\n' +
        'Time for 10 uploads in a row (sequential HTTP requests over loopback to the real server on PostgreSQL, ' +
        'local storage), best and median of the rounds. wav16k: real 16 kHz mono clips (stored unchanged); wav44k: ' +
        'the same speech as 44.1 kHz stereo 24-bit (decode, downmix, resample); webm: the 2 s Chromium ' +
        'MediaRecorder Opus clip (Opus decode at 48 kHz, resample).\n\n' +
        '| date (UTC) | load avg (1 min, 2 cores) | wav16k best / median ms | wav44k best / median ms | webm best / median ms |\n' +
        '|---|---|---|---|---|\n',
    );
  }
  const cell = (k: string) => `${results[k]!.best_ms} / ${results[k]!.median_ms}`;
  appendFileSync(
    mdPath,
    `| ${run.at} | ${run.load_average_1m} | ${cell('wav16k')} | ${cell('wav44k')} | ${cell('webm')} |\n`,
  );
  console.log(`wrote ${jsonPath} and ${mdPath}`);
}

await main();
