/**
 * `violawake bench` / `npm run bench:engine`: the engine's held-out development benchmark (docs/engine.md, "The
 * held-out dev benchmark"). Training never sees the audio it is judged on: a whole synthesis engine (festival by
 * default) and a few voices of every other engine are excluded from the jobs and the negative bank; the positives
 * are real human takes (computer, snowboy) or the held-out voices (text-only words); the negative stream holds
 * sentences in the held-out voices, the other real word's takes, real speech in other languages and real music
 * (Debian's asterisk prompts and music on hold, never used by training), noise and synthetic music.
 *
 *   --quick              one word ("computer"), one seed, 5 minutes of negatives, a small bank (checks the harness)
 *   --neg-hours h        length of the negative stream (default 4)
 *   --words a,b          subset of: hey jarvis, alexa, hey mycroft, computer, snowboy
 *   --seed N             corpus seed: voices reserved, stream, takes and positives (default 1)
 *   --training-seeds s   training seeds, a range (1-5) or a list (1,3) (default 1-5; --quick 1)
 *   --text-seeds s       training seeds of the text-only words (default: --training-seeds)
 *   --training-seed N    one training seed (what `npm run bench:engine:seeds` passes)
 *   --held-out-engine e  the synthesis engine training never uses (default festival)
 *   --bank-scale s       negative bank size (default 1; --quick 0.02)
 *   --positives n        test positives per text-only word, and at most per real word (default 200 / all; --quick 40)
 *   --synth-scale s      synthetic data volume of each training job (default 1; --quick 0.3)
 *   --voice-balance b    how training audio draws voices: uniform (default) or sqrt
 *   --arch a             head architecture of the trained models: auto (default), mlp or tcn
 *   --out dir            results directory (default bench/results)
 *   --cache-dir dir      corpus, bank and stream cache (default bench/.cache)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createNodeFrontend, openWakeWordModelPath, PRETRAINED_BASELINES } from '@violawake/detector/node';
import { copyGroups } from '../audio/duplicates.ts';
import { noiseFloor } from '../audio/floor.ts';
import { atLevel } from '../audio/levels.ts';
import { Rand } from '../audio/random.ts';
import { readWavFile16k } from '../audio/wav.ts';
import { addNoiseAtSnr, applyRoom, roomImpulseResponse } from '../augment/index.ts';
import { ensureBank } from '../bank/build.ts';
import { calibrateThreshold, clipMetrics, missRateStreams } from '../eval/metrics.ts';
import { poissonInterval } from '../eval/poisson.ts';
import { music } from '../negatives/music.ts';
import { NOISE_KINDS, noise } from '../negatives/noise.ts';
import { padForScoring } from '../pipeline/canvas.ts';
import { segmentMaxima } from '../pipeline/evaluate.ts';
import { loadHeadRunner } from '../pipeline/heads.ts';
import { clipScore, fireSteps, openRuntime, scoreAllSteps, withWarmPrefix } from '../pipeline/runtime.ts';
import { trainWakeWord } from '../pipeline/train.ts';
import { deriveRng } from '../rng.ts';
import {
  discoverProviders,
  disposeProviders,
  listVoices,
  randomProsody,
  synthesizeMany,
} from '../synth/index.ts';
import type { Pronunciation } from '../synth/pronunciation-check.ts';
import type { SynthRequest, Voice } from '../synth/types.ts';
import { ENGINE_VERSION } from '../version.ts';
import { bool, num, parseArgs, str, UsageError } from './args.ts';
import {
  engineOf,
  HELD_OUT_MUSIC,
  HELD_OUT_SPEECH,
  heldOutRealAudio,
  holdOutVoices,
  type RealFile,
  splitRealTakes,
} from './bench-holdout.ts';
import { EXIT_OK } from './errors.ts';

const SR = 16000;
const STEP = 1280;
const repoRoot = resolve(import.meta.dirname, '../../../..');
const ALL_WORDS = ['hey jarvis', 'alexa', 'hey mycroft', 'computer', 'snowboy'] as const;
type Word = (typeof ALL_WORDS)[number];
const REAL: Partial<Record<Word, string>> = { computer: 'computer', snowboy: 'snowboy' };
const BASELINE: Partial<Record<Word, keyof typeof PRETRAINED_BASELINES>> = {
  'hey jarvis': 'hey_jarvis',
  alexa: 'alexa',
  'hey mycroft': 'hey_mycroft',
};
/**
 * How a text-only word is said: "Mycroft" is /ˈmaɪkrɒft/, which espeak-ng reads as /mɪkrəft/; the job is given the
 * correction a user would make on the record page ("sounds like"), and the test positives say it the same way.
 */
const SOUNDS_LIKE: Partial<Record<Word, string>> = { 'hey mycroft': 'hey my croft' };

const SPEC = {
  quick: { type: 'boolean' },
  'neg-hours': { type: 'string' },
  words: { type: 'string' },
  seed: { type: 'string' },
  'training-seed': { type: 'string' },
  'training-seeds': { type: 'string' },
  'text-seeds': { type: 'string' },
  'held-out-engine': { type: 'string' },
  'bank-scale': { type: 'string' },
  positives: { type: 'string' },
  out: { type: 'string' },
  'cache-dir': { type: 'string' },
  'synth-scale': { type: 'string' },
  arch: { type: 'string' },
  'voice-balance': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** `1-5` → [1, 2, 3, 4, 5]; `1,3,7` → [1, 3, 7]. */
export function parseSeedList(spec: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(spec.trim());
  const seeds = range
    ? Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i)
    : spec.split(',').map((x) => (/^\d+$/.test(x.trim()) ? Number(x.trim()) : Number.NaN));
  if (seeds.length === 0 || seeds.some((x) => !Number.isInteger(x)))
    throw new UsageError(`--training-seeds must be a range like 1-5 or a list like 1,3 (got "${spec}")`);
  return [...new Set(seeds)];
}

/** Benchmark sentences: a template grammar of its own, disjoint from the engine's sentence list. */
export function benchSentences(n: number, seed: number): string[] {
  const r = new Rand(deriveRng(seed, 'bench-sentences', 0));
  const who = [
    'my sister',
    'the neighbour',
    'our teacher',
    'a friend of mine',
    'the driver',
    'your cousin',
    'the manager',
    'nobody',
  ];
  const verb = [
    'painted',
    'borrowed',
    'forgot',
    'described',
    'repaired',
    'ordered',
    'carried',
    'photographed',
  ];
  const what = [
    'the old bicycle',
    'a blue umbrella',
    'three wooden chairs',
    'the kitchen window',
    'a paper map',
    'the garden fence',
    'some fresh bread',
    'a heavy suitcase',
  ];
  const when = [
    'last Tuesday',
    'before lunch',
    'after the storm',
    'in the morning',
    'during the holidays',
    'on the way home',
    'yesterday evening',
    'at the weekend',
  ];
  const q = ['Do you think', 'Did anyone notice whether', 'I wonder if', 'Can you tell me why'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = `${r.pick(who)} ${r.pick(verb)} ${r.pick(what)} ${r.pick(when)}`;
    out.push(r.chance(0.3) ? `${r.pick(q)} ${s}?` : `${s[0]?.toUpperCase()}${s.slice(1)}.`);
  }
  return out;
}

/**
 * The take of every file: the name of the first file (in sorted order) of its group of copies, from `copyGroups`;
 * cached in the benchmark cache by the files' names and sizes.
 */
async function takesOf(files: string[], cacheDir: string): Promise<(file: string) => string> {
  const sorted = [...files].sort();
  const key = sha(sorted.map((f) => `${basename(f)}:${statSync(f).size}`).join('\n')).slice(0, 16);
  const cache = join(cacheDir, `takes-${key}.json`);
  let first: Record<string, string>;
  try {
    first = JSON.parse(await readFile(cache, 'utf8')) as Record<string, string>;
  } catch {
    const clips: Float32Array[] = [];
    for (const f of sorted) clips.push(await readWavFile16k(f));
    const groups = copyGroups(clips);
    first = Object.fromEntries(
      sorted.map((f, i) => [basename(f), basename(sorted[groups[i] as number] as string)]),
    );
    await mkdir(cacheDir, { recursive: true });
    await writeFile(cache, JSON.stringify(first));
  }
  return (file) => first[basename(file)] ?? basename(file);
}

function setupVoices(): string[] {
  const notes: string[] = [];
  const missing = ['espeak-ng', 'flite', 'text2wave'].filter(
    (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0,
  );
  if (missing.length > 0 && process.getuid?.() === 0) {
    log(`installing voices from Debian (missing: ${missing.join(', ')})`);
    const r = spawnSync(
      'sh',
      ['-c', 'apt-get install -y -qq espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k'],
      {
        stdio: 'ignore',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      },
    );
    notes.push(`apt-get install exit ${r.status}`);
  } else if (missing.length > 0)
    notes.push(`missing ${missing.join(', ')} (not root: npm espeak-ng fallback)`);
  return notes;
}

/** What kind of audio a piece of the negative stream is (FA/h is reported per kind). */
export type PieceKind =
  | 'tts held-out engine'
  | 'tts held-out voice'
  | 'real keyword'
  | 'real speech'
  | 'real music'
  | 'noise'
  | 'synthetic music';

interface StreamData {
  rows: Float32Array; // warm-prefixed
  seconds: number;
  /** own-word spans (steps, 1-based [start, end)) of real clips in the stream */
  spans: Record<string, [number, number][]>;
  /** what was played where (steps, 1-based [start, end)): to name what a head fired on */
  pieces: { start: number; end: number; what: string; kind: PieceKind }[];
  /** seconds of audio per kind (the gaps of the noise floor between pieces are not counted) */
  seconds_by_kind: Record<string, number>;
  hash: string;
}

async function buildStream(
  hours: number,
  seed: number,
  voices: { heldOutEngine: Voice[]; heldOutVoices: Voice[] },
  realAudio: { speech: RealFile[]; music: RealFile[] },
  providers: Awaited<ReturnType<typeof discoverProviders>>,
  cacheDir: string,
): Promise<StreamData> {
  const rt = await openRuntime();
  const total = Math.round(hours * 3600 * SR);
  const r = new Rand(deriveRng(seed + 1000, 'bench-stream', 0));
  // synthetic speech: benchmark sentences, half in the held-out engine's voices, half in the other reserved voices
  const nSent = Math.ceil((hours * 3600 * 0.4) / 2.6) + 10;
  const sentences = benchSentences(nSent, seed);
  const voiceOf = (i: number): Voice => {
    const side =
      i % 2 === 0 || voices.heldOutVoices.length === 0 ? voices.heldOutEngine : voices.heldOutVoices;
    return side[Math.floor(i / 2) % side.length] as Voice;
  };
  const reqs: SynthRequest[] = sentences.map((text, i) => {
    const p = randomProsody(deriveRng(seed, 'bench-stream-prosody', i));
    return { text, voice: voiceOf(i).id, rate: p.rate, pitch: p.pitch };
  });
  log(
    `synthesizing ${reqs.length} benchmark sentences (${voices.heldOutEngine.length} held-out engine voices, ${voices.heldOutVoices.length} other reserved voices)`,
  );
  const synthesized = await synthesizeMany(providers, reqs, { cacheDir: join(cacheDir, 'synth') });
  const speech: { audio: Float32Array; what: string; kind: PieceKind }[] = [];
  for (const [i, x] of synthesized.entries()) {
    if (!x) continue;
    const q = reqs[i] as SynthRequest;
    const heldOutEngine = i % 2 === 0 || voices.heldOutVoices.length === 0;
    speech.push({
      audio: x,
      what: `"${q.text}" (${q.voice})`,
      kind: heldOutEngine ? 'tts held-out engine' : 'tts held-out voice',
    });
  }
  // real human speech of the two keywords, tagged with its word (each is the other's negative)
  const real: { word: string; audio: Float32Array; file: string }[] = [];
  const realBudget = Math.round(total * 0.2);
  let realLen = 0;
  const realFiles = (['computer', 'snowboy'] as const).flatMap((w) => {
    const d = resolve(repoRoot, '../shared/data/picovoice-dev', w);
    return readdirSync(d)
      .sort()
      .map((f) => ({ word: w, path: join(d, f) }));
  });
  new Rand(deriveRng(seed, 'bench-real-order', 0)).shuffle(realFiles);
  for (const f of realFiles) {
    if (realLen > realBudget) break;
    const a = await readWavFile16k(f.path);
    real.push({ word: f.word, audio: a, file: f.path.split('/').pop() as string });
    realLen += a.length;
  }
  // real speech in other languages (telephone prompts) and real music: read lazily, in a seeded order
  const prompts = new Rand(deriveRng(seed, 'bench-prompt-order', 0)).shuffle([...realAudio.speech]);
  const tracks: { file: RealFile; audio: Float32Array }[] = [];
  for (const m of realAudio.music) tracks.push({ file: m, audio: await readWavFile16k(m.path) });

  const stream = rt.frontend.createStream();
  const chunks: Float32Array[] = [withWarmPrefix(new Float32Array(0), rt.warm)];
  const spans: Record<string, [number, number][]> = { computer: [], snowboy: [] };
  const pieces: StreamData['pieces'] = [];
  const secondsByKind: Record<string, number> = {};
  let samples = 0;
  let pending = new Float32Array(0);
  const push = async (x: Float32Array) => {
    const joined = new Float32Array(pending.length + x.length);
    joined.set(pending);
    joined.set(x, pending.length);
    const whole = Math.floor(joined.length / STEP) * STEP;
    if (whole > 0) chunks.push((await stream.push(joined.subarray(0, whole))).embeddings);
    pending = joined.slice(whole);
    samples += x.length;
  };
  const played = async (x: Float32Array, what: string, kind: PieceKind) => {
    const start = Math.floor(samples / STEP) + 1;
    await push(x);
    pieces.push({ start, end: Math.ceil(samples / STEP) + 1, what, kind });
    secondsByKind[kind] = (secondsByKind[kind] ?? 0) + x.length / SR;
    return start;
  };
  let si = 0;
  let ri = 0;
  let pi = 0;
  let piece = 0;
  while (samples < total) {
    await push(noiseFloor(Math.round(r.uniform(0.2, 1.0) * SR), deriveRng(seed, 'bench-gap', piece++)));
    const u = r.u();
    if (u < 0.4 && speech.length > 0) {
      for (let k = 0; k < 4 && samples < total; k++) {
        const x = speech[si++ % speech.length] as (typeof speech)[number];
        await played(x.audio, x.what, x.kind);
        await push(noiseFloor(Math.round(r.uniform(0.2, 0.8) * SR), deriveRng(seed, 'bench-sgap', si)));
      }
    } else if (u < 0.6 && real.length > 0) {
      for (let k = 0; k < 4 && samples < total; k++) {
        const c = real[ri++ % real.length] as (typeof real)[number];
        const start = await played(c.audio, `real "${c.word}" ${c.file}`, 'real keyword');
        spans[c.word]?.push([start, Math.ceil(samples / STEP) + 1]);
        await push(noiseFloor(Math.round(r.uniform(0.3, 1.0) * SR), deriveRng(seed, 'bench-rgap', ri)));
      }
    } else if (u < 0.8 && prompts.length > 0) {
      for (let k = 0; k < 4 && samples < total; k++) {
        const f = prompts[pi++ % prompts.length] as RealFile;
        // telephone prompts at a level between a quiet and a loud talker in the room
        const a = atLevel(await readWavFile16k(f.path), r.uniform(-32, -18));
        await played(a, `${f.source} ${basename(f.path)} (${f.who})`, 'real speech');
        await push(noiseFloor(Math.round(r.uniform(0.3, 1.0) * SR), deriveRng(seed, 'bench-pgap', pi)));
      }
    } else if (u < 0.88) {
      const kind = r.pick(NOISE_KINDS);
      await played(
        atLevel(
          noise(kind, r.uniform(5, 20), deriveRng(seed + 77, 'bench-noise', piece)),
          r.uniform(-45, -15),
        ),
        `${kind} noise`,
        'noise',
      );
    } else if (u < 0.94 || tracks.length === 0) {
      await played(
        atLevel(music(r.uniform(5, 20), deriveRng(seed + 77, 'bench-music', piece)), r.uniform(-40, -12)),
        'music-like audio',
        'synthetic music',
      );
    } else {
      const t = r.pick(tracks);
      const len = Math.min(t.audio.length, Math.round(r.uniform(5, 20) * SR));
      const at = r.int(0, t.audio.length - len);
      await played(
        atLevel(t.audio.slice(at, at + len), r.uniform(-40, -12)),
        `${t.file.source} at ${(at / SR).toFixed(0)} s (${t.file.who})`,
        'real music',
      );
    }
    if (piece % 50 === 0) log(`negative stream ${((100 * samples) / total).toFixed(0)} %`);
  }
  if (pending.length > 0) {
    const pad = new Float32Array(STEP);
    pad.set(pending);
    chunks.push((await stream.push(pad)).embeddings);
    samples += STEP - pending.length;
  }
  stream.dispose();
  const rows = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    rows.set(c, o);
    o += c.length;
  }
  return {
    rows,
    seconds: samples / SR,
    spans,
    pieces,
    seconds_by_kind: secondsByKind,
    hash: sha(new Uint8Array(rows.buffer)),
  };
}

/** The `k` highest scores of a (masked) stream, 25 steps apart at least, each with the piece that was playing. */
function strongestFirings(
  scores: Float32Array,
  pieces: StreamData['pieces'],
  k: number,
): { score: number; at_s: number; what: string }[] {
  const order = Array.from(scores.keys())
    .filter((i) => (scores[i] as number) > 0.05)
    .sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const picked: number[] = [];
  for (const i of order) {
    if (picked.length >= k) break;
    if (picked.every((j) => Math.abs(i - j) >= 25)) picked.push(i);
  }
  return picked.map((i) => {
    // a window ends at step i: the piece that was playing then, or the last one that ended within its 2 s
    const step = i + 1;
    const p =
      pieces.find((x) => x.start <= step && step < x.end) ??
      [...pieces].reverse().find((x) => x.end <= step && x.end > step - 25);
    return {
      score: Math.round((scores[i] as number) * 1e4) / 1e4,
      at_s: Math.round(i * 0.08),
      what: p?.what ?? 'gap',
    };
  });
}

function missByGroup(steps: Float32Array[], groups: string[], threshold: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of [...new Set(groups)].sort()) {
    const mine = steps.filter((_, i) => groups[i] === g);
    out[g] = Math.round(1000 * missRateStreams(mine, { threshold })) / 1000;
  }
  return out;
}

/** What the model's manifest claims, and what the held-out audio measures at the manifest's threshold. */
/** The FA/h statement of a manifest with honest metrics (`evaluation.false_accepts`), as far as the bench reads it. */
interface StatedFalseAccepts {
  hours: number;
  count: number;
  fa_per_hour: number;
  ci95: [number, number];
  below_resolution?: boolean;
  target_resolved?: boolean;
  statement?: string;
}

export interface ClaimedVsMeasured {
  threshold: number;
  claimed_fa_per_hour: number;
  /** the manifest's 95 % interval of its FA/h, when it states one */
  claimed_fa_per_hour_95: [number, number] | null;
  claimed_statement: string | null;
  claimed_miss: number;
  /** hours of the job's own evaluation stream (one false accept there is 1 / hours FA/h) */
  claimed_eval_hours: number | null;
  claimed_resolution_limited: boolean | null;
  /** every `metrics` / `evaluation` field the manifest has, as written (newer engines add intervals) */
  manifest_metrics: Record<string, unknown>;
  measured_firings: number;
  measured_fa_per_hour: number;
  measured_fa_per_hour_95: [number, number];
  /** measured ÷ claimed FA/h; a claim of 0 counts as one firing in the job's evaluation hours */
  fa_ratio: number | null;
  /** whether the held-out measurement falls inside the manifest's own 95 % interval (null: it states none) */
  measured_in_claimed_95: boolean | null;
  measured_miss: number;
  /** firings at the manifest threshold by kind of negative audio */
  firings_by_kind: Record<string, number>;
}

/** One row of the report: a head (ours, one training seed, or openWakeWord's) for one word. */
export interface HeadReport {
  word: string;
  model: string;
  kind: 'violawake' | 'openwakeword';
  training_seed: number | null;
  train_seconds: number | null;
  /** Seconds per pipeline stage of the training job (violawake heads). */
  stage_seconds?: Record<string, number>;
  /** The word's headline positives: real takes (computer, snowboy) or the held-out engine's voices (text-only words). */
  positives: string;
  n_positives: number;
  miss_at_0_5: number;
  /** Miss at the 0.5 FA/h threshold over every test positive (text-only words: also the reserved voices of trained engines). */
  miss_all_at_0_5: number;
  /** The stream's highest scores outside the word's own clips (at least 2 s apart), and what was playing. */
  top_false_accepts?: { score: number; at_s: number; what: string }[];
  /** Miss rate at the 0.5 FA/h threshold per kind of test positive. */
  miss_by_group_at_0_5?: Record<string, number>;
  threshold_at_0_5: number;
  miss_at_0_1: number;
  threshold_at_0_1: number;
  resolution_limited_0_5: boolean;
  resolution_limited_0_1: boolean;
  /** firings on the stream at the 0.5 FA/h threshold, by kind of negative audio */
  firings_by_kind_at_0_5?: Record<string, number>;
  manifest_threshold: number | null;
  miss_at_manifest: number | null;
  fa_per_hour_at_manifest: number | null;
  claimed_vs_measured: ClaimedVsMeasured | null;
  d_prime: number | null;
  auc: number | null;
  eer: number | null;
  model_bytes: number;
  params: number | null;
  head_us_per_step: number;
  grade: string | null;
  architecture: string | null;
}

/** Mean and worst over the training seeds of one word and model. */
export interface SeedSummary {
  word: string;
  model: string;
  seeds: number[];
  miss_at_0_5: number[];
  mean_0_5: number;
  worst_0_5: number;
  miss_at_0_1: number[];
  mean_0_1: number;
  worst_0_1: number;
}

export function summarizeBySeed(rows: HeadReport[]): SeedSummary[] {
  const out: SeedSummary[] = [];
  const keys = [...new Set(rows.map((x) => `${x.word}\u0000${x.model}`))];
  for (const k of keys) {
    const [word, model] = k.split('\u0000') as [string, string];
    const mine = rows.filter((x) => x.word === word && x.model === model);
    const m05 = mine.map((x) => x.miss_at_0_5);
    const m01 = mine.map((x) => x.miss_at_0_1);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    out.push({
      word,
      model,
      seeds: mine.map((x) => x.training_seed ?? 0),
      miss_at_0_5: m05,
      mean_0_5: mean(m05),
      worst_0_5: Math.max(...m05),
      miss_at_0_1: m01,
      mean_0_1: mean(m01),
      worst_0_1: Math.max(...m01),
    });
  }
  return out;
}

/** Firings (0-based step indices) attributed to the kind of piece that was playing or had just ended. */
function firingsByKind(firings: number[], pieces: StreamData['pieces']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of firings) {
    const step = i + 1;
    const p =
      pieces.find((x) => x.start <= step && step < x.end) ??
      [...pieces].reverse().find((x) => x.end <= step && x.end > step - 25);
    const k = p?.kind ?? 'gap';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

export async function runBench(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SPEC);
  const quick = bool(p, 'quick');
  const seed = num(p, 'seed', { min: 0, integer: true }) ?? 1;
  const oneSeed = num(p, 'training-seed', { min: 0, integer: true });
  const seedsSpec = str(p, 'training-seeds');
  if (oneSeed !== undefined && seedsSpec !== undefined)
    throw new UsageError('give --training-seed or --training-seeds, not both');
  const trainingSeeds =
    oneSeed !== undefined ? [oneSeed] : parseSeedList(seedsSpec ?? (quick ? String(seed) : '1-5'));
  const textSeedsSpec = str(p, 'text-seeds');
  if (oneSeed !== undefined && textSeedsSpec !== undefined)
    throw new UsageError('give --training-seed or --text-seeds, not both');
  const textSeeds = textSeedsSpec !== undefined ? parseSeedList(textSeedsSpec) : trainingSeeds;
  const negHours = num(p, 'neg-hours', { min: 0.01, max: 100 }) ?? (quick ? 5 / 60 : 4);
  const bankScale = num(p, 'bank-scale', { min: 0.001, max: 10 }) ?? (quick ? 0.02 : 1);
  const nPosOpt = num(p, 'positives', { min: 5, integer: true });
  const nPos = nPosOpt ?? (quick ? 40 : 200);
  const synthScale = num(p, 'synth-scale', { min: 0.05, max: 2 }) ?? (quick ? 0.3 : 1);
  const heldOutEngine = str(p, 'held-out-engine') ?? 'festival';
  const arch = str(p, 'arch') ?? 'auto';
  if (!['auto', 'mlp', 'tcn'].includes(arch)) throw new UsageError('--arch must be auto, mlp or tcn');
  const voiceBalance = str(p, 'voice-balance') ?? 'uniform';
  if (voiceBalance !== 'uniform' && voiceBalance !== 'sqrt')
    throw new UsageError('--voice-balance must be uniform or sqrt');
  const words = (str(p, 'words')
    ?.split(',')
    .map((w) => w.trim()) ?? (quick ? ['computer'] : [...ALL_WORDS])) as Word[];
  for (const w of words)
    if (!ALL_WORDS.includes(w))
      throw new UsageError(`unknown word "${w}" (choose from ${ALL_WORDS.join(', ')})`);
  const outDir = resolve(str(p, 'out') ?? join(repoRoot, 'bench/results'));
  const cacheDir = resolve(str(p, 'cache-dir') ?? join(repoRoot, 'bench/.cache'));
  const dataDir = join(cacheDir, 'data');
  await mkdir(cacheDir, { recursive: true });
  const tStart = performance.now();
  const loadAtStart = os.loadavg();

  // 1. voices: a whole engine and a few voices of every other engine are kept from training
  const setupNotes = setupVoices();
  const providers = await discoverProviders();
  const allVoices = await listVoices(providers);
  let holdout: ReturnType<typeof holdOutVoices>;
  try {
    holdout = holdOutVoices(allVoices, { seed, heldOutEngine });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const reservedIds = holdout.reservedIds;
  log(
    `voices: ${allVoices.length} (${providers.map((x) => x.id).join(', ')}); held out: engine ${heldOutEngine} (${holdout.heldOutEngineVoices.length} voices) and ${holdout.heldOutVoicesOfTrainedEngines.length} voices of the training engines; training may use ${holdout.training.length}`,
  );
  const realAudio = heldOutRealAudio();
  for (const m of realAudio.missing) log(`not installed, left out of the stream: ${m}`);

  // 2. bank (timed separately), without the reserved voices
  const tb = performance.now();
  const bank = await ensureBank({
    dataDir,
    scale: bankScale,
    excludeVoices: reservedIds,
    onProgress: (m, f) => log(`bank ${(f * 100).toFixed(0)} % ${m}`),
  });
  const bankSeconds = bank.built ? (performance.now() - tb) / 1000 : bank.index.build_seconds;

  // 3. negative stream (cached)
  const streamKey = sha(
    JSON.stringify({
      negHours,
      seed,
      reservedIds,
      heldOutEngine,
      real: [...realAudio.speech, ...realAudio.music].map((f) => f.path),
      v: 3,
    }),
  ).slice(0, 16);
  const streamFile = join(cacheDir, `stream-${streamKey}`);
  let stream: StreamData;
  if (existsSync(`${streamFile}.json`)) {
    const meta = JSON.parse(await readFile(`${streamFile}.json`, 'utf8'));
    const buf = await readFile(`${streamFile}.f32`);
    const rows = new Float32Array(buf.byteLength / 4);
    new Uint8Array(rows.buffer).set(buf);
    stream = { ...meta, rows };
  } else {
    stream = await buildStream(
      negHours,
      seed,
      { heldOutEngine: holdout.heldOutEngineVoices, heldOutVoices: holdout.heldOutVoicesOfTrainedEngines },
      realAudio,
      providers,
      cacheDir,
    );
    await writeFile(`${streamFile}.f32`, new Uint8Array(stream.rows.buffer));
    await writeFile(
      `${streamFile}.json`,
      JSON.stringify({
        seconds: stream.seconds,
        spans: stream.spans,
        pieces: stream.pieces,
        seconds_by_kind: stream.seconds_by_kind,
        hash: stream.hash,
      }),
    );
  }
  log(`negative stream: ${(stream.seconds / 3600).toFixed(2)} h ${JSON.stringify(stream.seconds_by_kind)}`);

  const rt = await openRuntime();
  const rows: HeadReport[] = [];
  const corpusHashes: Record<string, string> = { stream: stream.hash };
  const splits: Record<string, unknown> = {};
  let frontendCpuMsPerS = Number.NaN;
  let frontendWallMsPerS = Number.NaN;
  let frontendStreamCpuMsPerS = Number.NaN;
  const writeReport = async (partial: boolean) => {
    // front end CPU per second of audio, one thread
    if (!partial && Number.isNaN(frontendCpuMsPerS)) {
      const fe = await createNodeFrontend({ threads: 1 });
      const audio = new Float32Array(20 * SR);
      const rr = new Rand(deriveRng(seed, 'bench-fe', 0));
      for (let i = 0; i < audio.length; i++)
        audio[i] = 0.05 * Math.sin(i / (5 + 3 * Math.sin(i / 8000))) + 0.01 * rr.normal();
      await fe.embedClip(audio.subarray(0, SR));
      const cpu0 = process.cpuUsage();
      const w0 = performance.now();
      await fe.embedClip(audio);
      const cpu = process.cpuUsage(cpu0);
      frontendCpuMsPerS = (cpu.user + cpu.system) / 1000 / 20;
      frontendWallMsPerS = (performance.now() - w0) / 20;
      // streaming, one push per 80 ms step (as a microphone feeds the detector): one embedding call per step
      const st = fe.createStream();
      const cpuS0 = process.cpuUsage();
      for (let o = 0; o < audio.length; o += 1280) await st.push(audio.subarray(o, o + 1280));
      const cpuS = process.cpuUsage(cpuS0);
      frontendStreamCpuMsPerS = (cpuS.user + cpuS.system) / 1000 / 20;
      await fe.dispose();
    }
    const seedSummary = summarizeBySeed(rows);
    const report: Report = {
      generated_at: new Date().toISOString(),
      mode: `${quick ? 'quick' : 'full'}${partial ? ' (partial: run in progress)' : ''}`,
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        loadavg_at_start: loadAtStart,
        loadavg_at_end: os.loadavg(),
        node: process.version,
        platform: `${os.platform()} ${os.arch()}`,
      },
      versions: {
        engine: ENGINE_VERSION,
        onnxruntime_node: (await import('onnxruntime-node/package.json', { with: { type: 'json' } })).default
          .version,
      },
      seeds: { corpus: seed, training: trainingSeeds[0] as number },
      training_seeds: trainingSeeds,
      text_seeds: textSeeds,
      options: {
        neg_hours: negHours,
        bank_scale: bankScale,
        synth_scale: synthScale,
        positives_per_synthetic_word: nPos,
        voice_balance: voiceBalance,
        words,
        held_out_engine: heldOutEngine,
      },
      setup: setupNotes,
      voices: {
        providers: providers.map((x) => x.id),
        total: allVoices.length,
        held_out_engine: heldOutEngine,
        held_out_engine_voices: holdout.heldOutEngineVoices.map((v) => v.id),
        held_out_voices_of_trained_engines: holdout.heldOutVoicesOfTrainedEngines.map((v) => v.id),
        reserved: reservedIds,
        training: holdout.training.length,
        training_engines: [...new Set(holdout.training.map(engineOf))].sort(),
        engine_train_eval: { train: bank.index.voices.train.length, eval: bank.index.voices.eval.length },
      },
      held_out_real_audio: {
        speech: HELD_OUT_SPEECH.map((s) => ({
          source: s.source,
          who: s.who,
          license: s.license,
          files: realAudio.speech.filter((f) => f.source === s.source).length,
        })),
        music: HELD_OUT_MUSIC.map((m) => ({ file: m.file, who: m.who, license: 'CC-BY-SA-3.0' })),
        missing: realAudio.missing,
      },
      splits,
      corpus_hashes: corpusHashes,
      bank: {
        build_seconds: bankSeconds,
        built_in_this_run: bank.built,
        train_hours: bank.index.train.seconds / 3600,
        eval_hours: bank.index.eval.seconds / 3600,
        key: bank.index.key,
      },
      negative_stream_hours: stream.seconds / 3600,
      negative_stream_seconds_by_kind: stream.seconds_by_kind,
      frontend: {
        cpu_ms_per_audio_second_one_thread: frontendCpuMsPerS,
        wall_ms_per_audio_second: frontendWallMsPerS,
        streaming_cpu_ms_per_audio_second_one_thread: frontendStreamCpuMsPerS,
      },
      results: rows,
      seed_summary: seedSummary,
      targets: targetsOf(rows, seedSummary, words, frontendCpuMsPerS, frontendStreamCpuMsPerS),
      total_seconds: (performance.now() - tStart) / 1000,
    };
    await mkdir(outDir, { recursive: true });
    const base = quick ? 'engine.quick' : 'engine';
    await writeFile(join(outDir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(outDir, `${base}.md`), renderMarkdown(report));
    return report;
  };

  for (const word of words) {
    // 4. corpus for this word
    let userPaths: string[] = [];
    let testClips: Float32Array[];
    /** what each test positive is: `real`, or `held-out engine <provider>` / `held-out voice <provider>` [+room+bed] */
    let testGroups: string[];
    const real = REAL[word];
    if (real) {
      const d = resolve(repoRoot, '../shared/data/picovoice-dev', real);
      const files = readdirSync(d)
        .sort()
        .map((f) => join(d, f));
      // one file per take: the folder holds copies of some takes (up to 20 files of one), and a copy of a user clip
      // among the test positives would be scored as an unseen one (docs/engine.md, "Copies of one recording")
      const take = await takesOf(files, cacheDir);
      const split = splitRealTakes(files, take, { seed, word });
      userPaths = split.user;
      const rest = nPosOpt !== undefined || quick ? split.test.slice(0, nPos) : split.test;
      log(
        `${word}: ${files.length} files, ${split.user.length + split.test.length} different takes; the other ${split.copies} are copies and are not scored`,
      );
      splits[word] = {
        train_takes: split.user.map((f) => basename(f)),
        test_takes: rest.length,
        copies_not_scored: split.copies,
      };
      testClips = [];
      for (const f of rest) testClips.push(await readWavFile16k(f));
      testGroups = testClips.map(() => 'real');
      corpusHashes[word] = sha(Buffer.concat(await Promise.all(userPaths.map((f) => readFile(f)))));
    } else {
      // text-only: test positives from the held-out engine (even i) and the reserved voices of trained engines
      const other = holdout.heldOutVoicesOfTrainedEngines;
      const voiceOf = (i: number): Voice => {
        const side = i % 2 === 0 || other.length === 0 ? holdout.heldOutEngineVoices : other;
        return side[Math.floor(i / 2) % side.length] as Voice;
      };
      const preqs: SynthRequest[] = Array.from({ length: nPos }, (_, i) => {
        const pr = randomProsody(deriveRng(seed, `bench-pos-${word}`, i));
        return { text: SOUNDS_LIKE[word] ?? word, voice: voiceOf(i).id, rate: pr.rate, pitch: pr.pitch };
      });
      const pos = await synthesizeMany(providers, preqs, { cacheDir: join(cacheDir, 'synth') });
      testClips = [];
      testGroups = [];
      for (const [i, a] of pos.entries()) {
        if (!a) continue;
        const v = voiceOf(i);
        const role = engineOf(v) === heldOutEngine ? 'held-out engine' : 'held-out voice';
        const augmented = Math.floor(i / 2) % 2 === 1;
        testGroups.push(`${role} ${v.provider}${augmented ? '+room+bed' : ''}`);
        if (!augmented) testClips.push(a);
        else {
          const rr = new Rand(deriveRng(seed, `bench-pos-aug-${word}`, i));
          const roomed = applyRoom(
            a,
            roomImpulseResponse(rr.uniform(0.1, 0.6), deriveRng(seed, 'bench-pos-ir', i)),
          );
          const bed = rr.chance(0.5)
            ? music(3, deriveRng(seed, 'bench-pos-bed', i))
            : noise(rr.pick(NOISE_KINDS), 3, deriveRng(seed, 'bench-pos-bed', i));
          testClips.push(addNoiseAtSnr(roomed, bed, rr.uniform(5, 20), deriveRng(seed, 'bench-pos-snr', i)));
        }
      }
      splits[word] = {
        text_only: true,
        sounds_like: SOUNDS_LIKE[word] ?? null,
        test_positives: testGroups.reduce<Record<string, number>>(
          (a, g) => Object.assign(a, { [g]: (a[g] ?? 0) + 1 }),
          {},
        ),
      };
      corpusHashes[word] = sha(JSON.stringify(preqs));
    }
    const primary = testGroups.map((g) => g === 'real' || g.startsWith('held-out engine'));
    const positivesLabel = real
      ? 'real takes'
      : `held-out engine (${heldOutEngine}), with and without room + bed`;
    log(`${word}: ${userPaths.length} user clips, ${testClips.length} test positives`);
    // embeddings of the padded test positives, shared by every head of this word
    const posRows: Float32Array[] = [];
    for (const [i, c] of testClips.entries())
      posRows.push(
        withWarmPrefix(await rt.embed(padForScoring(c, deriveRng(seed, 'bench-pad', i))), rt.warm),
      );

    // 5. train with the pipeline, once per training seed, timed
    const heads: {
      model: string;
      kind: HeadReport['kind'];
      seed: number | null;
      bytes: Uint8Array;
      trainSeconds: number | null;
      stageSeconds?: Record<string, number>;
      manifest: Awaited<ReturnType<typeof trainWakeWord>>['manifest'] | null;
    }[] = [];
    const failed = (trainingSeed: number, seconds: number, message: string): HeadReport => ({
      word,
      model: 'violawake (failed)',
      kind: 'violawake',
      training_seed: trainingSeed,
      train_seconds: seconds,
      positives: positivesLabel,
      n_positives: primary.filter(Boolean).length,
      miss_at_0_5: 1,
      miss_all_at_0_5: 1,
      threshold_at_0_5: 0,
      miss_at_0_1: 1,
      threshold_at_0_1: 0,
      resolution_limited_0_5: false,
      resolution_limited_0_1: false,
      manifest_threshold: null,
      miss_at_manifest: null,
      fa_per_hour_at_manifest: null,
      claimed_vs_measured: null,
      d_prime: null,
      auc: null,
      eer: null,
      model_bytes: 0,
      params: null,
      head_us_per_step: 0,
      grade: `F: ${message}`,
      architecture: null,
    });
    for (const trainingSeed of real ? trainingSeeds : textSeeds) {
      // a cold synthesis cache for the job: its wall time includes synthesizing the word's audio
      const jobSynthCache = join(cacheDir, 'job-synth-cache');
      await rm(jobSynthCache, { recursive: true, force: true });
      const pron: Pronunciation | undefined = SOUNDS_LIKE[word]
        ? { soundsLike: SOUNDS_LIKE[word] }
        : undefined;
      const tt = performance.now();
      try {
        const res = await trainWakeWord({
          wakeWord: word,
          ...(real ? { clips: userPaths } : { textOnly: true }),
          ...(pron ? { pronunciation: pron } : {}),
          dataDir,
          synthCacheDir: jobSynthCache,
          arch: arch as 'auto' | 'mlp' | 'tcn',
          seed: trainingSeed,
          voiceBalance,
          excludeVoices: reservedIds,
          bankScale,
          synthScale,
          onProgress: (pr) => {
            if (pr.stage === 'training' && pr.epoch) return;
            log(`${word} seed ${trainingSeed}: [${pr.stage} ${pr.progress.toFixed(0)} %] ${pr.message}`);
          },
        });
        const trainSeconds = (performance.now() - tt) / 1000;
        log(`${word} seed ${trainingSeed}: seconds per stage ${JSON.stringify(res.evaluation.timings)}`);
        await mkdir(join(cacheDir, 'models'), { recursive: true });
        const stem = `${word.replace(/\s+/g, '_')}-seed${trainingSeed}`;
        await writeFile(join(cacheDir, 'models', `${stem}.onnx`), res.onnx);
        await writeFile(join(cacheDir, 'models', `${stem}.json`), JSON.stringify(res.manifest, null, 2));
        heads.push({
          model: 'violawake',
          kind: 'violawake',
          seed: trainingSeed,
          bytes: res.onnx,
          trainSeconds,
          stageSeconds: res.evaluation.timings,
          manifest: res.manifest,
        });
      } catch (err) {
        const details = (err as { details?: Record<string, unknown> }).details;
        log(
          `${word} seed ${trainingSeed}: training failed: ${(err as Error).message}${details ? ` ${JSON.stringify(details)}` : ''}`,
        );
        rows.push(failed(trainingSeed, (performance.now() - tt) / 1000, (err as Error).message));
      }
    }
    const base = BASELINE[word];
    if (base) {
      const file = PRETRAINED_BASELINES[base].file;
      heads.push({
        model: file,
        kind: 'openwakeword',
        seed: null,
        bytes: new Uint8Array(await readFile(openWakeWordModelPath(file))),
        trainSeconds: null,
        manifest: null,
      });
    }
    // 6. evaluate every head on the same positives and stream with the same rules
    for (const h of heads) {
      const runner = await loadHeadRunner(rt.ort, h.bytes);
      try {
        const posSteps: Float32Array[] = [];
        for (const pr of posRows) posSteps.push(await scoreAllSteps(runner, pr));
        const primarySteps = posSteps.filter((_, i) => primary[i]);
        const th = performance.now();
        const s = await scoreAllSteps(runner, stream.rows);
        const headUs = ((performance.now() - th) * 1000) / s.length;
        let masked = 0;
        for (const [a, b] of stream.spans[REAL[word] ?? ''] ?? []) {
          for (let k = Math.max(0, a - 1); k < Math.min(s.length, b + 25); k++) {
            s[k] = 0;
            masked++;
          }
        }
        const hours = ((s.length - masked) * 0.08) / 3600;
        const topFalseAccepts = strongestFirings(s, stream.pieces, 3);
        const c05 = calibrateThreshold(s, hours, 0.5);
        const c01 = calibrateThreshold(s, hours, 0.1);
        const cm = clipMetrics(primarySteps.map(clipScore), segmentMaxima(s));
        const m = h.manifest;
        let cvm: ClaimedVsMeasured | null = null;
        if (m) {
          const fires = fireSteps(s, { threshold: m.threshold });
          // engines with honest metrics state FA/h with count, hours, resolution and interval; older ones a bare rate
          const fa = (m.evaluation as { false_accepts?: StatedFalseAccepts } | undefined)?.false_accepts;
          const evalHours = fa?.hours ?? m.evaluation?.negatives_hours ?? null;
          const claimedFa = fa?.fa_per_hour ?? m.metrics.fa_per_hour_at_threshold;
          const measuredFa = fires.length / hours;
          const claimFloor = claimedFa > 0 ? claimedFa : evalHours ? 1 / evalHours : null;
          cvm = {
            threshold: m.threshold,
            claimed_fa_per_hour: claimedFa,
            claimed_fa_per_hour_95: fa?.ci95 ?? null,
            claimed_statement: fa?.statement ?? null,
            claimed_miss: m.metrics.miss_rate_at_target,
            claimed_eval_hours: evalHours,
            claimed_resolution_limited: fa
              ? fa.below_resolution === true || fa.target_resolved === false
              : (m.evaluation?.resolution_limited ?? null),
            manifest_metrics: {
              ...(m.metrics as unknown as Record<string, unknown>),
              ...(m.evaluation
                ? {
                    negatives_hours: m.evaluation.negatives_hours,
                    resolution_limited: m.evaluation.resolution_limited,
                    miss_rate_by_source: m.evaluation.miss_rate_by_source,
                    ...Object.fromEntries(
                      ['false_accepts', 'calibration', 'grade_basis']
                        .filter((k) => k in (m.evaluation as object))
                        .map((k) => [k, (m.evaluation as unknown as Record<string, unknown>)[k]]),
                    ),
                  }
                : {}),
            },
            measured_firings: fires.length,
            measured_fa_per_hour: measuredFa,
            measured_fa_per_hour_95: poissonInterval(fires.length).map((x) => x / hours) as [number, number],
            fa_ratio: claimFloor ? measuredFa / claimFloor : null,
            measured_in_claimed_95: fa?.ci95
              ? measuredFa >= fa.ci95[0] - 1e-9 && measuredFa <= fa.ci95[1] + 1e-9
              : null,
            measured_miss: missRateStreams(primarySteps, { threshold: m.threshold }),
            firings_by_kind: firingsByKind(fires, stream.pieces),
          };
        }
        rows.push({
          word,
          model: h.model,
          kind: h.kind,
          training_seed: h.seed,
          train_seconds: h.trainSeconds,
          ...(h.stageSeconds ? { stage_seconds: h.stageSeconds } : {}),
          positives: positivesLabel,
          n_positives: primarySteps.length,
          miss_at_0_5: missRateStreams(primarySteps, { threshold: c05.threshold }),
          miss_all_at_0_5: missRateStreams(posSteps, { threshold: c05.threshold }),
          miss_by_group_at_0_5: missByGroup(posSteps, testGroups, c05.threshold),
          top_false_accepts: topFalseAccepts,
          threshold_at_0_5: c05.threshold,
          miss_at_0_1: missRateStreams(primarySteps, { threshold: c01.threshold }),
          threshold_at_0_1: c01.threshold,
          resolution_limited_0_5: c05.resolutionLimited,
          resolution_limited_0_1: c01.resolutionLimited,
          firings_by_kind_at_0_5: firingsByKind(fireSteps(s, { threshold: c05.threshold }), stream.pieces),
          manifest_threshold: m?.threshold ?? null,
          miss_at_manifest: cvm?.measured_miss ?? null,
          fa_per_hour_at_manifest: cvm?.measured_fa_per_hour ?? null,
          claimed_vs_measured: cvm,
          d_prime: cm.d_prime,
          auc: cm.auc,
          eer: cm.eer,
          model_bytes: h.bytes.length,
          params: m?.training.params ?? null,
          head_us_per_step: headUs,
          grade: m?.metrics.quality_grade ?? null,
          architecture: m?.training.architecture ?? null,
        });
        const last = rows.at(-1) as HeadReport;
        log(
          `${word} / ${h.model}${h.seed !== null ? ` seed ${h.seed}` : ''}: miss ${(100 * last.miss_at_0_5).toFixed(1)} % at 0.5 FA/h ${JSON.stringify(last.miss_by_group_at_0_5)}${cvm ? `; manifest thr ${cvm.threshold} claims ${cvm.claimed_fa_per_hour.toFixed(2)} FA/h, measured ${cvm.measured_fa_per_hour.toFixed(2)}` : ''}`,
        );
      } finally {
        await runner.release();
      }
    }
    await writeReport(true);
  }
  disposeProviders(providers);
  const report = await writeReport(false);
  if (bool(p, 'json')) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(renderMarkdown(report));
  return EXIT_OK;
}

function targetsOf(
  rows: HeadReport[],
  seedSummary: SeedSummary[],
  words: Word[],
  frontendCpuMsPerS: number,
  frontendStreamCpuMsPerS: number,
): Report['targets'] {
  const trained = rows.filter((x) => x.kind === 'violawake' && x.model === 'violawake');
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const wallTimes = trained.map((x) => x.train_seconds ?? 0);
  const wall = wallTimes.length
    ? `${Math.min(...wallTimes).toFixed(0)}–${Math.max(...wallTimes).toFixed(0)} s over ${wallTimes.length} jobs`
    : 'no job';
  const ours = (w: string) => seedSummary.find((x) => x.word === w && x.model === 'violawake');
  const theirs = (w: string) => rows.find((x) => x.word === w && x.kind === 'openwakeword');
  const realWords = words.filter((w) => REAL[w]);
  const textWords = words.filter((w) => BASELINE[w]);
  const cvm = trained.filter((x) => x.claimed_vs_measured);
  // a claim within a factor of two of the measurement, or a manifest that says its evaluation cannot resolve it
  const honest = (x: HeadReport) => {
    const c = x.claimed_vs_measured as ClaimedVsMeasured;
    if (c.claimed_resolution_limited) return true;
    return c.fa_ratio !== null && c.fa_ratio <= 2 && c.fa_ratio >= 0.5;
  };
  return [
    {
      target: 'training wall time ≤ 30 s per job (warm bank)',
      value: wall,
      pass: trained.length > 0 ? wallTimes.every((t) => t <= 30) : null,
    },
    {
      target: 'feature extraction ≤ 10 ms CPU per second of audio (one thread, batch mode)',
      value: `${frontendCpuMsPerS.toFixed(1)} ms`,
      pass: Number.isNaN(frontendCpuMsPerS) ? null : frontendCpuMsPerS <= 10,
    },
    {
      target: 'head inference < 5 % of the streaming front end',
      value: [...new Set(trained.map((x) => x.word))]
        .map((w) => {
          const x = trained.find((y) => y.word === w) as HeadReport;
          return `${w} ${((x.head_us_per_step / 1000 / (frontendStreamCpuMsPerS * 0.08)) * 100).toFixed(2)} %`;
        })
        .join(', '),
      pass: trained.length
        ? trained.every((x) => x.head_us_per_step / 1000 < 0.05 * frontendStreamCpuMsPerS * 0.08)
        : null,
    },
    {
      target:
        'computer and snowboy from ten real takes: ≤ 5 % missed at 0.5 FA/h, mean and worst over the seeds',
      value:
        realWords
          .map((w) => {
            const s = ours(w);
            return s
              ? `${w} mean ${pct(s.mean_0_5)}, worst ${pct(s.worst_0_5)} (${s.seeds.length} seeds)`
              : `${w} n/a`;
          })
          .join('; ') || 'no such word in this run',
      pass: realWords.length
        ? realWords.every((w) => {
            const s = ours(w);
            return !!s && s.mean_0_5 <= 0.05 && s.worst_0_5 <= 0.05;
          })
        : null,
    },
    {
      target:
        'text-only words ahead of openWakeWord on the held-out engine, at 0.5 and 0.1 FA/h (mean over seeds)',
      value:
        textWords
          .map((w) => {
            const a = ours(w);
            const b = theirs(w);
            return `${w}: ${a ? pct(a.mean_0_5) : 'n/a'} vs ${b ? pct(b.miss_at_0_5) : 'n/a'} (0.5), ${a ? pct(a.mean_0_1) : 'n/a'} vs ${b ? pct(b.miss_at_0_1) : 'n/a'} (0.1)`;
          })
          .join('; ') || 'no baseline word in this run',
      pass: textWords.length
        ? textWords.every((w) => {
            const a = ours(w);
            const b = theirs(w);
            return !!a && !!b && a.mean_0_5 < b.miss_at_0_5 && a.mean_0_1 < b.miss_at_0_1;
          })
        : null,
    },
    {
      target:
        "manifest's FA/h within a factor of two of the held-out measurement at its threshold (or it says it cannot resolve it)",
      value: `${cvm.filter(honest).length} of ${cvm.length} models`,
      pass: cvm.length ? cvm.every(honest) : null,
    },
    {
      target: 'model < 500 KB',
      value: [...new Set(trained.map((x) => `${(x.model_bytes / 1024).toFixed(0)} KB`))].join(', '),
      pass: trained.length > 0 && trained.every((x) => x.model_bytes < 500 * 1024),
    },
  ];
}

/** The report written as engine.json. */
export type Report = {
  generated_at: string;
  mode: string;
  machine: {
    cpu: string;
    cores: number;
    loadavg_at_start?: number[];
    loadavg_at_end: number[];
    node: string;
    platform: string;
  };
  versions: Record<string, string>;
  options: {
    neg_hours: number;
    bank_scale: number;
    synth_scale: number;
    positives_per_synthetic_word: number;
    voice_balance?: string;
    words: string[];
    held_out_engine?: string;
  };
  setup?: string[];
  voices: {
    providers: string[];
    total: number;
    reserved: string[];
    held_out_engine?: string;
    held_out_engine_voices?: string[];
    held_out_voices_of_trained_engines?: string[];
    training?: number;
    training_engines?: string[];
    engine_train_eval?: { train: number; eval: number };
  };
  held_out_real_audio?: {
    speech: { source: string; who: string; license: string; files: number }[];
    music: { file: string; who: string; license: string }[];
    missing: string[];
  };
  splits?: Record<string, unknown>;
  bank: {
    build_seconds: number;
    built_in_this_run: boolean;
    train_hours: number;
    eval_hours: number;
    key?: string;
  };
  negative_stream_hours: number;
  negative_stream_seconds_by_kind?: Record<string, number>;
  frontend: {
    cpu_ms_per_audio_second_one_thread: number;
    wall_ms_per_audio_second: number;
    streaming_cpu_ms_per_audio_second_one_thread: number;
  };
  results: HeadReport[];
  seed_summary?: SeedSummary[];
  targets: { target: string; value: string; pass: boolean | null }[];
  seeds: { corpus: number; training: number };
  training_seeds?: number[];
  text_seeds?: number[];
  corpus_hashes: Record<string, string>;
  total_seconds: number;
};

export function renderMarkdown(r: Report): string {
  const f = (v: number | null | undefined, d = 3) =>
    v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d);
  const pc = (v: number | null | undefined, lim = false) =>
    v === null || v === undefined || Number.isNaN(v)
      ? '–'
      : `${(v * 100).toFixed(1)} %${lim ? ' (res.-limited)' : ''}`;
  const hours = r.negative_stream_hours;
  const kinds = Object.entries(r.negative_stream_seconds_by_kind ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([k, s]) => `${k} ${(s / 60).toFixed(0)} min`)
    .join(', ');
  const load = (xs?: number[]) => (xs ? xs.map((x) => x.toFixed(1)).join(' / ') : '–');
  const real = r.held_out_real_audio;
  const trained = r.results.filter((x) => x.kind === 'violawake' && x.model === 'violawake');
  const lines = [
    `# Engine benchmark (${r.mode})`,
    '',
    `Generated ${r.generated_at} on ${r.machine.cpu} × ${r.machine.cores} (${r.machine.platform}, Node ${r.machine.node}, onnxruntime-node ${r.versions.onnxruntime_node}, engine ${r.versions.engine}); load average at the start ${load(r.machine.loadavg_at_start)}, at the end ${load(r.machine.loadavg_at_end)}. Total run time ${(r.total_seconds / 60).toFixed(1)} min.`,
    '',
    '## What is held out',
    '',
    `- Synthesis: engine **${r.voices.held_out_engine ?? 'festival'}** entirely (${(r.voices.held_out_engine_voices ?? []).join(', ')}) and ${(r.voices.held_out_voices_of_trained_engines ?? []).length} voices of the engines that train (${(r.voices.held_out_voices_of_trained_engines ?? []).join(', ')}). Training jobs and the negative bank use the other ${r.voices.training ?? '?'} voices (${(r.voices.training_engines ?? []).join(', ')}).`,
    "- Real takes: computer and snowboy train on ten takes each (the recordings have no speaker labels, so the ten are drawn from the whole folder); every other distinct take is a test positive, and each word's takes are negatives for every other word.",
    `- Real audio installed from Debian that training never uses: ${(real?.speech ?? []).map((s) => `${s.source} (${s.who}, ${s.license}, ${s.files} prompts)`).join('; ') || 'none'}; music on hold ${(real?.music ?? []).map((m) => `${m.file} (${m.who}, ${m.license})`).join(', ') || 'none'}${real?.missing.length ? `; **not installed here: ${real.missing.join(', ')}**` : ''}.`,
    `- Negative stream ${hours.toFixed(2)} h (${kinds}; the rest is the noise floor between pieces). **Resolution: one false accept is ${(1 / hours).toFixed(2)} FA/h**, so 0.5 FA/h allows ${Math.floor(0.5 * hours)} firing(s) and 0.1 FA/h ${Math.floor(0.1 * hours)}: rows marked res.-limited are thresholds at which the stream has no firing at all, not a measured rate. For computer and snowboy their own takes are cut out of the stream.`,
    `- Bank ${r.bank.train_hours.toFixed(2)} h train + ${r.bank.eval_hours.toFixed(2)} h eval (scale ${r.options.bank_scale}), built in ${r.bank.build_seconds.toFixed(0)} s${r.bank.built_in_this_run ? '' : ' (cached)'}; training synth scale ${r.options.synth_scale}; corpus seed ${r.seeds.corpus}, training seeds ${(r.training_seeds ?? [r.seeds.training]).join(', ')} (text-only words ${(r.text_seeds ?? r.training_seeds ?? [r.seeds.training]).join(', ')}).`,
    `- Front end: ${r.frontend.cpu_ms_per_audio_second_one_thread.toFixed(1)} ms CPU per second of audio in batch mode, ${r.frontend.streaming_cpu_ms_per_audio_second_one_thread.toFixed(1)} ms streaming one step per push; one thread.`,
    '',
    '## Miss rate over the training seeds',
    '',
    'Positives: real takes (computer, snowboy) or the held-out engine saying the word, half of them through a room with a noise or music bed (text-only words). Thresholds set on the held-out stream.',
    '',
    '| word | model | seeds | miss @0.5 FA/h per seed | mean | worst | miss @0.1 FA/h per seed | mean | worst |',
    '|---|---|---|---|---|---|---|---|---|',
    ...(r.seed_summary ?? []).map(
      (x) =>
        `| ${x.word} | ${x.model} | ${x.seeds.length} | ${x.miss_at_0_5.map((v) => pc(v)).join(' / ')} | ${pc(x.mean_0_5)} | ${pc(x.worst_0_5)} | ${x.miss_at_0_1.map((v) => pc(v)).join(' / ')} | ${pc(x.mean_0_1)} | ${pc(x.worst_0_1)} |`,
    ),
    '',
    '## Claimed by the manifest vs measured on held-out audio, at the manifest threshold',
    '',
    `Claimed: the manifest's threshold, its FA/h there and its miss rate at the target (from the job's own evaluation, its hours in brackets). Measured: firings on the ${hours.toFixed(2)} h held-out stream at that threshold (95 % Poisson interval), and the miss rate of the word's held-out positives.`,
    '',
    '| word | seed | thr | claimed FA/h [95 %] (eval h) | measured FA/h [95 %] (firings) | measured ÷ claimed | claimed miss | measured miss | grade | firings by kind |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...trained
      .filter((x) => x.claimed_vs_measured)
      .map((x) => {
        const c = x.claimed_vs_measured as ClaimedVsMeasured;
        return `| ${x.word} | ${x.training_seed} | ${c.threshold.toFixed(4)} | ${c.claimed_fa_per_hour.toFixed(2)}${c.claimed_fa_per_hour_95 ? ` [${c.claimed_fa_per_hour_95[0].toFixed(2)}–${c.claimed_fa_per_hour_95[1].toFixed(2)}]` : ''}${c.claimed_resolution_limited ? ' (cannot resolve)' : ''} (${f(c.claimed_eval_hours, 1)} h) | ${c.measured_fa_per_hour.toFixed(2)} [${c.measured_fa_per_hour_95[0].toFixed(2)}–${c.measured_fa_per_hour_95[1].toFixed(2)}] (${c.measured_firings}) | ${c.fa_ratio === null ? '–' : `${c.fa_ratio.toFixed(1)}×`} | ${pc(c.claimed_miss)} | ${pc(c.measured_miss)} | ${x.grade ?? '–'} | ${
          Object.entries(c.firings_by_kind)
            .sort((a, b) => b[1] - a[1])
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || '–'
        } |`;
      }),
    '',
    '## Every head',
    '',
    '| word | model | seed | train s | positives | miss @0.5 FA/h (thr) | all positives @0.5 | miss @0.1 FA/h (thr) | d′ | AUC | size KB | head µs/step | grade |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.results.map(
      (x) =>
        `| ${x.word} | ${x.model}${x.architecture ? ` (${x.architecture})` : ''} | ${x.training_seed ?? '–'} | ${x.train_seconds === null ? '–' : x.train_seconds.toFixed(0)} | ${x.n_positives} | ${pc(x.miss_at_0_5, x.resolution_limited_0_5)} (${x.threshold_at_0_5.toFixed(2)}) | ${pc(x.miss_all_at_0_5)} | ${pc(x.miss_at_0_1, x.resolution_limited_0_1)} (${x.threshold_at_0_1.toFixed(2)}) | ${f(x.d_prime, 2)} | ${f(x.auc, 4)} | ${(x.model_bytes / 1024).toFixed(0)} | ${x.head_us_per_step.toFixed(1)} | ${x.grade ?? '–'} |`,
    ),
    '',
    'Miss @ 0.5 FA/h by kind of test positive (text-only words):',
    '',
    ...r.results
      .filter((x) => Object.keys(x.miss_by_group_at_0_5 ?? {}).length > 1)
      .map(
        (x) =>
          `- ${x.word} / ${x.model}${x.training_seed !== null ? ` seed ${x.training_seed}` : ''}: ${Object.entries(
            x.miss_by_group_at_0_5 ?? {},
          )
            .map(([g, v]) => `${g} ${pc(v)}`)
            .join(', ')}`,
      ),
    '',
    "Highest scores on the stream outside the word's own clips (what the heads fired on):",
    '',
    ...r.results
      .filter(
        (x) =>
          (x.top_false_accepts?.length ?? 0) > 0 &&
          (x.kind === 'openwakeword' || x.training_seed === (r.training_seeds ?? [r.seeds.training])[0]),
      )
      .map(
        (x) =>
          `- ${x.word} / ${x.model}${x.training_seed !== null ? ` seed ${x.training_seed}` : ''}: ${(x.top_false_accepts ?? []).map((t) => `${t.score.toFixed(4)} at ${(t.at_s / 60).toFixed(1)} min, ${t.what}`).join('; ')}`,
      ),
    '',
    '## Targets',
    '',
    '| target | measured | pass |',
    '|---|---|---|',
    ...r.targets.map(
      (t) => `| ${t.target} | ${t.value} | ${t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'FAIL'} |`,
    ),
    '',
    `Corpus hashes: ${Object.entries(r.corpus_hashes)
      .map(([k, v]) => `${k} ${v.slice(0, 12)}`)
      .join(', ')}.`,
    '',
  ];
  return lines.join('\n');
}
