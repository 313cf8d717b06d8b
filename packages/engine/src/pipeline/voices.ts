/**
 * Voice assignment honouring each provider's `maxShare` (festival ≤ 10 % of utterances, docs/engine.md §6.3). Uniform over
 * voices by default; `balance: 'sqrt'` draws the provider first, with a weight growing as the square root of its voice
 * count (80 espeak-ng voices against 3 flite: 84 % / 16 % instead of 96 % / 4 %), then a voice of it uniformly.
 */
import { Rand, type RandomSource } from '../audio/random.ts';
import type { SpeechProvider, Voice } from '../synth/types.ts';

export function assignVoices(
  voices: Voice[],
  providers: SpeechProvider[],
  n: number,
  rng: RandomSource,
  opts: { balance?: 'uniform' | 'sqrt' } = {},
): Voice[] {
  if (voices.length === 0) return [];
  const r = new Rand(rng);
  let draw = (i: number): Voice => voices[(i + r.int(0, voices.length - 1)) % voices.length] as Voice;
  if (opts.balance === 'sqrt') {
    const byProvider = new Map<string, Voice[]>();
    for (const v of voices) {
      const list = byProvider.get(v.provider);
      if (list) list.push(v);
      else byProvider.set(v.provider, [v]);
    }
    const lists = [...byProvider.keys()].sort().map((p) => byProvider.get(p) as Voice[]);
    const weights = lists.map((l) => Math.sqrt(l.length));
    const total = weights.reduce((a, b) => a + b, 0);
    draw = () => {
      let u = r.u() * total;
      let k = 0;
      while (k < lists.length - 1 && u >= (weights[k] as number)) u -= weights[k++] as number;
      return r.pick(lists[k] as Voice[]);
    };
  }
  const share = new Map(providers.map((p) => [p.id, p.maxShare ?? 1]));
  const used = new Map<string, number>();
  const unlimited = voices.filter((v) => (share.get(v.provider) ?? 1) >= 1);
  const out: Voice[] = [];
  for (let i = 0; i < n; i++) {
    let v = draw(i);
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
