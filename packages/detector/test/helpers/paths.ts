import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const packageRoot = resolve(here, '../..');
export const repoRoot = resolve(packageRoot, '../..');
export const fixturesDir = join(packageRoot, 'test', 'fixtures');
export const picovoiceDir = resolve(repoRoot, '../shared/data/picovoice-dev');

/** The first `n` WAV files (sorted) of a word folder in the shared Picovoice dev set. */
export function picovoiceClips(word: 'computer' | 'snowboy', n: number): string[] {
  const dir = join(picovoiceDir, word);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .slice(0, n)
    .map((f) => join(dir, f));
}
