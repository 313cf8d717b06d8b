/** Voice assignment honouring each provider's `maxShare` (festival ≤ 10 % of utterances, engine.md §6.3). */
import { Rand, type RandomSource } from '../audio/random.ts';
import type { SpeechProvider, Voice } from '../synth/types.ts';

export function assignVoices(
  voices: Voice[],
  providers: SpeechProvider[],
  n: number,
  rng: RandomSource,
): Voice[] {
  if (voices.length === 0) return [];
  const r = new Rand(rng);
  const share = new Map(providers.map((p) => [p.id, p.maxShare ?? 1]));
  const used = new Map<string, number>();
  const unlimited = voices.filter((v) => (share.get(v.provider) ?? 1) >= 1);
  const out: Voice[] = [];
  for (let i = 0; i < n; i++) {
    let v = voices[(i + r.int(0, voices.length - 1)) % voices.length] as Voice;
    const cap = share.get(v.provider) ?? 1;
    if (
      cap < 1 &&
      (used.get(v.provider) ?? 0) + 1 > Math.max(1, Math.floor(cap * n)) &&
      unlimited.length > 0
    ) {
      v = r.pick(unlimited);
    }
    used.set(v.provider, (used.get(v.provider) ?? 0) + 1);
    out.push(v);
  }
  return out;
}
