/** A synthetic voice. `id` is stable across runs: `<provider>:<name>` (e.g. `espeak:en-gb-scotland+f2`). */
export interface Voice {
  id: string;
  provider: string;
  language?: string;
  gender?: string;
  /**
   * Split group: voices of one group always land on the same side of the train/eval split (a whole espeak accent
   * with all its variants, a Piper model with all its speakers). Defaults to the id.
   */
  group?: string;
}

/**
 * One utterance. Exactly one of `text` / `phonemes` (Kirshenbaum, as printed by `espeak-ng -x`).
 * `rate` multiplies the voice's default speaking rate (1 = default, 0.85–1.2 typical); `pitch` multiplies its
 * default pitch (1 = default, 0.85–1.15 typical). `key` is an opaque caller tag.
 */
export interface SynthRequest {
  text?: string;
  phonemes?: string;
  voice: string;
  rate: number;
  pitch: number;
  key?: string;
}

export interface SynthAudio {
  samples: Float32Array;
  sampleRate: number;
}

export interface SynthesizeOptions {
  signal?: AbortSignal;
  /** Parallel processes the provider may use. */
  concurrency?: number;
}

export interface SpeechProvider {
  readonly id: string;
  /** True when the provider can synthesise phoneme input (`SynthRequest.phonemes`). */
  readonly acceptsPhonemes: boolean;
  /** Largest share of a job's utterances this provider should receive (festival: 0.1 because it is slow). */
  readonly maxShare?: number;
  available(): Promise<boolean>;
  /**
   * Voices of `language` (BCP-47 primary subtag; default English, docs/languages.md). English lists every voice the
   * provider had before languages existed; another language lists only that language's voices (none for flite and
   * festival, which are English-only).
   */
  voices(language?: string): Promise<Voice[]>;
  /** One result per request, in order; null for a failed utterance. */
  synthesize(batch: SynthRequest[], opts?: SynthesizeOptions): Promise<Array<SynthAudio | null>>;
  /** Kirshenbaum phonemes (espeak-based providers). */
  phonemes?(text: string): Promise<string>;
  /** Releases child processes. */
  dispose?(): void;
}

/** Thrown (with code `synthesis_unavailable`) when synthesis cannot supply enough positives or voices. */
export class SynthesisError extends Error {
  override name = 'SynthesisError';
  readonly code = 'synthesis_unavailable' as const;
  constructor(
    message: string,
    readonly counts: { produced: number; requested: number; voices: number },
  ) {
    super(message);
  }
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
