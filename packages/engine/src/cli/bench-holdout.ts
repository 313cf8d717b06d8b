/**
 * What the engine benchmark (`violawake bench`) keeps away from training, as pure functions so that a test can check
 * that nothing leaks (docs/engine.md, "The held-out dev benchmark"):
 *
 * - `holdOutVoices`: a whole synthesis engine (default festival) plus a few voices of every other engine; training
 *   and the negative bank get `excludeVoices` = all of them, the test positives and the stream's sentences use only them.
 * - `splitRealTakes`: for a word with real recordings, ten takes train and every other distinct take is a test
 *   positive; copies of one take (same recording under several names) stay on one side.
 * - `heldOutRealAudio`: real human speech and real music installed from Debian that training never uses (other
 *   languages' telephone prompts, and music-on-hold tracks by artists the training bank does not use).
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Rand } from '../audio/random.ts';
import { deriveRng } from '../rng.ts';
import type { Voice } from '../synth/types.ts';

/** The engine a voice belongs to (the npm build of espeak-ng counts as espeak-ng). */
export const engineOf = (v: Pick<Voice, 'provider'>): string =>
  v.provider === 'espeak-wasm' ? 'espeak' : v.provider;

export interface VoiceHoldout {
  heldOutEngine: string;
  /** every voice training must not use, sorted by id */
  reservedIds: string[];
  reserved: Voice[];
  /** the held-out engine's voices (all of them) */
  heldOutEngineVoices: Voice[];
  /** reserved voices of engines that do train (other espeak-ng accents, other flite voices …) */
  heldOutVoicesOfTrainedEngines: Voice[];
  /** the voices training may use */
  training: Voice[];
}

/**
 * Reserves every voice of `heldOutEngine`, two espeak-ng accent groups (whole groups, chosen by seed) and the first
 * 40 % (rounded down) of each other engine's voices by id. With festival held out this is the reservation the
 * benchmark always made (festival, two espeak-ng accents, two of flite's five voices), so earlier streams keep
 * their meaning.
 */
export function holdOutVoices(all: Voice[], opts: { seed: number; heldOutEngine: string }): VoiceHoldout {
  const engines = [...new Set(all.map(engineOf))].sort();
  if (!engines.includes(opts.heldOutEngine))
    throw new Error(
      `held-out engine "${opts.heldOutEngine}" has no installed voices (installed: ${engines.join(', ')})`,
    );
  if (engines.length < 2) throw new Error(`holding out ${opts.heldOutEngine} leaves no engine to train with`);
  const r = new Rand(deriveRng(opts.seed, 'bench-reserve', 0));
  const espeakGroups = [
    ...new Set(all.filter((v) => engineOf(v) === 'espeak').map((v) => v.group ?? v.id)),
  ].sort();
  // the shuffle is drawn whichever engine is held out, so the espeak accents do not depend on it
  const shuffled = r.shuffle([...espeakGroups]);
  const reservedGroups = new Set(opts.heldOutEngine === 'espeak' ? espeakGroups : shuffled.slice(0, 2));
  const reservedOther = new Set<string>();
  for (const e of engines) {
    if (e === 'espeak' || e === opts.heldOutEngine) continue;
    const ids = all
      .filter((v) => engineOf(v) === e)
      .map((v) => v.id)
      .sort();
    for (const id of ids.slice(0, Math.floor(ids.length * 0.4))) reservedOther.add(id);
  }
  const isReserved = (v: Voice) =>
    engineOf(v) === opts.heldOutEngine ||
    (engineOf(v) === 'espeak' && reservedGroups.has(v.group ?? v.id)) ||
    reservedOther.has(v.id);
  const byId = (a: Voice, b: Voice) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const reserved = all.filter(isReserved).sort(byId);
  return {
    heldOutEngine: opts.heldOutEngine,
    reservedIds: reserved.map((v) => v.id),
    reserved,
    heldOutEngineVoices: reserved.filter((v) => engineOf(v) === opts.heldOutEngine),
    heldOutVoicesOfTrainedEngines: reserved.filter((v) => engineOf(v) !== opts.heldOutEngine),
    training: all.filter((v) => !isReserved(v)).sort(byId),
  };
}

export interface RealTakesSplit {
  /** the ten (or `nUser`) files a job trains on, one per take */
  user: string[];
  /** one file per other take: the test positives */
  test: string[];
  /** files that are copies of a take already listed (scored nowhere) */
  copies: number;
}

/**
 * Shuffles the files by seed (the order the benchmark always used), keeps the first file of each take and gives the
 * first `nUser` takes to training, the rest to testing. `takeOf` names a file's take (its group of copies).
 */
export function splitRealTakes(
  files: string[],
  takeOf: (file: string) => string,
  opts: { seed: number; word: string; nUser?: number },
): RealTakesSplit {
  const order = [...files].sort();
  new Rand(deriveRng(opts.seed, `bench-user-${opts.word}`, 0)).shuffle(order);
  const seen = new Set<string>();
  const distinct = order.filter((f) => !seen.has(takeOf(f)) && seen.add(takeOf(f)));
  const n = opts.nUser ?? 10;
  return { user: distinct.slice(0, n), test: distinct.slice(n), copies: files.length - distinct.length };
}

/** A real recording the benchmark plays in its negative stream. */
export interface RealFile {
  path: string;
  kind: 'speech' | 'music';
  /** e.g. `asterisk fr` or `moh reno_project` */
  source: string;
  /** who speaks or plays (the package's credits) */
  who: string;
  license: string;
}

/**
 * Telephone prompts of `asterisk-core-sounds-*-wav` the benchmark holds out: one professional speaker each, in a
 * language training never hears. English (Allison Smith) is left to training, and so is Spanish: its prompts are
 * spoken by the same Allison Smith, so they would put a training speaker among the held-out negatives.
 */
export const HELD_OUT_SPEECH = [
  { dir: 'fr_CA_f_June', source: 'asterisk fr', who: 'June Wallack', license: 'CC-BY-SA-3.0' },
  { dir: 'it_IT_m_Carlo', source: 'asterisk it', who: 'Carlo Flora', license: 'CC-BY-3.0' },
  {
    dir: 'ru_RU_f_IvrvoiceRU',
    source: 'asterisk ru',
    who: 'Maxim Topal (ivrvoice.ru)',
    license: 'CC-BY-3.0',
  },
] as const;

/** Asterisk prompt folders the benchmark never plays (training's, or the same speaker as training's). */
export const NOT_HELD_OUT_SPEECH = ['en_US_f_Allison', 'es_MX_f_Allison'] as const;

/**
 * Music-on-hold tracks of `asterisk-moh-opsound-wav` (CC-BY-SA-3.0) the benchmark holds out: the two tracks not by
 * Macroform, whose three tracks are left to the training bank. Artist-disjoint, so no piece of music is on both sides.
 */
export const HELD_OUT_MUSIC = [
  { file: 'reno_project-system.wav', who: 'Reno Project' },
  { file: 'manolo_camp-morning_coffee.wav', who: 'Manolo Camp' },
] as const;

/** Tracks of the same package the benchmark leaves to training. */
export const NOT_HELD_OUT_MUSIC = [
  'macroform-cold_day.wav',
  'macroform-robot_dity.wav',
  'macroform-the_simplicity.wav',
] as const;

export interface HeldOutRealAudio {
  speech: RealFile[];
  music: RealFile[];
  /** what is not installed (the report says so; the stream is then built without it) */
  missing: string[];
}

/** The held-out real recordings installed under `root` (Debian: `/usr/share/asterisk`), sorted by path. */
export function heldOutRealAudio(root = '/usr/share/asterisk'): HeldOutRealAudio {
  const speech: RealFile[] = [];
  const music: RealFile[] = [];
  const missing: string[] = [];
  const wavs = (d: string): string[] => {
    const out: string[] = [];
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) out.push(...wavs(p));
      else if (e.isFile() && e.name.toLowerCase().endsWith('.wav')) out.push(p);
    }
    return out;
  };
  for (const s of HELD_OUT_SPEECH) {
    const d = join(root, 'sounds', s.dir);
    if (!existsSync(d)) {
      missing.push(`${s.source} (${d})`);
      continue;
    }
    for (const path of wavs(d).sort())
      speech.push({ path, kind: 'speech', source: s.source, who: s.who, license: s.license });
  }
  for (const m of HELD_OUT_MUSIC) {
    const path = join(root, 'moh', m.file);
    if (!existsSync(path)) {
      missing.push(`music on hold ${m.file} (${path})`);
      continue;
    }
    music.push({
      path,
      kind: 'music',
      source: `moh ${basename(m.file, '.wav')}`,
      who: m.who,
      license: 'CC-BY-SA-3.0',
    });
  }
  return { speech, music, missing };
}
