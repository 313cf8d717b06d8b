/** File helpers shared by the engine commands. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { resample } from '@violawake/detector';
import { readWav } from '../audio/wav.ts';
import { InputError } from './errors.ts';

/** Reads a WAV file as 16 kHz mono floats in −1..1 (any PCM/float WAV, resampled with the detector's resampler). */
export async function readWav16k(path: string): Promise<Float32Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const wav = readWav(bytes);
    return wav.sampleRate === 16000 ? wav.samples : resample(wav.samples, wav.sampleRate, 16000);
  } catch (err) {
    throw new InputError(`${path} is not a readable WAV file: ${(err as Error).message}`);
  }
}

/** WAV files in a directory (recursively), sorted by path. */
export async function listWavs(dir: string): Promise<string[]> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(dir);
  } catch {
    throw new InputError(`directory not found: ${dir}`);
  }
  if (!st.isDirectory()) throw new InputError(`not a directory: ${dir}`);
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && extname(e.name).toLowerCase() === '.wav') out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

export async function readModel(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new InputError(`cannot read model ${path}: ${(err as Error).message}`);
  }
}

export interface SideManifest {
  threshold?: number;
  detection?: { patience?: number; refractory_s?: number; vad_threshold?: number | null };
  wake_word?: string;
}

/** The manifest next to a model (`<stem>.json`), when present. */
export async function readSideManifest(modelPath: string): Promise<SideManifest | null> {
  const p = join(dirname(modelPath), `${basename(modelPath, extname(modelPath))}.json`);
  let text: string;
  try {
    text = await readFile(p, 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as SideManifest;
  } catch {
    throw new InputError(`manifest ${p} is not valid JSON`);
  }
}

export function modelName(path: string): string {
  return basename(path, extname(path));
}
