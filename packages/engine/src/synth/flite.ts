import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav } from '../audio/wav.ts';
import { mapLimit, onPath, runProcess } from './proc.ts';
import type { SpeechProvider, SynthAudio, SynthesizeOptions, SynthRequest, Voice } from './types.ts';

/** flite's built-in voices (awb_time is a limited-domain clock voice and is left out) with their mean F0 (Hz). */
export const FLITE_VOICES: Record<string, { gender: string; f0: number }> = {
  kal: { gender: 'male', f0: 100 },
  kal16: { gender: 'male', f0: 100 },
  awb: { gender: 'male', f0: 110 },
  rms: { gender: 'male', f0: 95 },
  slt: { gender: 'female', f0: 170 },
};

/** System `flite`: one process per utterance (≈ 20–50 ms); rate via duration_stretch, pitch via int_f0_target_mean. */
export class FliteProvider implements SpeechProvider {
  readonly id = 'flite';
  readonly acceptsPhonemes = false;
  private listed: Promise<Voice[]> | null = null;

  available(): Promise<boolean> {
    return onPath('flite');
  }

  voices(language?: string): Promise<Voice[]> {
    if (language && language !== 'en') return Promise.resolve([]);
    if (!this.listed) {
      this.listed = (async () => {
        const r = await runProcess('flite', ['-lv']);
        const names = r.stdout.toString().replace(/^.*?:/, '').trim().split(/\s+/);
        return Object.keys(FLITE_VOICES)
          .filter((v) => names.includes(v))
          .map((v) => ({
            id: `flite:${v}`,
            provider: 'flite',
            language: 'en-us',
            gender: FLITE_VOICES[v]?.gender,
          }));
      })();
    }
    return this.listed;
  }

  async synthesize(reqs: SynthRequest[], opts: SynthesizeOptions = {}): Promise<Array<SynthAudio | null>> {
    const dir = await mkdtemp(join(tmpdir(), 'vw-flite-'));
    try {
      return await mapLimit(reqs, opts.concurrency ?? 2, async (r, i) => {
        opts.signal?.throwIfAborted();
        if (r.text === undefined) return null;
        const name = r.voice.slice('flite:'.length);
        const info = FLITE_VOICES[name];
        if (!info) return null;
        const out = join(dir, `${i}.wav`);
        const res = await runProcess(
          'flite',
          [
            '-voice',
            name,
            '--setf',
            `duration_stretch=${(1 / r.rate).toFixed(4)}`,
            '--setf',
            `int_f0_target_mean=${(info.f0 * r.pitch).toFixed(1)}`,
            '-t',
            r.text,
            '-o',
            out,
          ],
          { signal: opts.signal },
        );
        if (res.code !== 0) return null;
        try {
          const w = readWav(new Uint8Array(await readFile(out)));
          return w.samples.length > 0 ? { samples: w.samples, sampleRate: w.sampleRate } : null;
        } catch {
          return null;
        }
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
