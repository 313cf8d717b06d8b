/**
 * The engine benchmark (`violawake bench`): what it holds out from training (no voice, engine, take or real recording
 * on both sides), its small statistics, and the `--quick` harness end to end (bank, held-out stream, one job, report).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/cli/bench.ts';
import { parseSeedList } from '../src/cli/bench.ts';
import {
  engineOf,
  HELD_OUT_MUSIC,
  HELD_OUT_SPEECH,
  heldOutRealAudio,
  holdOutVoices,
  NOT_HELD_OUT_MUSIC,
  NOT_HELD_OUT_SPEECH,
  splitRealTakes,
} from '../src/cli/bench-holdout.ts';
import { poissonInterval } from '../src/eval/poisson.ts';
import type { Voice } from '../src/synth/types.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const tsx = join(repoRoot, 'node_modules/.bin/tsx');
const main = join(repoRoot, 'packages/engine/src/cli/main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'vw-bench-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An inventory shaped like the installed one: espeak-ng accents with variants, five flite and three festival voices. */
function inventory(): Voice[] {
  const voices: Voice[] = [];
  for (const accent of ['en-us', 'en-gb', 'en-gb-scotland', 'en-029', 'en-gb-x-rp', 'en-gb-x-gbclan'])
    for (const variant of ['', '+f1', '+m3', '+f3'])
      voices.push({ id: `espeak:${accent}${variant}`, provider: 'espeak', group: `espeak:${accent}` });
  for (const v of ['awb', 'kal', 'kal16', 'rms', 'slt']) voices.push({ id: `flite:${v}`, provider: 'flite' });
  for (const v of ['kal_diphone', 'ked_diphone', 'cmu_us_slt_arctic_hts'])
    voices.push({ id: `festival:${v}`, provider: 'festival' });
  return voices;
}

describe('held-out split of the benchmark', () => {
  it('keeps a whole engine and whole espeak-ng accents out of training, and nothing on both sides', () => {
    const all = inventory();
    for (const heldOutEngine of ['festival', 'flite']) {
      for (const seed of [1, 2, 7]) {
        const h = holdOutVoices(all, { seed, heldOutEngine });
        const reserved = new Set(h.reservedIds);
        // no voice on both sides, and every voice on one
        expect(h.training.filter((v) => reserved.has(v.id))).toEqual([]);
        expect(h.training.length + h.reserved.length).toBe(all.length);
        // the held-out engine has no training voice at all
        expect(h.training.some((v) => engineOf(v) === heldOutEngine)).toBe(false);
        expect(h.heldOutEngineVoices.map((v) => v.id).sort()).toEqual(
          all
            .filter((v) => v.provider === heldOutEngine)
            .map((v) => v.id)
            .sort(),
        );
        // an espeak-ng accent is reserved whole or not at all (its variants are the same voice)
        const groups = new Map<string, Set<boolean>>();
        for (const v of all.filter((x) => x.provider === 'espeak'))
          groups.set(v.group as string, (groups.get(v.group as string) ?? new Set()).add(reserved.has(v.id)));
        for (const [g, sides] of groups) expect(sides.size, g).toBe(1);
        expect([...groups.values()].filter((s) => s.has(true)).length).toBe(2);
        // the engines that train keep most of their voices, and some are held out as unseen voices
        for (const e of ['espeak', 'flite', 'festival'].filter((x) => x !== heldOutEngine)) {
          expect(h.training.some((v) => engineOf(v) === e)).toBe(true);
          expect(h.heldOutVoicesOfTrainedEngines.some((v) => engineOf(v) === e)).toBe(true);
        }
      }
    }
    // with festival held out it is the reservation the benchmark always made: festival, two accents, two flite voices
    const h = holdOutVoices(all, { seed: 1, heldOutEngine: 'festival' });
    expect(h.reservedIds.filter((id) => id.startsWith('flite:'))).toEqual(['flite:awb', 'flite:kal']);
    // the accents depend on the seed only, not on which engine is held out
    const espeakOf = (x: ReturnType<typeof holdOutVoices>) =>
      x.reservedIds.filter((id) => id.startsWith('espeak:'));
    expect(espeakOf(holdOutVoices(all, { seed: 1, heldOutEngine: 'flite' }))).toEqual(espeakOf(h));
    expect(holdOutVoices(all, { seed: 1, heldOutEngine: 'festival' })).toEqual(h);
    expect(() => holdOutVoices(all, { seed: 1, heldOutEngine: 'piper' })).toThrow(/no installed voices/);
  });

  it('gives ten takes to training and every other take, never a copy of a training take, to testing', () => {
    // 40 files of 30 takes: takes t0–t9 have a copy each (as the picovoice folders have)
    const files = Array.from({ length: 40 }, (_, i) => `/dev/${String(i).padStart(2, '0')}.wav`);
    const takeOf = (f: string) => {
      const i = Number(f.slice(5, 7));
      return `t${i >= 30 ? i - 30 : i}`;
    };
    for (const seed of [1, 2, 3]) {
      const s = splitRealTakes(files, takeOf, { seed, word: 'computer' });
      expect(s.user).toHaveLength(10);
      expect(new Set(s.user.map(takeOf)).size).toBe(10);
      const userTakes = new Set(s.user.map(takeOf));
      expect(s.test.filter((f) => userTakes.has(takeOf(f)))).toEqual([]);
      expect(new Set(s.test.map(takeOf)).size).toBe(s.test.length);
      expect(s.user.length + s.test.length).toBe(30);
      expect(s.copies).toBe(10);
      expect(splitRealTakes([...files].reverse(), takeOf, { seed, word: 'computer' })).toEqual(s);
    }
    expect(splitRealTakes(files, takeOf, { seed: 1, word: 'computer' }).user).not.toEqual(
      splitRealTakes(files, takeOf, { seed: 1, word: 'snowboy' }).user,
    );
  });

  it('plays only real recordings that training does not use: other languages, other artists', () => {
    const root = join(tmp, 'asterisk');
    for (const d of ['en_US_f_Allison', 'es_MX_f_Allison', 'fr_CA_f_June', 'it_IT_m_Carlo']) {
      mkdirSync(join(root, 'sounds', d, 'digits'), { recursive: true });
      writeFileSync(join(root, 'sounds', d, 'hello.wav'), '');
      writeFileSync(join(root, 'sounds', d, 'digits', '1.wav'), '');
    }
    mkdirSync(join(root, 'moh'), { recursive: true });
    for (const f of [...HELD_OUT_MUSIC.map((m) => m.file), ...NOT_HELD_OUT_MUSIC])
      writeFileSync(join(root, 'moh', f), '');
    const a = heldOutRealAudio(root);
    expect(a.speech.map((f) => f.path.slice(root.length))).toEqual([
      '/sounds/fr_CA_f_June/digits/1.wav',
      '/sounds/fr_CA_f_June/hello.wav',
      '/sounds/it_IT_m_Carlo/digits/1.wav',
      '/sounds/it_IT_m_Carlo/hello.wav',
    ]);
    expect(a.missing).toEqual([expect.stringContaining('asterisk ru')]);
    expect(a.music.map((f) => f.path.slice(root.length)).sort()).toEqual(
      HELD_OUT_MUSIC.map((m) => `/moh/${m.file}`).sort(),
    );
    for (const f of [...a.speech, ...a.music]) expect(f.license).toMatch(/^CC-BY/);
    // the two sides are disjoint by folder (speaker) and by track (artist)
    expect(HELD_OUT_SPEECH.filter((s) => (NOT_HELD_OUT_SPEECH as readonly string[]).includes(s.dir))).toEqual(
      [],
    );
    expect(HELD_OUT_MUSIC.filter((m) => (NOT_HELD_OUT_MUSIC as readonly string[]).includes(m.file))).toEqual(
      [],
    );
    expect(new Set(HELD_OUT_SPEECH.map((s) => s.who)).size).toBe(HELD_OUT_SPEECH.length);
    expect(heldOutRealAudio(join(tmp, 'nothing')).missing).toHaveLength(
      HELD_OUT_SPEECH.length + HELD_OUT_MUSIC.length,
    );
  });

  it('states FA/h intervals and parses seed lists', () => {
    // the bench states FA/h intervals with the engine's interval (eval/poisson.ts), per hour of its stream
    const perHour = (k: number, hours: number) => poissonInterval(k).map((x) => x / hours);
    const [lo0, hi0] = perHour(0, 1);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(3.689, 2); // −ln 0.025
    const [lo, hi] = perHour(10, 2);
    expect(lo).toBeCloseTo(4.795 / 2, 2);
    expect(hi).toBeCloseTo(18.39 / 2, 1);
    expect(parseSeedList('1-5')).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeedList('3,1,3')).toEqual([3, 1]);
    expect(() => parseSeedList('a')).toThrow(/training-seeds/);
  });
});

describe('violawake bench --quick', () => {
  it('builds the held-out stream, trains one job and reports claimed against measured', {
    timeout: 1_500_000,
  }, () => {
    const out = join(tmp, 'results');
    const cache = join(repoRoot, '.tmp', 'bench-quick-cache');
    const r = spawnSync(tsx, [main, 'bench', '--quick', '--out', out, '--cache-dir', cache], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 1_500_000,
    });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'engine.quick.json'), 'utf8')) as Report;
    expect(existsSync(join(out, 'engine.quick.md'))).toBe(true);
    expect(report.options.words).toEqual(['computer']);
    expect(report.negative_stream_hours).toBeGreaterThan(0.08);
    // the held-out engine trains nowhere, and the stream holds its sentences
    expect(report.voices.held_out_engine).toBe('festival');
    expect(report.voices.training_engines).not.toContain('festival');
    expect(report.voices.reserved).toEqual(
      expect.arrayContaining(report.voices.held_out_engine_voices ?? []),
    );
    expect(report.negative_stream_seconds_by_kind?.['tts held-out engine']).toBeGreaterThan(0);
    expect(report.negative_stream_seconds_by_kind?.['real keyword']).toBeGreaterThan(0);
    const split = report.splits?.computer as { train_takes: string[]; test_takes: number };
    expect(split.train_takes).toHaveLength(10);
    expect(split.test_takes).toBe(40);
    const row = report.results.find((x) => x.word === 'computer' && x.kind === 'violawake');
    expect(row?.model).toBe('violawake');
    expect(row?.n_positives).toBe(40);
    expect(row?.miss_at_0_5).toBeGreaterThanOrEqual(0);
    expect(row?.miss_at_0_5).toBeLessThanOrEqual(1);
    // claimed vs measured at the manifest's threshold
    const c = row?.claimed_vs_measured;
    expect(c?.threshold).toBe(row?.manifest_threshold);
    expect(Number.isInteger(c?.measured_firings)).toBe(true);
    expect(c?.measured_fa_per_hour).toBeGreaterThanOrEqual(
      (c?.measured_firings ?? 0) / report.negative_stream_hours,
    );
    expect(c?.measured_fa_per_hour_95[1]).toBeGreaterThan(c?.measured_fa_per_hour ?? 0);
    expect(report.seed_summary?.find((x) => x.model === 'violawake')?.seeds).toEqual([1]);
    const md = readFileSync(join(out, 'engine.quick.md'), 'utf8');
    expect(md).toContain('Claimed by the manifest vs measured');
    expect(md).toMatch(/one false accept is \d+\.\d\d FA\/h/);
  });
});
