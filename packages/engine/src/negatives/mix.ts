import { Rand, type RandomSource } from '../audio/random.ts';
import { addNoiseAtSnr } from '../augment/transforms.ts';

/** Mixture (docs/engine.md §6.5): speech over a noise or music bed at a seeded SNR in [minDb, maxDb] (default 0–20 dB). */
export function mixture(
  speech: Float32Array,
  bed: Float32Array,
  rng: RandomSource,
  opts: { minDb?: number; maxDb?: number } = {},
): { samples: Float32Array; snrDb: number } {
  const r = new Rand(rng);
  const snrDb = r.uniform(opts.minDb ?? 0, opts.maxDb ?? 20);
  return { samples: addNoiseAtSnr(speech, bed, snrDb, () => r.u()), snrDb };
}
