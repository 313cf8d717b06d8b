import { createHash } from 'node:crypto';

/** Bumped whenever the bank's contents or format change for the same inputs (docs/engine.md §6.7). */
export const BANK_GENERATOR_VERSION = 3;

export interface BankKeyInput {
  melSha256: string;
  embeddingSha256: string;
  generatorVersion: number;
  sentencesSha256: string;
  /** Sorted voice ids of the installation (both splits). */
  voices: string[];
  installationSeed: number;
  /** Size scale of the bank (1 = the default ≈ 1.5 h train part); part of the key so a quick bank is never mistaken for a full one. */
  scale: number;
  /** Language of the bank's speech (docs/languages.md); absent or 'en' = English, keyed as before languages existed. */
  language?: string;
}

/** Stable key: every input that changes the bank's contents changes the key. */
export function bankKey(k: BankKeyInput): string {
  const canonical = JSON.stringify({
    mel: k.melSha256,
    emb: k.embeddingSha256,
    gen: k.generatorVersion,
    sentences: k.sentencesSha256,
    voices: [...k.voices].sort(),
    seed: k.installationSeed >>> 0,
    scale: k.scale,
    ...(k.language && k.language !== 'en' ? { lang: k.language } : {}),
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 24);
}
