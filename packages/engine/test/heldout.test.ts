/**
 * The held-out bank (docs/engine.md, "Honest metrics"): real speech files split 50/25/25 by path hash into train,
 * calibration and report; music by track (train, or a held-out track's two halves); an evaluation stream whose report
 * half starts at `split_step`; nothing needed when the folders are missing; the real asterisk folders when installed.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWav16 } from '../src/audio/wav.ts';
import {
  DEFAULT_REAL_MUSIC_FILES,
  DEFAULT_REAL_SPEECH_DIRS,
  ensureHeldoutBank,
  installedRealAudio,
  musicRoles,
  nameMaySay,
  speechRole,
} from '../src/bank/heldout.ts';
import { EMB_DIM, WARM_ROWS } from '../src/bank/store.ts';
import { music } from '../src/negatives/music.ts';
import { deriveRng } from '../src/rng.ts';

const dev = resolve(import.meta.dirname, '../../../../shared/data/picovoice-dev');

/** Speech file names: two of each role by the path hash. */
function pickNames() {
  const names = Array.from({ length: 64 }, (_, i) => `prompts/prompt-${i}.wav`);
  const of = (role: string) => names.filter((n) => speechRole(n) === role).slice(0, 2);
  return { train: of('train'), calibration: of('calibration'), report: of('report') };
}

let dir: string;
const names = pickNames();
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vw-heldout-'));
  mkdirSync(join(dir, 'speech', 'prompts'), { recursive: true });
  mkdirSync(join(dir, 'music'));
  const snowboy = readdirSync(join(dev, 'snowboy')).sort();
  [...names.train, ...names.calibration, ...names.report].forEach((n, i) => {
    copyFileSync(join(dev, 'snowboy', snowboy[i] as string), join(dir, 'speech', n));
  });
  // a prompt whose name says the wake word (the pipeline leaves it out for "computer")
  copyFileSync(
    join(dev, 'snowboy', snowboy[10] as string),
    join(dir, 'speech', 'prompts', 'computer-on.wav'),
  );
  writeFileSync(join(dir, 'speech', 'broken.wav'), Buffer.from('RIFF....WAVEnot really'));
  for (const t of ['a', 'b', 'c'])
    writeFileSync(
      join(dir, 'music', `track-${t}.wav`),
      writeWav16(music(20, deriveRng(3, 'heldout-test', t.charCodeAt(0))), 16000),
    );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('roles', () => {
  it('splits speech files about 50 / 25 / 25 by path hash, the same every time', () => {
    const n = 4000;
    const count = { train: 0, calibration: 0, report: 0 };
    for (let i = 0; i < n; i++) count[speechRole(`x/${i}.wav`)]++;
    expect(count.train / n).toBeCloseTo(0.5, 1);
    expect(count.calibration / n).toBeCloseTo(0.25, 1);
    expect(count.report / n).toBeCloseTo(0.25, 1);
    expect(speechRole('vm-goodbye.wav')).toBe(speechRole('vm-goodbye.wav'));
  });

  it('trains on half of the music tracks (rounded up) and holds out the others whole', () => {
    const roles = musicRoles(['a.wav', 'b.wav', 'c.wav']);
    expect([...roles.values()].filter((r) => r === 'train')).toHaveLength(2);
    expect([...roles.values()].filter((r) => r === 'held')).toHaveLength(1);
    expect(musicRoles(['only.wav']).get('only.wav')).toBe('train');
  });

  it('recognises a file name that says the wake word', () => {
    expect(nameMaySay('computer-on', 'computer')).toBe(true);
    expect(nameMaySay('hey_jarvis_prompt', 'hey jarvis')).toBe(true);
    expect(nameMaySay('conf-roll-callcomplete', 'computer')).toBe(false);
    expect(nameMaySay('anything', '')).toBe(false);
  });
});

describe('ensureHeldoutBank (real folders, no engine)', () => {
  it('embeds train blocks, and a calibration then a report half, and reuses them', async () => {
    const dataDir = join(dir, 'data');
    const opts = {
      dataDir,
      realAudio: { speech: [join(dir, 'speech')], music: [join(dir, 'music')] },
      engine: null,
      providers: [],
    };
    const b = await ensureHeldoutBank(opts);
    expect(b.built).toBe(true);
    const info = b.info;
    expect(info.engine).toBeNull();
    expect(info.skipped).toBe(1);
    // computer-on.wav falls into one of the roles; every other file is where its hash sends it
    const speechFiles = info.files.train.speech + info.files.calibration.speech + info.files.report.speech;
    expect(speechFiles).toBe(7);
    expect(info.files.train.speech).toBeGreaterThanOrEqual(2);
    expect(info.files.calibration.speech).toBeGreaterThanOrEqual(2);
    expect(info.files.report.speech).toBeGreaterThanOrEqual(2);
    // two tracks train, the third is cut in two halves
    expect(info.files.train.music).toBe(2);
    expect(info.files.calibration.music).toBe(1);
    expect(info.files.report.music).toBe(1);
    expect(info.seconds.calibration.music).toBeCloseTo(10, 0);
    expect(info.seconds.report.music).toBeCloseTo(10, 0);
    // train part: the music tracks in 30 s pieces (one group per track) and the prompts in blocks with their names
    const musicSegs = b.index.train.segments.filter((s) => s.kind === 'music');
    expect(new Set(musicSegs.map((s) => s.group)).size).toBe(2);
    const texts = b.index.train.segments.flatMap((s) => s.texts ?? []);
    for (const n of names.train) expect(texts).toContain(n.replace(/^prompts\//, '').replace('.wav', ''));
    expect(b.train.length).toBe(b.index.train.rows * EMB_DIM);
    // the stream: warm-up rows, the calibration half, then the report half from split_step on
    expect(b.eval.length).toBe(b.index.eval.rows * EMB_DIM);
    const steps = b.index.eval.rows - WARM_ROWS;
    expect(info.split_step).toBeGreaterThan(1);
    expect(info.split_step).toBeLessThan(steps);
    const spans = b.index.eval.spans;
    const before = spans.filter((s) => s.endStep <= info.split_step);
    const after = spans.filter((s) => s.startStep >= info.split_step);
    expect(before.length + after.length).toBe(spans.length);
    for (const n of names.calibration)
      expect(before.map((s) => s.text)).toContain(n.replace(/^prompts\//, '').replace('.wav', ''));
    for (const n of names.report)
      expect(after.map((s) => s.text)).toContain(n.replace(/^prompts\//, '').replace('.wav', ''));
    const again = await ensureHeldoutBank(opts);
    expect(again.built).toBe(false);
    expect(again.index.key).toBe(b.index.key);
  }, 120_000);

  it('is empty, not an error, when the folders do not exist', async () => {
    const b = await ensureHeldoutBank({
      dataDir: join(dir, 'data-none'),
      realAudio: { speech: [join(dir, 'missing')], music: [join(dir, 'missing.wav')] },
      engine: null,
      providers: [],
    });
    expect(b.index.train.rows).toBe(0);
    expect(b.index.eval.rows).toBe(0);
  });
});

describe('installed real audio', () => {
  const installed = existsSync(DEFAULT_REAL_SPEECH_DIRS[0] as string);
  it.runIf(installed)(
    'finds the asterisk English prompts and Macroform’s tracks, never the benchmark’s',
    async () => {
      const r = await installedRealAudio();
      expect(r.speech).toEqual(DEFAULT_REAL_SPEECH_DIRS);
      expect(r.music.length).toBeGreaterThan(0);
      for (const m of r.music) expect(m).toMatch(/macroform-/);
      expect(DEFAULT_REAL_MUSIC_FILES.some((f) => /reno_project|manolo_camp/.test(f))).toBe(false);
      expect(r.speech.some((d) => /es_MX|fr_CA|it_IT|ru_RU/.test(d))).toBe(false);
    },
  );
});
