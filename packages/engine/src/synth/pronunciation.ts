/**
 * How the wake word is pronounced in training (docs/engine.md, "Pronunciation"): as spelled (espeak-ng's reading of
 * the word), a "sounds like" respelling ("my croft" for "mycroft"), or Kirshenbaum phonemes as `espeak-ng -x`
 * prints them ("maIkr0ft"). The preview synthesises the same thing the job will, offline, with espeak-ng.
 */
import { writeWav16 } from '../audio/wav.ts';
import { languageInfo } from '../lang/languages.ts';
import { discoverProviders, disposeProviders, listVoices, phonemize } from './index.ts';
import {
  type Pronunciation,
  PronunciationError,
  type TrainedPronunciation,
  validatePronunciation,
} from './pronunciation-check.ts';

export {
  MAX_PHONEMES,
  MAX_SOUNDS_LIKE,
  type Pronunciation,
  PronunciationError,
  type TrainedPronunciation,
  validatePronunciation,
} from './pronunciation-check.ts';

/** The preview is cut at this length. */
export const PREVIEW_MAX_SECONDS = 3;

/** The phonemes a job trains on, and what the manifest records. */
export async function trainedPronunciation(
  wakeWord: string,
  p: Pronunciation,
  language?: string,
): Promise<TrainedPronunciation> {
  if (p.phonemes) return { source: 'phonemes', sounds_like: null, phonemes: p.phonemes };
  if (p.soundsLike)
    return {
      source: 'sounds_like',
      sounds_like: p.soundsLike,
      phonemes: await phonemize(p.soundsLike, language),
    };
  return { source: 'spelling', sounds_like: null, phonemes: await phonemize(wakeWord, language) };
}

export interface PronunciationPreview {
  /** 16 kHz mono 16-bit WAV, at most PREVIEW_MAX_SECONDS long. */
  wav: Uint8Array;
  phonemes: string;
  source: TrainedPronunciation['source'];
  voice: string;
}

/**
 * Synthesises the pronunciation once in espeak-ng's en-us voice (or the default voice of `language`) (the first phoneme-capable provider found: the
 * system espeak-ng, else its WASM build). Throws {@link PronunciationError} for bad input and `SynthesisError` when
 * no such provider exists.
 */
export async function previewPronunciation(
  wakeWord: string,
  input: Pronunciation,
  language = 'en',
): Promise<PronunciationPreview> {
  const lang = language === 'en' ? undefined : language;
  const p = validatePronunciation(input, language);
  const trained = await trainedPronunciation(wakeWord, p, lang);
  const providers = (await discoverProviders()).filter((x) => x.acceptsPhonemes);
  try {
    const provider = providers[0];
    if (!provider) throw new Error('espeak-ng is not available');
    const voices = await listVoices([provider], lang);
    const want = lang ? languageInfo(lang).espeakVoice : 'en-us';
    const voice =
      voices.find((v) => v.id.endsWith(`:${want}`)) ?? voices.find((v) => v.id.includes(want)) ?? voices[0];
    if (!voice) throw new Error(`espeak-ng has no ${lang ? languageInfo(lang).name : 'English'} voice`);
    const [audio] = await provider.synthesize([
      {
        ...(p.soundsLike || !p.phonemes
          ? { text: p.soundsLike ?? wakeWord }
          : { phonemes: trained.phonemes }),
        voice: voice.id,
        rate: 1,
        pitch: 1,
      },
    ]);
    if (!audio) throw new Error('espeak-ng produced no audio');
    const max = Math.round(PREVIEW_MAX_SECONDS * audio.sampleRate);
    const samples = audio.samples.length > max ? audio.samples.subarray(0, max) : audio.samples;
    return {
      wav: writeWav16(samples, audio.sampleRate),
      phonemes: trained.phonemes,
      source: trained.source,
      voice: voice.id,
    };
  } finally {
    disposeProviders(providers);
  }
}
