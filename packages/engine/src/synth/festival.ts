import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav } from '../audio/wav.ts';
import { mapLimit, onPath, runProcess } from './proc.ts';
import type { SpeechProvider, SynthAudio, SynthesizeOptions, SynthRequest, Voice } from './types.ts';

/** Festival voices used when installed (Debian festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts). */
export const FESTIVAL_VOICES: Array<{ name: string; dir: string; gender: string; diphone: boolean }> = [
  { name: 'kal_diphone', dir: 'english/kal_diphone', gender: 'male', diphone: true },
  { name: 'ked_diphone', dir: 'english/ked_diphone', gender: 'male', diphone: true },
  // Debian installs the HTS voice under voices/us, not voices/english (it was never found before)
  { name: 'cmu_us_slt_arctic_hts', dir: 'us/cmu_us_slt_arctic_hts', gender: 'female', diphone: false },
];
const VOICE_ROOT = '/usr/share/festival/voices';

function schemeString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Festival through one `festival -b script.scm` process per batch (start-up ≈ 1 s, then ≈ 0.1–0.2 s per
 * utterance). Rate via `Duration_Stretch`; pitch via the diphone voices' linear-regression F0 target (the HTS voice
 * keeps its own pitch). Slow, so `maxShare` asks callers to give it at most 10 % of a job's utterances.
 */
export class FestivalProvider implements SpeechProvider {
  readonly id = 'festival';
  readonly acceptsPhonemes = false;
  readonly maxShare = 0.1;
  batchSize = 25;
  private listed: Promise<Voice[]> | null = null;

  available(): Promise<boolean> {
    return onPath('festival');
  }

  voices(language?: string): Promise<Voice[]> {
    if (language && language !== 'en') return Promise.resolve([]);
    if (!this.listed) {
      this.listed = (async () => {
        const out: Voice[] = [];
        for (const v of FESTIVAL_VOICES) {
          try {
            await access(join(VOICE_ROOT, v.dir));
            out.push({ id: `festival:${v.name}`, provider: 'festival', language: 'en-us', gender: v.gender });
          } catch {}
        }
        return out;
      })();
    }
    return this.listed;
  }

  async synthesize(reqs: SynthRequest[], opts: SynthesizeOptions = {}): Promise<Array<SynthAudio | null>> {
    const byVoice = new Map<string, number[]>();
    reqs.forEach((r, i) => {
      if (r.text === undefined) return;
      const l = byVoice.get(r.voice) ?? [];
      l.push(i);
      byVoice.set(r.voice, l);
    });
    const chunks: number[][] = [];
    for (const idx of byVoice.values())
      for (let i = 0; i < idx.length; i += this.batchSize) chunks.push(idx.slice(i, i + this.batchSize));
    const out = new Array<SynthAudio | null>(reqs.length).fill(null);
    const dir = await mkdtemp(join(tmpdir(), 'vw-festival-'));
    try {
      await mapLimit(chunks, opts.concurrency ?? 2, async (chunk, c) => {
        opts.signal?.throwIfAborted();
        const name = (reqs[chunk[0] as number] as SynthRequest).voice.slice('festival:'.length);
        const v = FESTIVAL_VOICES.find((x) => x.name === name);
        if (!v) return;
        const lines = [`(voice_${v.name})`];
        for (const i of chunk) {
          const r = reqs[i] as SynthRequest;
          lines.push(`(Parameter.set 'Duration_Stretch ${(1 / r.rate).toFixed(4)})`);
          if (v.diphone)
            lines.push(
              `(set! int_lr_params '((target_f0_mean ${(105 * r.pitch).toFixed(1)}) (target_f0_std 14) (model_f0_mean 170) (model_f0_std 34)))`,
            );
          lines.push(
            `(utt.save.wave (utt.synth (Utterance Text ${schemeString(r.text ?? '')})) ${schemeString(join(dir, `${c}-${i}.wav`))} 'riff)`,
          );
        }
        const script = join(dir, `${c}.scm`);
        await writeFile(script, `${lines.join('\n')}\n`);
        await runProcess('festival', ['-b', script], { signal: opts.signal, timeoutMs: 120_000 });
        for (const i of chunk) {
          try {
            const w = readWav(new Uint8Array(await readFile(join(dir, `${c}-${i}.wav`))));
            if (w.samples.length > 0) out[i] = { samples: w.samples, sampleRate: w.sampleRate };
          } catch {}
        }
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return out;
  }
}
