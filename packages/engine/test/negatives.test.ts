import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import FFT from 'fft.js';
import { describe, expect, it } from 'vitest';
import { generate } from '../data/generate-sentences.ts';
import { dbfs, rms } from '../src/audio/levels.ts';
import { Rand } from '../src/audio/random.ts';
import { SHORT_PIECE_SECONDS, shortPieces } from '../src/bank/build.ts';
import {
  babble,
  CUT_FADE_SAMPLES,
  confusables,
  cutShort,
  isEvalSentence,
  isExcludedCandidate,
  loadSentences,
  mixture,
  music,
  NOISE_KINDS,
  noise,
  normalizePhonemes,
  OPENING_CUTS,
  parsePhonemes,
  phonemeDistance,
  renderPhonemes,
  SENTENCES_PATH,
  sentenceVocabulary,
  silence,
  USER_PARTIAL_SHARE,
  userVoiceNegatives,
} from '../src/negatives/index.ts';
import { deriveRng } from '../src/rng.ts';
import { EspeakProvider, phonemize } from '../src/synth/index.ts';

const SR = 16000;
const hasEspeak =
  (await new EspeakProvider('espeak').available()) || (await new EspeakProvider('espeak-wasm').available());

/** Mean power per octave band from averaged 4096-point periodograms. */
function bandPower(x: Float32Array, lo: number, hi: number): number {
  const N = 4096;
  const fft = new FFT(N);
  const out = fft.createComplexArray() as number[];
  let p = 0;
  let frames = 0;
  for (let s = 0; s + N <= x.length; s += N) {
    const frame = new Float64Array(N);
    for (let i = 0; i < N; i++) frame[i] = x[s + i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N));
    fft.realTransform(out, frame);
    const a = Math.ceil((lo * N) / SR);
    const b = Math.floor((hi * N) / SR);
    let e = 0;
    for (let k = a; k <= b; k++) e += out[2 * k]! ** 2 + out[2 * k + 1]! ** 2;
    p += e / (b - a + 1);
    frames++;
  }
  return p / frames;
}
const slopeDbPerOctave = (x: Float32Array) =>
  (10 * Math.log10(bandPower(x, 2000, 4000) / bandPower(x, 250, 500))) / 3;

describe('noise generators', () => {
  it('are seeded, deterministic and normalised to −20 dBFS', () => {
    for (const kind of NOISE_KINDS) {
      const a = noise(kind, 1, deriveRng(1, 'noise', 0));
      expect(a.length).toBe(SR);
      expect(noise(kind, 1, deriveRng(1, 'noise', 0))).toEqual(a);
      expect(noise(kind, 1, deriveRng(1, 'noise', 1))).not.toEqual(a);
      expect(dbfs(a)).toBeCloseTo(-20, 3);
    }
  });

  it('have the spectral slopes of white, pink and brown noise', () => {
    expect(Math.abs(slopeDbPerOctave(noise('white', 8, deriveRng(2, 'n', 0))))).toBeLessThan(0.5);
    expect(slopeDbPerOctave(noise('pink', 8, deriveRng(2, 'n', 1)))).toBeCloseTo(-3, 0);
    expect(slopeDbPerOctave(noise('brown', 8, deriveRng(2, 'n', 2)))).toBeCloseTo(-6, 0);
  });

  it('hum peaks at 50 or 60 Hz and its harmonics', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 6; s++) {
      const x = noise('hum', 4, deriveRng(3, 'hum', s));
      const p50 = bandPower(x, 47, 53);
      const p60 = bandPower(x, 57, 63);
      const f0 = p50 > p60 ? 50 : 60;
      seen.add(f0);
      expect(Math.max(p50, p60)).toBeGreaterThan(100 * bandPower(x, 300, 2000));
    }
    expect(seen.size).toBe(2);
  });

  it('fan noise is band-limited and clicks are sparse bursts', () => {
    const f = noise('fan', 4, deriveRng(4, 'fan', 0));
    expect(bandPower(f, 100, 1000)).toBeGreaterThan(30 * bandPower(f, 5000, 7500));
    const c = noise('clicks', 4, deriveRng(4, 'clicks', 0));
    let loud = 0;
    for (let i = 0; i < c.length; i += 160) if (dbfs(c, i, i + 160) > -40) loud++;
    expect(loud).toBeGreaterThan(2);
    expect(loud / (c.length / 160)).toBeLessThan(0.5);
  });

  it('music-like audio follows its tempo', () => {
    for (const bpm of [60, 100, 150]) {
      const x = music(12, deriveRng(5, 'music', bpm), { bpm, drums: true });
      expect(dbfs(x)).toBeCloseTo(-20, 3);
      // onset envelope: positive energy differences of 10 ms frames; autocorrelation peak at the beat period
      const hop = 160;
      const env: number[] = [];
      let prev = 0;
      for (let i = 0; i + hop <= x.length; i += hop) {
        const e = rms(x, i, i + hop);
        env.push(Math.max(0, e - prev));
        prev = e;
      }
      // onsets sit on the beat grid: strong at beats, weak a quarter beat later (nothing is scheduled there)
      const beatFrames = 60 / bpm / 0.01;
      const at = (f: number) => Math.max(env[f - 1] ?? 0, env[f] ?? 0, env[f + 1] ?? 0);
      let on = 0;
      let off = 0;
      let n = 0;
      for (let k = 0; (k + 1) * beatFrames < env.length; k++) {
        on += at(Math.round(k * beatFrames));
        off += at(Math.round((k + 0.25) * beatFrames));
        n++;
      }
      expect(n).toBeGreaterThan(10);
      expect(on / off).toBeGreaterThan(2); // ≈ 1 for audio without a beat
    }
    expect(music(2, deriveRng(6, 'music', 0))).toEqual(music(2, deriveRng(6, 'music', 0)));
  });

  it('babble overlaps 3–6 speakers; silence is zeros or a −90…−60 dBFS floor; mixtures are 0–20 dB', () => {
    const utts = [0, 1, 2, 3].map((k) =>
      Float32Array.from(
        { length: 8000 },
        (_, i) => Math.sin((i * (k + 2)) / 30) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 8000)),
      ),
    );
    const b = babble(utts, 5, deriveRng(7, 'babble', 0));
    expect(b.length).toBe(5 * SR);
    expect(dbfs(b)).toBeCloseTo(-20, 3);
    // overlapping speakers leave few silent stretches
    let quiet = 0;
    for (let i = 0; i < b.length; i += 1600) if (dbfs(b, i, i + 1600) < -45) quiet++;
    expect(quiet).toBeLessThan(10);
    let zeros = 0;
    for (let s = 0; s < 40; s++) {
      const x = silence(0.5, deriveRng(8, 'silence', s));
      const level = dbfs(x);
      if (level === -120) zeros++;
      else {
        expect(level).toBeGreaterThanOrEqual(-90.5);
        expect(level).toBeLessThanOrEqual(-59.5);
      }
    }
    expect(zeros).toBeGreaterThan(0);
    expect(zeros).toBeLessThan(40);
    const m = mixture(utts[0]!, noise('pink', 1, deriveRng(9, 'n', 0)), deriveRng(9, 'mix', 0));
    expect(m.snrDb).toBeGreaterThanOrEqual(0);
    expect(m.snrDb).toBeLessThanOrEqual(20);
    let pn = 0;
    for (let i = 0; i < utts[0]!.length; i++) pn += (m.samples[i]! - utts[0]![i]!) ** 2;
    expect(10 * Math.log10((rms(utts[0]!) ** 2 * utts[0]!.length) / pn)).toBeCloseTo(m.snrDb, 1);
  });
});

describe('user-voice negatives', () => {
  it('are the reversed recording, its faded leading and trailing parts and its halves swapped', () => {
    const clip = Float32Array.from({ length: 16000 }, (_, i) => Math.sin(i / 7) * 0.5);
    const negatives = userVoiceNegatives(clip);
    expect(negatives).toHaveLength(4);
    const [rev, head, tail, swapped] = negatives as [Float32Array, Float32Array, Float32Array, Float32Array];
    // the second half first, then the first half, each faded at its cuts
    expect(swapped).toHaveLength(16000);
    expect(Math.abs(swapped[0] as number)).toBe(0);
    expect(swapped[4000]).toBe(clip[12000]);
    expect(swapped[12000]).toBe(clip[4000]);
    expect(Math.abs(swapped[7999] as number)).toBeLessThan(0.01);
    expect(Array.from(rev as Float32Array)).toEqual(Array.from(clip).reverse());
    const keep = Math.round(16000 * USER_PARTIAL_SHARE);
    expect(head).toHaveLength(keep);
    expect(tail).toHaveLength(keep);
    // faded at both ends, untouched in the middle
    expect(Math.abs((head as Float32Array)[0] as number)).toBe(0);
    expect(Math.abs((tail as Float32Array)[0] as number)).toBe(0);
    expect(Math.abs((head as Float32Array)[keep - 1] as number)).toBeLessThan(0.01);
    expect((head as Float32Array)[4000]).toBe(clip[4000]);
    expect((tail as Float32Array)[4000]).toBe(clip[16000 - keep + 4000]);
    expect(clip[0]).toBe(0); // the input is not modified
    expect(clip[100]).toBeCloseTo(Math.sin(100 / 7) * 0.5, 6);
  });
});

describe('openings cut short', () => {
  it('keep a seeded share of the opening per cut, faded out at the cut, and leave the input alone', () => {
    const opening = Float32Array.from({ length: 32000 }, (_, i) => Math.sin(i / 5) * 0.5);
    expect(OPENING_CUTS).toEqual([
      [0.25, 0.425],
      [0.425, 0.6],
    ]);
    for (const keep of OPENING_CUTS) {
      const kept: number[] = [];
      for (let k = 0; k < 40; k++) {
        const cut = cutShort(opening, deriveRng(3, 'opening-cut', k), keep);
        expect(cut).toEqual(cutShort(opening, deriveRng(3, 'opening-cut', k), keep));
        expect(cut.length).toBeGreaterThanOrEqual(Math.round(32000 * keep[0]));
        expect(cut.length).toBeLessThanOrEqual(Math.round(32000 * keep[1]));
        expect(Array.from(cut.subarray(0, cut.length - CUT_FADE_SAMPLES))).toEqual(
          Array.from(opening.subarray(0, cut.length - CUT_FADE_SAMPLES)),
        );
        expect(Math.abs(cut[cut.length - 1] as number)).toBe(0);
        kept.push(cut.length / 32000);
      }
      // spread over the range
      expect(Math.max(...kept) - Math.min(...kept)).toBeGreaterThan(0.5 * (keep[1] - keep[0]));
    }
    expect(opening[31999]).toBeCloseTo(Math.sin(31999 / 5) * 0.5, 6);
  });
});

describe('sentences', () => {
  it('has ≥ 3,000 distinct sentences reproduced exactly by the committed generator', () => {
    const text = readFileSync(SENTENCES_PATH, 'utf8');
    const lines = text.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3000);
    expect(new Set(lines).size).toBe(lines.length);
    expect(generate()).toEqual(lines);
    // commands, questions, names and numbers are all represented
    expect(lines.filter((l) => l.endsWith('?')).length).toBeGreaterThan(300);
    expect(lines.filter((l) => /^(Turn|Set|Play|Call|Remind|Add)\b/.test(l)).length).toBeGreaterThan(100);
    expect(lines.filter((l) => /\b(two|three|seven|twenty|hundred)\b/.test(l)).length).toBeGreaterThan(200);
    // and everyday conversation over a general vocabulary, not only commands to a home assistant
    expect(sentenceVocabulary().length).toBeGreaterThan(1200);
    expect(
      lines.filter((l) => /\b(nobody|somebody|everybody|yesterday|whether)\b/i.test(l)).length,
    ).toBeGreaterThan(200);
  });

  it('reserves ≈ 20 % for evaluation by line hash', () => {
    const { train, eval: ev } = loadSentences();
    const frac = ev.length / (train.length + ev.length);
    expect(frac).toBeGreaterThan(0.17);
    expect(frac).toBeLessThan(0.23);
    expect(ev.every(isEvalSentence)).toBe(true);
    expect(train.some(isEvalSentence)).toBe(false);
  });
});

describe('phonemes', () => {
  it('parses, renders and normalises espeak Kirshenbaum strings', () => {
    const u = parsePhonemes("h'eI vaI'oUl@");
    expect(u.map((x) => x.ph)).toEqual(['h', 'eI', ' ', 'v', 'aI', 'oU', 'l', '@']);
    expect(u.filter((x) => x.stress === 1).map((x) => x.ph)).toEqual(['eI', 'oU']);
    expect(renderPhonemes(u)).toBe("h'eI vaI'oUl@");
    expect(renderPhonemes(parsePhonemes("k@mpj'u:t#3"))).toBe("k@mpj'u:t#3");
    expect(normalizePhonemes("h'eI vaI'oUl@")).toBe('heIvaIoUl@');
    expect(phonemeDistance(parsePhonemes("b'Ot"), parsePhonemes("p'Ot"))).toBe(0.5); // voicing pair
    expect(phonemeDistance(parsePhonemes("b'Ot"), parsePhonemes("k'Ot"))).toBe(1);
    expect(phonemeDistance(parsePhonemes("b'Ot"), parsePhonemes('b,Ot'))).toBe(0.25); // stress only
  });

  it('excludes homophones and candidates containing the wake word', () => {
    expect(isExcludedCandidate("h,eI vaI'oUl@", "h'eI vaI'oUl@")).toBe(true);
    expect(isExcludedCandidate("heIvaI'oUl@", "h'eI vaI'oUl@")).toBe(true);
    expect(isExcludedCandidate("s'eI h'eI vaI'oUl@ n'aU", "h'eI vaI'oUl@")).toBe(true);
    expect(isExcludedCandidate("h'eI faI'oUl@", "h'eI vaI'oUl@")).toBe(false);
  });
});

describe.skipIf(!hasEspeak)('confusables', () => {
  it('homophone spellings phonemise alike and are excluded', async () => {
    const wake = await phonemize('hey viola');
    for (const spelling of ['hey violla', 'hay viola']) {
      const p = await phonemize(spelling);
      if (normalizePhonemes(p) === normalizePhonemes(wake)) expect(isExcludedCandidate(p, wake)).toBe(true);
    }
    // "sea": the lexicon holds "see" (same phonemes) and phrases containing it; none may be a real-word negative
    const c = await confusables('sea');
    const seaPh = await phonemize('sea');
    expect(normalizePhonemes(await phonemize('see'))).toBe(normalizePhonemes(seaPh));
    expect(c.realWords).not.toContain('see');
    expect(c.realWords.some((w) => w.split(' ').includes('see'))).toBe(false);
    for (const p of [...c.realWordPhonemes, ...c.nonce, ...c.partials])
      expect(isExcludedCandidate(p, seaPh)).toBe(false);
  });

  it('builds ranked nonce, real-word, partial and prefix candidates for a two-word phrase', async () => {
    const c = await confusables('hey viola');
    expect(c.wakePhonemes).toBe("h'eI vaI'oUl@");
    expect(c.nonce).toHaveLength(40);
    expect(new Set(c.nonce.map(normalizePhonemes)).size).toBe(40);
    const wake = parsePhonemes(c.wakePhonemes);
    const d = c.nonce.map((p) => phonemeDistance(parsePhonemes(p), wake));
    for (let i = 1; i < d.length; i++) expect(d[i]).toBeGreaterThanOrEqual(d[i - 1]!);
    expect(d.every((x) => x > 0 && x <= 2)).toBe(true);
    expect(c.nonce).toContain("h'eI faI'oUl@"); // v → f voicing pair
    expect(c.realWords).toHaveLength(20);
    expect(c.realWords.every((w) => !/viola/.test(w))).toBe(true);
    expect(c.partialTexts).toEqual(['hey', 'viola']);
    expect(c.partials).toHaveLength(2);
    // ten with names, then thirty openings of training sentences that start with "hey"
    expect(c.prefixPhrases).toHaveLength(40);
    expect(c.prefixPhrases.every((p) => p.startsWith('hey ') && p !== 'hey viola')).toBe(true);
    expect(c.cutPrefixPhrases).toEqual([]);
    const { train } = loadSentences();
    const opening = (l: string) => (l.toLowerCase().match(/[a-z']+/g) ?? []).slice(0, 4).join(' ');
    const trainOpenings = new Set(train.map(opening));
    for (const p of c.prefixPhrases.slice(10)) {
      expect(p.split(' ')).toHaveLength(4);
      expect(trainOpenings.has(p)).toBe(true);
    }
  });

  it('uses leading and trailing ≈ 60 % of a one-word phrase as partials', async () => {
    const c = await confusables('computer');
    const n = parsePhonemes(c.wakePhonemes).length;
    expect(c.partials).toHaveLength(2);
    for (const p of c.partials) expect(parsePhonemes(p).length).toBe(Math.round(0.6 * n));
    expect(c.prefixPhrases).toHaveLength(30);
    expect(c.realWords.length).toBe(20);
    // heads of up to three words: "can you dim" (k-a-n-j-u:-d-I-m) begins like k-@-m-p-j-u:-t-3
    expect(c.prefixPhrases).toContain('can you dim the');
    // none begins close enough to be cut short
    expect(c.cutPrefixPhrases).toEqual([]);
  });

  it('takes thirty openings of training sentences that begin like a one-word phrase', async () => {
    const opening = (l: string) => (l.toLowerCase().match(/[a-z']+/g) ?? []).slice(0, 4).join(' ');
    const trainOpenings = new Set(loadSentences().train.map(opening));
    const c = await confusables('snowboy');
    expect(c.prefixPhrases).toHaveLength(30);
    expect(new Set(c.prefixPhrases).size).toBe(30);
    for (const p of c.prefixPhrases) {
      expect(p.split(' ')).toHaveLength(4);
      expect(trainOpenings.has(p)).toBe(true);
    }
    // "nobody …" (n-oU-b-0-d-i) begins like s-n-oU-b-OI; the list goes on with the next closest beginnings
    expect(c.prefixPhrases[0]).toMatch(/^nobody /);
    const nobody = c.prefixPhrases.filter((p) => p.startsWith('nobody '));
    expect(nobody.length).toBeGreaterThanOrEqual(10);
    // the "nobody …" openings (0.4 per phoneme) are also trained on cut short, the "no one …" ones (0.6) are not
    expect(c.cutPrefixPhrases.every((p) => c.prefixPhrases.includes(p))).toBe(true);
    for (const p of nobody) expect(c.cutPrefixPhrases).toContain(p);
    expect(c.cutPrefixPhrases.some((p) => p.startsWith('no one '))).toBe(false);
    expect((await confusables('snowboy', { sentenceOpenings: 0 })).prefixPhrases).toEqual([]);
  });

  it('phonemises the lexicon and the sentence heads once per cache directory, and reads them back from it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vw-lexicon-'));
    try {
      const first = await confusables('snowboy', { cacheDir: dir });
      const files = (await readdir(dir)).sort();
      expect(files.map((f) => f.replace(/-[0-9a-f]{16}\.json$/, ''))).toEqual(['lexicon', 'sentence-heads']);
      // the same files in another directory, with every head that starts with "nobody" phonemised as "z"
      const other = await mkdtemp(join(tmpdir(), 'vw-lexicon-'));
      try {
        for (const f of files) {
          const record = JSON.parse(await readFile(join(dir, f), 'utf8')) as Record<string, string>;
          if (f.startsWith('sentence-heads'))
            for (const head of Object.keys(record)) if (head.startsWith('nobody')) record[head] = 'z';
          await writeFile(join(other, f), JSON.stringify(record));
        }
        expect((await confusables('snowboy', { cacheDir: dir })).prefixPhrases).toEqual(first.prefixPhrases);
        const edited = await confusables('snowboy', { cacheDir: other });
        expect(edited.prefixPhrases.some((p) => p.startsWith('nobody '))).toBe(false);
        expect(edited.realWords).toEqual(first.realWords);
      } finally {
        await rm(other, { recursive: true, force: true });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('negative bank train blocks', () => {
  it('fill a noise or music block with several 3–10 s pieces, each at its own level, between floor gaps', () => {
    const block = shortPieces('music', 30, new Rand(deriveRng(3, 'blk', 0)), [], deriveRng(3, 'gap', 0));
    expect(block.audio.length).toBe(30 * 16000);
    expect(block.phonemes).toEqual([]);
    // runs of 100 ms frames above the −72 dBFS floor are the pieces
    const frame = 1600;
    const runs: { frames: number; level: number }[] = [];
    let cur: number[] = [];
    for (let f = 0; f * frame < block.audio.length; f++) {
      const level = dbfs(block.audio, f * frame, Math.min(block.audio.length, (f + 1) * frame));
      if (level > -62) cur.push(level);
      else if (cur.length > 0) {
        runs.push({ frames: cur.length, level: Math.max(...cur) });
        cur = [];
      }
    }
    if (cur.length > 0) runs.push({ frames: cur.length, level: Math.max(...cur) });
    const pieces = runs.filter((x) => x.frames >= 10);
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    expect(pieces.length).toBeLessThanOrEqual(10);
    for (const p of pieces.slice(0, -1))
      expect(p.frames).toBeLessThanOrEqual(SHORT_PIECE_SECONDS[1] * 10 + 1);
    const levels = pieces.map((p) => p.level);
    expect(Math.max(...levels) - Math.min(...levels)).toBeGreaterThan(2);
  });
});
