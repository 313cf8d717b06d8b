import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeTake, findSpeech } from '../src/audio/checks.ts';
import { resample } from '../src/audio/resample.ts';
import { decodeWav, encodeWav, floatToInt16, int16ToFloat } from '../src/audio/wav.ts';
import { normalizeWakeWord } from '../src/wakeword.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const dataDir = path.resolve(repoRoot, '../shared/data/picovoice-dev');

function clips(word: 'computer' | 'snowboy', n: number): Int16Array[] {
  const dir = path.join(dataDir, word);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .slice(0, n)
    .map((f) => {
      const wav = decodeWav(readFileSync(path.join(dir, f)));
      expect(wav.sampleRate).toBe(16000);
      return wav.samples;
    });
}

function sine(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

function rmsOf(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
}

/** Amplitude of `freq` in x by correlation with sine and cosine (single-bin DFT). */
function toneAmplitude(x: Float32Array, freq: number, rate: number, from: number, to: number): number {
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += x[i] * Math.cos((2 * Math.PI * freq * i) / rate);
    im += x[i] * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}

describe('WAV encoding', () => {
  it('round-trips a real recording byte for byte through encode → decode', () => {
    const [clip] = clips('computer', 1);
    const bytes = encodeWav(clip, 16000);
    expect(bytes.byteLength).toBe(44 + clip.length * 2);
    const back = decodeWav(bytes);
    expect(back.sampleRate).toBe(16000);
    expect(back.channels).toBe(1);
    expect(Array.from(back.samples)).toEqual(Array.from(clip));
    const original = readFileSync(
      path.join(
        dataDir,
        'computer',
        readdirSync(path.join(dataDir, 'computer'))
          .filter((f) => f.endsWith('.wav'))
          .sort()[0],
      ),
    );
    // Same header fields as a standard 16 kHz mono PCM file.
    const header = new DataView(bytes);
    expect(header.getUint16(20, true)).toBe(1);
    expect(header.getUint16(22, true)).toBe(1);
    expect(header.getUint32(24, true)).toBe(16000);
    expect(header.getUint16(34, true)).toBe(16);
    expect(original.subarray(0, 4).toString()).toBe('RIFF');
  });

  it('converts floats to int16 with clamping and round-half-away-from-zero', () => {
    const out = floatToInt16(new Float32Array([0, 1, -1, 2, -2, 0.5, -0.5, Number.NaN]));
    expect(Array.from(out)).toEqual([0, 32767, -32767, 32767, -32767, 16384, -16384, 0]);
    const back = int16ToFloat(new Int16Array([16384, -32768]));
    expect(back[0]).toBeCloseTo(0.5, 6);
    expect(back[1]).toBe(-1);
  });
});

describe('resampler', () => {
  it('keeps a 1 kHz tone at the right frequency and level from 48 kHz to 16 kHz', () => {
    const out = resample(sine(1000, 48000, 1), 48000, 16000);
    expect(out.length).toBe(16000);
    const amp = toneAmplitude(out, 1000, 16000, 2000, 14000);
    expect(amp).toBeGreaterThan(0.49);
    expect(amp).toBeLessThan(0.51);
  });

  it('keeps passband tones up to 0.45 × 16 kHz within 0.1 dB', () => {
    const out = resample(sine(7000, 44100, 1), 44100, 16000);
    const amp = toneAmplitude(out, 7000, 16000, 2000, 14000);
    expect(Math.abs(20 * Math.log10(amp / 0.5))).toBeLessThan(0.1);
  });

  it('removes content above the new Nyquist frequency by at least 70 dB', () => {
    const out = resample(sine(10000, 48000, 1), 48000, 16000);
    const level = 20 * Math.log10(rmsOf(out, 2000, 14000) / rmsOf(sine(10000, 48000, 1)));
    expect(level).toBeLessThan(-70);
  });

  it('leaves 16 kHz input unchanged', () => {
    const x = sine(440, 16000, 0.1);
    expect(Array.from(resample(x, 16000, 16000))).toEqual(Array.from(x));
  });
});

describe('take checks on real recordings', () => {
  const computer = clips('computer', 12);

  it('accepts clean recordings of the wake word', () => {
    let accepted = 0;
    for (const clip of computer) {
      const a = analyzeTake(clip);
      if (a.ok) accepted++;
      expect(a.durationS).toBeCloseTo(clip.length / 16000, 6);
    }
    expect(accepted).toBeGreaterThanOrEqual(10);
  });

  it('rejects digital silence as silent', () => {
    const a = analyzeTake(new Int16Array(32000));
    expect(a.ok).toBe(false);
    expect(a.issues.map((i) => i.code)).toContain('silent');
  });

  it('rejects a recording 40 dB too quiet', () => {
    const quiet = Int16Array.from(computer[0], (s) => Math.round(s / 100));
    const a = analyzeTake(quiet);
    expect(a.ok).toBe(false);
    expect(a.issues.map((i) => i.code)).toEqual(
      expect.arrayContaining([expect.stringMatching(/silent|too_quiet/)]),
    );
  });

  it('flags a recording amplified into clipping', () => {
    const hot = Int16Array.from(computer[1], (s) => Math.max(-32768, Math.min(32767, s * 40)));
    const a = analyzeTake(hot);
    expect(a.clippedShare).toBeGreaterThan(0.005);
    expect(a.issues.map((i) => i.code)).toContain('clipped');
  });

  it('flags a recording buried in white noise as noisy', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff - 0.5;
    };
    const clean = analyzeTake(computer[2]);
    const noiseAmp = 10 ** ((clean.speechDb - 3) / 20) * 32768 * 1.7;
    const noisy = Int16Array.from(computer[2], (s) =>
      Math.max(-32768, Math.min(32767, Math.round(s + rand() * noiseAmp))),
    );
    const a = analyzeTake(noisy);
    expect(a.snrDb).toBeLessThan(clean.snrDb);
    expect(a.issues.map((i) => i.code)).toContain('noisy');
  });

  it('rejects a take holding only a short click as too short', () => {
    const take = new Int16Array(32000);
    for (let i = 16000; i < 16000 + 800; i++) take[i] = i % 2 ? 8000 : -8000;
    const a = analyzeTake(take);
    expect(a.issues.map((i) => i.code)).toContain('too_short');
  });
});

describe('findSpeech', () => {
  it('finds the word inside a longer capture window and trims the silence around it', () => {
    const [clip] = clips('computer', 1);
    const window = new Int16Array(16000 * 4);
    window.set(clip, 8000);
    const seg = findSpeech(window);
    expect(seg).not.toBeNull();
    if (!seg) return;
    expect(seg.touchesEdge).toBe(false);
    expect(seg.start).toBeGreaterThanOrEqual(8000);
    expect(seg.end).toBeLessThanOrEqual(8000 + clip.length + 4000);
    expect(seg.end - seg.start).toBeLessThan(clip.length);
    // The trimmed region keeps nearly all of the clip's energy.
    let inside = 0;
    let total = 0;
    for (let i = 0; i < window.length; i++) {
      const e = window[i] * window[i];
      total += e;
      if (i >= seg.start && i < seg.end) inside += e;
    }
    expect(inside / total).toBeGreaterThan(0.97);
  });

  it('prefers a complete word over one cut by the window edge', () => {
    const [a, b] = clips('computer', 2);
    const sa = findSpeech(a);
    const sb = findSpeech(b);
    if (!sa || !sb) throw new Error('no speech found in the source clips');
    const wordA = a.slice(sa.start, sa.end);
    const wordB = b.slice(sb.start, sb.end);
    const window = new Int16Array(16000 * 3);
    const cut = Math.floor(wordA.length / 2);
    window.set(wordA.subarray(cut), 0); // second half of a word at the very start
    const at = 16000;
    window.set(wordB, at);
    const seg = findSpeech(window);
    expect(seg?.touchesEdge).toBe(false);
    expect(seg?.start).toBeGreaterThanOrEqual(at - 4000);
  });

  it('returns null for silence', () => {
    expect(findSpeech(new Int16Array(48000))).toBeNull();
  });
});

describe('wake-word normalization for display', () => {
  it('follows the API rules', () => {
    expect(normalizeWakeWord('  Hey   JARVIS ').value).toBe('hey jarvis');
    expect(normalizeWakeWord('Café').value).toBe('café');
    expect(normalizeWakeWord('ｈｅｙ').value).toBe('hey');
    expect(normalizeWakeWord('O’Neil').value).toBe("o'neil");
    expect(normalizeWakeWord('hey, jarvis').error).not.toBeNull();
    expect(normalizeWakeWord('   ').error).not.toBeNull();
    expect(normalizeWakeWord("'-'").error).not.toBeNull();
    expect(normalizeWakeWord('a'.repeat(65)).error).not.toBeNull();
  });
});
