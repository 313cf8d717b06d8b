import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readWav } from '../audio/wav.ts';
import { mapLimit, onPath, runProcess } from './proc.ts';
import { splitOnSilence, trimSilence } from './split.ts';
import {
  escapeXml,
  type SpeechProvider,
  type SynthAudio,
  type SynthesizeOptions,
  type SynthRequest,
  type Voice,
} from './types.ts';

/**
 * eSpeak NG providers. Both run espeak-ng as a separate program: the system binary (`espeak`) or the npm
 * WebAssembly build hosted by `espeak-child.mjs` (`espeak-wasm`). Up to `batchSize` utterances go into one SSML
 * document (per-utterance `voice` — the WASM build ignores it, so its batches hold one voice — and `prosody` rate
 * and pitch, a break between them), the output is split on silences
 * ≥ 500 ms, and a batch whose piece count differs from the request count is redone one utterance per call.
 * mbrola voices (`mb-*`) are never listed or used (docs/engine.md §14).
 */

/** English accents in their preferred order; the inventory keeps those the installed build has. */
export const ESPEAK_ACCENTS = [
  'en-us',
  'en-gb',
  'en-gb-scotland',
  'en-gb-x-rp',
  'en-gb-x-gbclan',
  'en-gb-x-gbcwmd',
  'en-029',
  'en-us-nyc',
] as const;
/** Variants combined with every accent ('' = the accent's default voice). */
export const ESPEAK_VARIANTS = ['', 'm1', 'm2', 'm3', 'm4', 'm7', 'f1', 'f2', 'f3', 'f4'] as const;

/**
 * Variants combined with every accent of another language than English (docs/languages.md). Those languages have one
 * to three accents, so they use more variants than English does; each variant is its own split group, so held-out
 * voices are variants that training never heard, in every accent.
 */
export const LANGUAGE_VARIANTS = [
  '',
  'm1',
  'm2',
  'm3',
  'm4',
  'm5',
  'm6',
  'm7',
  'm8',
  'f1',
  'f2',
  'f3',
  'f4',
  'f5',
  'adam',
  'Andy',
  'Annie',
  'boris',
  'max',
  'steph',
] as const;

/** Break between batched utterances. 1 s rather than 700 ms: breathy variants fill the first ≈ 300 ms of a pause. */
export const BATCH_BREAK_MS = 1000;
export const SPLIT_GAP_SEC = 0.5;

interface EspeakRunner {
  /** Synthesises `input` (SSML when ssml) with voice `voice`; returns the WAV bytes. */
  wav(voice: string, input: string, ssml: boolean, signal?: AbortSignal): Promise<Uint8Array>;
  /** Returns espeak-ng's stdout for the given arguments (phonemes, voice lists). */
  text(args: string[]): Promise<string>;
  dispose(): void;
}

function ssmlUtterance(r: SynthRequest): string {
  const rate = Math.round(Math.max(0.3, r.rate) * 100);
  // espeak's prosody pitch moves F0 by about half the nominal percentage (measured: +30 % → +15 %, −30 % → −11 %),
  // so the requested factor is doubled to give ≈ the requested F0 change
  const pitchPct = Math.round((r.pitch - 1) * 200);
  // the space after `]]` matters: in SSML mode espeak-ng otherwise keeps reading the closing tag as phonemes
  const body = r.phonemes !== undefined ? `[[${escapeXml(r.phonemes)}]] ` : escapeXml(r.text ?? '');
  const prosody = `<prosody rate="${rate}%" pitch="${pitchPct >= 0 ? '+' : ''}${pitchPct}%">${body}</prosody>`;
  return `<voice name="${escapeXml(espeakVoiceName(r.voice))}">${prosody}</voice>`;
}

/** One SSML document; each utterance carries its own voice (accent + variant), rate and pitch. */
export function buildSsml(batch: SynthRequest[]): string {
  return `<speak>${batch.map(ssmlUtterance).join(`<break time="${BATCH_BREAK_MS}ms"/>`)}</speak>`;
}

function espeakVoiceName(voiceId: string): string {
  return voiceId.slice(voiceId.indexOf(':') + 1);
}

class SystemRunner implements EspeakRunner {
  async wav(voice: string, input: string, ssml: boolean, signal?: AbortSignal): Promise<Uint8Array> {
    const args = ['-v', voice, '--stdout'];
    if (ssml) args.push('-m');
    args.push(input);
    const r = await runProcess('espeak-ng', args, { signal });
    if (r.code !== 0) throw new Error(`espeak-ng exited with ${r.code}`);
    return new Uint8Array(r.stdout);
  }
  async text(args: string[]): Promise<string> {
    const r = await runProcess('espeak-ng', args);
    if (r.code !== 0) throw new Error(`espeak-ng exited with ${r.code}`);
    return r.stdout.toString('utf8');
  }
  dispose(): void {}
}

interface Pending {
  resolve: (v: { stdout: string; wav?: string }) => void;
  reject: (e: Error) => void;
}

/** A pool of `espeak-child.mjs` processes (each compiles the WebAssembly module once). */
class WasmRunner implements EspeakRunner {
  private children: Array<{
    proc: ChildProcessWithoutNullStreams;
    pending: Map<number, Pending>;
    load: number;
  }> = [];
  private nextId = 1;
  constructor(private readonly size: number) {}

  private child() {
    if (this.children.length < this.size) {
      const script = fileURLToPath(new URL('./espeak-child.mjs', import.meta.url));
      const proc = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
      const entry = { proc, pending: new Map<number, Pending>(), load: 0 };
      proc.stderr.resume();
      createInterface({ input: proc.stdout }).on('line', (line) => {
        let msg: { id: number; ok: boolean; stdout?: string; wav?: string; error?: string };
        try {
          msg = JSON.parse(line);
        } catch {
          return;
        }
        const p = entry.pending.get(msg.id);
        if (!p) return;
        entry.pending.delete(msg.id);
        entry.load--;
        if (entry.load === 0) this.setRef(entry.proc, false);
        if (msg.ok) p.resolve({ stdout: msg.stdout ?? '', wav: msg.wav });
        else p.reject(new Error(`espeak-ng (wasm): ${msg.error}`));
      });
      const fail = (err: Error) => {
        for (const p of entry.pending.values()) p.reject(err);
        entry.pending.clear();
        this.children = this.children.filter((c) => c !== entry);
      };
      proc.on('error', fail);
      proc.on('exit', (code) => fail(new Error(`espeak-ng child exited (${code})`)));
      proc.stdin.on('error', () => {});
      this.children.push(entry);
      this.setRef(proc, false);
      return entry;
    }
    return this.children.reduce((a, b) => (b.load < a.load ? b : a));
  }

  private setRef(proc: ChildProcessWithoutNullStreams, on: boolean) {
    const m = on ? 'ref' : 'unref';
    proc[m]();
    for (const s of [proc.stdout, proc.stderr, proc.stdin] as unknown as Array<{
      ref?: () => void;
      unref?: () => void;
    }>) {
      const f = s[m];
      if (typeof f === 'function') f.call(s);
    }
  }

  private call(args: string[], wav: boolean): Promise<{ stdout: string; wav?: string }> {
    const c = this.child();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      c.pending.set(id, { resolve, reject });
      c.load++;
      if (c.load === 1) this.setRef(c.proc, true);
      c.proc.stdin.write(`${JSON.stringify({ id, args, wav })}\n`);
    });
  }

  async wav(voice: string, input: string, ssml: boolean): Promise<Uint8Array> {
    const args = ['-v', voice, '-w', '/out.wav'];
    if (ssml) args.push('-m');
    args.push(input);
    const r = await this.call(args, true);
    if (!r.wav) throw new Error('espeak-ng (wasm): no audio');
    return new Uint8Array(Buffer.from(r.wav, 'base64'));
  }
  async text(args: string[]): Promise<string> {
    return (await this.call(args, false)).stdout;
  }
  dispose(): void {
    for (const c of this.children) c.proc.kill();
    this.children = [];
  }
}

function wavToAudio(bytes: Uint8Array): SynthAudio {
  const w = readWav(bytes);
  return { samples: w.samples, sampleRate: w.sampleRate };
}

/** Parses `espeak-ng --voices=…` output into (language, file) rows. */
export function parseVoiceList(
  out: string,
): Array<{ language: string; gender: string; name: string; file: string }> {
  const rows: Array<{ language: string; gender: string; name: string; file: string }> = [];
  for (const line of out.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    rows.push({
      language: cols[1] as string,
      gender: (cols[2] as string).split('/')[1] ?? '',
      name: cols[3] as string,
      file: cols[4] as string,
    });
  }
  return rows;
}

export class EspeakProvider implements SpeechProvider {
  readonly acceptsPhonemes = true;
  private runner: EspeakRunner | null = null;
  private voiceList: Promise<Voice[]> | null = null;
  private languageVoices = new Map<string, Promise<Voice[]>>();
  /** Utterances per SSML document. */
  batchSize = 40;
  /** Whether one SSML document may switch voices (`<voice name>`): the system binary does, the WASM build does not. */
  get mixesVoices(): boolean {
    return this.id === 'espeak';
  }

  constructor(
    readonly id: 'espeak' | 'espeak-wasm',
    private readonly poolSize = 2,
  ) {}

  private get run(): EspeakRunner {
    if (!this.runner) this.runner = this.id === 'espeak' ? new SystemRunner() : new WasmRunner(this.poolSize);
    return this.runner;
  }

  async available(): Promise<boolean> {
    if (this.id === 'espeak') return onPath('espeak-ng');
    try {
      const { createRequire } = await import('node:module');
      createRequire(import.meta.url).resolve('espeak-ng');
      return true;
    } catch {
      return false;
    }
  }

  voices(language?: string): Promise<Voice[]> {
    if (language && language !== 'en') {
      let list = this.languageVoices.get(language);
      if (!list) {
        list = this.voicesOf(language);
        this.languageVoices.set(language, list);
        list.catch(() => this.languageVoices.delete(language));
      }
      return list;
    }
    if (!this.voiceList) {
      this.voiceList = (async () => {
        const langs = parseVoiceList(await this.run.text(['--voices=en']))
          .filter((r) => !r.file.startsWith('mb/') && !r.name.startsWith('mb-'))
          .map((r) => r.language);
        const variants = new Set(
          parseVoiceList(await this.run.text(['--voices=variant'])).map((r) => r.file.replace(/^!v\//, '')),
        );
        const out: Voice[] = [];
        for (const accent of ESPEAK_ACCENTS) {
          if (!langs.includes(accent)) continue;
          for (const v of ESPEAK_VARIANTS) {
            if (v && !variants.has(v)) continue;
            out.push({
              id: `${this.id}:${accent}${v ? `+${v}` : ''}`,
              provider: this.id,
              language: accent,
              gender: v.startsWith('f') ? 'female' : 'male',
              group: `espeak/${accent}`,
            });
          }
        }
        return out;
      })();
    }
    return this.voiceList;
  }

  /** espeak-ng's accents of `language` (`--voices=<language>`, mbrola left out) × LANGUAGE_VARIANTS. */
  private async voicesOf(language: string): Promise<Voice[]> {
    const accents = [
      ...new Set(
        parseVoiceList(await this.run.text([`--voices=${language}`]))
          .filter((r) => !r.file.startsWith('mb/') && !r.name.startsWith('mb-'))
          .map((r) => r.language)
          .filter((l) => l === language || l.startsWith(`${language}-`)),
      ),
    ].sort();
    const variants = new Set(
      parseVoiceList(await this.run.text(['--voices=variant'])).map((r) => r.file.replace(/^!v\//, '')),
    );
    const out: Voice[] = [];
    for (const accent of accents)
      for (const v of LANGUAGE_VARIANTS) {
        if (v && !variants.has(v)) continue;
        out.push({
          id: `${this.id}:${accent}${v ? `+${v}` : ''}`,
          provider: this.id,
          language: accent,
          gender: v.startsWith('f') || v === 'Annie' || v === 'steph' ? 'female' : 'male',
          group: `espeak/${language}/${v || 'default'}`,
        });
      }
    return out;
  }

  /** Synthesises one utterance on its own (no batching). */
  private async single(r: SynthRequest, signal?: AbortSignal): Promise<SynthAudio | null> {
    try {
      const a = wavToAudio(await this.run.wav(espeakVoiceName(r.voice), buildSsml([r]), true, signal));
      const s = trimSilence(a.samples);
      return s.length > 0 ? { samples: s, sampleRate: a.sampleRate } : null;
    } catch (err) {
      if (signal?.aborted) throw err;
      return null;
    }
  }

  /** Synthesises one batch (any voices); falls back to one call per utterance on a piece-count mismatch. */
  async synthesizeBatch(batch: SynthRequest[], signal?: AbortSignal): Promise<Array<SynthAudio | null>> {
    if (batch.length === 1) return [await this.single(batch[0] as SynthRequest, signal)];
    try {
      const a = wavToAudio(
        await this.run.wav(espeakVoiceName((batch[0] as SynthRequest).voice), buildSsml(batch), true, signal),
      );
      const pieces = splitOnSilence(a.samples, a.sampleRate, { minGapSec: SPLIT_GAP_SEC });
      if (pieces.length === batch.length)
        return pieces.map((p) => ({ samples: p, sampleRate: a.sampleRate }));
    } catch (err) {
      if (signal?.aborted) throw err;
    }
    this.fallbacks++;
    const out: Array<SynthAudio | null> = [];
    for (const r of batch) out.push(await this.single(r, signal));
    return out;
  }

  /** Number of batches redone one utterance per call (diagnostic). */
  fallbacks = 0;

  async synthesize(reqs: SynthRequest[], opts: SynthesizeOptions = {}): Promise<Array<SynthAudio | null>> {
    // Sorted by voice (stable). The system binary switches voices inside the SSML document, so its batches mix
    // voices; the WebAssembly build ignores <voice> (tested), so its batches hold one voice each.
    const order = reqs
      .map((_, i) => i)
      .sort((a, b) => {
        const va = (reqs[a] as SynthRequest).voice;
        const vb = (reqs[b] as SynthRequest).voice;
        return va < vb ? -1 : va > vb ? 1 : a - b;
      });
    const chunks: number[][] = [];
    let cur: number[] = [];
    for (const i of order) {
      const sameVoice =
        cur.length === 0 ||
        (reqs[cur[0] as number] as SynthRequest).voice === (reqs[i] as SynthRequest).voice;
      if (cur.length >= this.batchSize || (!this.mixesVoices && !sameVoice)) {
        chunks.push(cur);
        cur = [];
      }
      cur.push(i);
    }
    if (cur.length) chunks.push(cur);
    const out = new Array<SynthAudio | null>(reqs.length).fill(null);
    await mapLimit(chunks, opts.concurrency ?? this.poolSize, async (chunk) => {
      opts.signal?.throwIfAborted();
      const res = await this.synthesizeBatch(
        chunk.map((i) => reqs[i] as SynthRequest),
        opts.signal,
      );
      chunk.forEach((i, k) => {
        out[i] = res[k] ?? null;
      });
    });
    return out;
  }

  /** Kirshenbaum phonemes (`espeak-ng -q -x`), one space between words, lines joined. */
  async phonemes(text: string, voice = 'en-us'): Promise<string> {
    const out = await this.run.text(['-q', '-x', '-v', voice, text]);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
  }

  /**
   * Kirshenbaum phonemes of many texts in one call: clause punctuation inside each text is replaced by spaces and the
   * texts are joined as sentences on their own lines, so espeak prints one line per text. Returns [] when the line count differs.
   */
  async phonemeLines(texts: string[], voice = 'en-us'): Promise<string[]> {
    const input = texts.map((t) => `${t.replace(/[,.;:!?()"\n]+/g, ' ').trim() || 'um'}.`).join('\n');
    const out = await this.run.text(['-q', '-x', '-v', voice, input]);
    const lines = out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return lines.length === texts.length ? lines : [];
  }

  /** IPA phonemes (for Piper). */
  async ipa(text: string, voice = 'en-us'): Promise<string> {
    const out = await this.run.text(['-q', '--ipa', '-v', voice, text]);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
  }

  dispose(): void {
    this.runner?.dispose();
    this.runner = null;
  }
}
