import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { EspeakProvider } from './espeak.ts';
import type { SpeechProvider, SynthAudio, SynthesizeOptions, SynthRequest, Voice } from './types.ts';

/** The parts of a Piper voice config (`<model>.onnx.json`) the provider reads. */
export interface PiperConfig {
  audio: { sample_rate: number };
  espeak?: { voice?: string };
  inference?: { noise_scale?: number; length_scale?: number; noise_w?: number };
  phoneme_id_map: Record<string, number[]>;
  num_speakers?: number;
  speaker_id_map?: Record<string, number>;
  language?: { code?: string };
}

interface PiperModel {
  name: string;
  onnx: string;
  config: PiperConfig;
}

/**
 * Maps an IPA string to Piper phoneme ids: BOS `^`, each phoneme followed by the pad `_`, then EOS `$` (the scheme
 * Piper's own phonemizer uses). Codepoints missing from the map are skipped.
 */
export function piperPhonemeIds(ipa: string, map: Record<string, number[]>): number[] {
  const pad = map._?.[0] ?? 0;
  const ids: number[] = [...(map['^'] ?? [1]), pad];
  for (const ch of Array.from(ipa.normalize('NFD'))) {
    const id = map[ch];
    if (!id) continue;
    ids.push(...id, pad);
  }
  ids.push(...(map.$ ?? [2]));
  return ids;
}

/**
 * Piper VITS voices in onnxruntime-node, from `VIOLAWAKE_PIPER_VOICES_DIR` (`*.onnx` + `*.onnx.json`). Phonemes come
 * from espeak-ng (IPA, through the espeak provider's child process). Every speaker of a multi-speaker model is a
 * voice (`piper:<model>#<speaker>`); all speakers of a model form one split group. `rate` sets `length_scale`;
 * Piper has no pitch control, so `pitch` varies `noise_scale` (×pitch) and `noise_w` (×(2 − pitch)) instead.
 * Unavailable (no error) when the directory is unset, missing, or holds no complete voice.
 */
export class PiperProvider implements SpeechProvider {
  readonly id = 'piper';
  readonly acceptsPhonemes = true;
  private models: Promise<PiperModel[]> | null = null;
  private sessions = new Map<string, Promise<InferenceSession>>();

  constructor(
    private readonly dir: string | undefined,
    private readonly espeak: EspeakProvider | null,
  ) {}

  private load(): Promise<PiperModel[]> {
    if (!this.models) {
      this.models = (async () => {
        if (!this.dir) return [];
        let files: string[];
        try {
          files = await readdir(this.dir);
        } catch {
          return [];
        }
        const out: PiperModel[] = [];
        for (const f of files.filter((x) => x.endsWith('.onnx')).sort()) {
          if (!files.includes(`${f}.json`)) continue;
          try {
            const config = JSON.parse(await readFile(join(this.dir, `${f}.json`), 'utf8')) as PiperConfig;
            if (!config.phoneme_id_map || !config.audio?.sample_rate) continue;
            out.push({ name: basename(f, '.onnx'), onnx: join(this.dir, f), config });
          } catch {}
        }
        return out;
      })();
    }
    return this.models;
  }

  async available(): Promise<boolean> {
    return this.espeak !== null && (await this.load()).length > 0 && (await this.espeak.available());
  }

  async voices(language?: string): Promise<Voice[]> {
    const out: Voice[] = [];
    for (const m of await this.load()) {
      const n = m.config.num_speakers ?? 1;
      const lang = m.config.espeak?.voice ?? m.config.language?.code;
      // another language than English: only that language's models (config `espeak.voice` / `language.code`)
      if (language && language !== 'en' && (lang ?? '').toLowerCase().split(/[-_]/)[0] !== language) continue;
      for (let s = 0; s < n; s++)
        out.push({
          id: n > 1 ? `piper:${m.name}#${s}` : `piper:${m.name}`,
          provider: 'piper',
          language: lang,
          group: `piper/${m.name}`,
        });
    }
    return out;
  }

  private session(m: PiperModel): Promise<InferenceSession> {
    let s = this.sessions.get(m.name);
    if (!s) {
      s = import('onnxruntime-node').then((ort) =>
        ort.InferenceSession.create(m.onnx, { intraOpNumThreads: 1 }),
      );
      this.sessions.set(m.name, s);
    }
    return s;
  }

  async synthesize(reqs: SynthRequest[], opts: SynthesizeOptions = {}): Promise<Array<SynthAudio | null>> {
    const ort = await import('onnxruntime-node');
    const models = await this.load();
    const out: Array<SynthAudio | null> = [];
    for (const r of reqs) {
      opts.signal?.throwIfAborted();
      try {
        const [name, spk] = r.voice.slice('piper:'.length).split('#');
        const m = models.find((x) => x.name === name);
        if (!m || !this.espeak) {
          out.push(null);
          continue;
        }
        const lang = m.config.espeak?.voice ?? 'en-us';
        const ipa = await this.espeak.ipa(
          r.phonemes !== undefined ? `[[${r.phonemes}]]` : (r.text ?? ''),
          lang,
        );
        const ids = piperPhonemeIds(ipa, m.config.phoneme_id_map);
        const inf = m.config.inference ?? {};
        const scales = Float32Array.from([
          (inf.noise_scale ?? 0.667) * r.pitch,
          (inf.length_scale ?? 1) / r.rate,
          (inf.noise_w ?? 0.8) * (2 - r.pitch),
        ]);
        const feeds: Record<string, Tensor> = {
          input: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
          input_lengths: new ort.Tensor('int64', BigInt64Array.from([BigInt(ids.length)]), [1]),
          scales: new ort.Tensor('float32', scales, [3]),
        };
        if ((m.config.num_speakers ?? 1) > 1)
          feeds.sid = new ort.Tensor('int64', BigInt64Array.from([BigInt(Number(spk ?? 0))]), [1]);
        const session = await this.session(m);
        const res = await session.run(feeds);
        const first = Object.values(res)[0] as Tensor | undefined;
        const audio = first ? Float32Array.from(first.data as Float32Array) : new Float32Array(0);
        out.push(audio.length > 0 ? { samples: audio, sampleRate: m.config.audio.sample_rate } : null);
      } catch {
        out.push(null);
      }
    }
    return out;
  }
}
