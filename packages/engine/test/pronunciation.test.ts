/**
 * Pronunciation (docs/engine.md, "Pronunciation"): checking what the user typed, the preview, and a text-only job
 * trained from phonemes that records them in its manifest. Real espeak-ng.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateManifest } from '../src/artifacts/manifest.ts';
import { readWav } from '../src/audio/wav.ts';
import { trainWakeWord } from '../src/pipeline/train.ts';
import {
  PREVIEW_MAX_SECONDS,
  PronunciationError,
  previewPronunciation,
  trainedPronunciation,
  validatePronunciation,
} from '../src/synth/pronunciation.ts';

describe('validatePronunciation', () => {
  it('normalises good input and returns nothing for none', () => {
    expect(validatePronunciation(undefined)).toEqual({});
    expect(validatePronunciation({ soundsLike: '  ' })).toEqual({});
    expect(validatePronunciation({ soundsLike: '  my   croft ' })).toEqual({ soundsLike: 'my croft' });
    expect(validatePronunciation({ phonemes: " m'aIkr0ft " })).toEqual({ phonemes: "m'aIkr0ft" });
    // what `espeak-ng -x` prints is accepted as it is
    expect(validatePronunciation({ phonemes: "h'eI m'IkrO2ft" })).toEqual({ phonemes: "h'eI m'IkrO2ft" });
  });

  it('names the field and the problem for bad input', () => {
    const bad: [Parameters<typeof validatePronunciation>[0], string, RegExp][] = [
      [{ phonemes: 'maɪkrɒft' }, 'phonemes', /ASCII notation/],
      [{ phonemes: 'mkrft' }, 'phonemes', /no vowel/],
      [{ phonemes: 'x'.repeat(201) }, 'phonemes', /longer than 200/],
      [{ soundsLike: 'my_croft' }, 'sounds_like', /only letters/],
      [{ soundsLike: "'" }, 'sounds_like', /only letters/],
      [{ soundsLike: 'my croft', phonemes: 'maIkr0ft' }, 'phonemes', /not both/],
    ];
    for (const [input, field, msg] of bad) {
      const err = (() => {
        try {
          validatePronunciation(input);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err, JSON.stringify(input)).toBeInstanceOf(PronunciationError);
      expect((err as PronunciationError).field).toBe(field);
      expect((err as Error).message).toMatch(msg);
    }
  });
});

describe('previewPronunciation', () => {
  it('says the respelling, not the spelling, and stays within the length bound', async () => {
    const spelled = await previewPronunciation('hey mycroft', {});
    const like = await previewPronunciation('hey mycroft', { soundsLike: 'hey my croft' });
    expect(spelled.source).toBe('spelling');
    expect(like.source).toBe('sounds_like');
    expect(like.phonemes).toContain('maI');
    expect(like.phonemes).not.toBe(spelled.phonemes);
    expect(spelled.voice).toMatch(/en-us/);
    for (const p of [spelled, like]) {
      const wav = readWav(p.wav);
      const seconds = wav.samples.length / wav.sampleRate;
      expect(seconds).toBeGreaterThan(0.3);
      expect(seconds).toBeLessThanOrEqual(PREVIEW_MAX_SECONDS);
    }
    expect(await trainedPronunciation('hey mycroft', { phonemes: "h'eI m'aIkr0ft" })).toEqual({
      source: 'phonemes',
      sounds_like: null,
      phonemes: "h'eI m'aIkr0ft",
    });
  });
});

describe('a text-only job trained from phonemes', () => {
  it('synthesises its positives from them and records them in the manifest', async () => {
    const phonemes = "h'eI m'aIkr0ft";
    const result = await trainWakeWord({
      wakeWord: 'hey mycroft',
      textOnly: true,
      pronunciation: { phonemes },
      dataDir: join(tmpdir(), 'violawake-test-engine-cache-textonly'),
      seed: 3,
      bankScale: 0.02,
      synthScale: 0.15,
      maxEpochs: 8,
      now: () => new Date('2026-12-07T06:00:00Z'),
    });
    const m = result.manifest;
    expect(validateManifest(JSON.parse(JSON.stringify(m)))).toEqual([]);
    expect(m.wake_word).toBe('hey mycroft');
    expect(m.training.pronunciation).toEqual({ source: 'phonemes', sounds_like: null, phonemes });
    expect(m.training.n_synth_positives).toBeGreaterThan(0);
  }, 600_000);
});
