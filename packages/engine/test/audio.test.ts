import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  copyCorrelation,
  copyGroups,
  dbfs,
  dtwDistance,
  type FeatureSequence,
  findInconsistentClips,
  noiseFloor,
  readWav,
  readWavFile16k,
  trimClip,
  trimClipAsync,
  writeWav16,
} from '../src/audio/index.ts';
import { deriveRng } from '../src/rng.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const devData = path.resolve(repoRoot, '../shared/data/picovoice-dev');

/** Independent encoder for the test: writes a WAV in any supported layout. */
function encodeWav(
  chans: Float64Array[],
  rate: number,
  kind: { bits: number; float: boolean; extensible?: boolean; extraChunk?: boolean },
): Uint8Array {
  const n = chans[0]!.length;
  const c = chans.length;
  const bps = kind.bits / 8;
  const fmtLen = kind.extensible ? 40 : 16;
  const extra = kind.extraChunk ? 8 + 3 + 1 : 0; // odd-sized LIST chunk with pad byte
  const dataLen = n * c * bps;
  const buf = new Uint8Array(12 + 8 + fmtLen + extra + 8 + dataLen);
  const v = new DataView(buf.buffer);
  const str = (o: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i));
  };
  str(0, 'RIFF');
  v.setUint32(4, buf.length - 8, true);
  str(8, 'WAVE');
  let o = 12;
  str(o, 'fmt ');
  v.setUint32(o + 4, fmtLen, true);
  const tagv = kind.extensible ? 0xfffe : kind.float ? 3 : 1;
  v.setUint16(o + 8, tagv, true);
  v.setUint16(o + 10, c, true);
  v.setUint32(o + 12, rate, true);
  v.setUint32(o + 16, rate * c * bps, true);
  v.setUint16(o + 20, c * bps, true);
  v.setUint16(o + 22, kind.bits, true);
  if (kind.extensible) {
    v.setUint16(o + 24, 22, true);
    v.setUint16(o + 26, kind.bits, true);
    v.setUint32(o + 28, c === 1 ? 4 : 3, true);
    v.setUint16(o + 32, kind.float ? 3 : 1, true);
  }
  o += 8 + fmtLen;
  if (kind.extraChunk) {
    str(o, 'LIST');
    v.setUint32(o + 4, 3, true);
    o += 12;
  }
  str(o, 'data');
  v.setUint32(o + 4, dataLen, true);
  o += 8;
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++, o += bps) {
      const x = chans[ch]![i]!;
      if (kind.float) {
        if (kind.bits === 32) v.setFloat32(o, x, true);
        else v.setFloat64(o, x, true);
      } else if (kind.bits === 8) v.setUint8(o, Math.round(x * 127) + 128);
      else if (kind.bits === 16) v.setInt16(o, Math.round(x * 32767), true);
      else if (kind.bits === 24) {
        const q = Math.round(x * 8388607);
        v.setUint8(o, q & 255);
        v.setUint8(o + 1, (q >> 8) & 255);
        v.setInt8(o + 2, q >> 16);
      } else v.setInt32(o, Math.round(x * 2147483647), true);
    }
  return buf;
}

describe('WAV', () => {
  const n = 4000;
  const left = Float64Array.from({ length: n }, (_, i) => 0.6 * Math.sin((2 * Math.PI * 440 * i) / 16000));
  const right = Float64Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 97 * i) / 16000));
  const cases = [
    { bits: 8, float: false, tol: 1 / 100 },
    { bits: 16, float: false, tol: 1e-4 },
    { bits: 24, float: false, tol: 1e-6 },
    { bits: 32, float: false, tol: 1e-7 },
    { bits: 32, float: true, tol: 1e-7 },
    { bits: 64, float: true, tol: 1e-7 },
    { bits: 16, float: false, extensible: true, tol: 1e-4 },
    { bits: 24, float: false, extensible: true, tol: 1e-6 },
    { bits: 32, float: true, extensible: true, tol: 1e-7 },
  ];
  for (const k of cases)
    for (const chans of [[left], [left, right]]) {
      it(`round-trips ${k.float ? 'float' : 'PCM'} ${k.bits}-bit${k.extensible ? ' extensible' : ''}, ${chans.length} ch`, () => {
        const w = readWav(encodeWav(chans, 22050, { ...k, extraChunk: chans.length === 2 }));
        expect(w.sampleRate).toBe(22050);
        expect(w.channels).toBe(chans.length);
        expect(w.samples.length).toBe(n);
        let maxErr = 0;
        for (let i = 0; i < n; i++) {
          const want = chans.reduce((a, ch) => a + ch[i]!, 0) / chans.length;
          maxErr = Math.max(maxErr, Math.abs(w.samples[i]! - want));
        }
        expect(maxErr).toBeLessThan(k.tol);
      });
    }

  it('writeWav16 → readWav is lossless on the int16 grid and clips out-of-range floats', () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.round(Math.sin(i / 7) * 20000) / 32768);
    x[5] = 1.5;
    x[6] = -2;
    const w = readWav(writeWav16(x, 16000));
    expect(w.sampleRate).toBe(16000);
    expect(w.bitsPerSample).toBe(16);
    for (let i = 0; i < x.length; i++) if (i !== 5 && i !== 6) expect(w.samples[i]).toBe(x[i]);
    expect(w.samples[5]).toBeCloseTo(32767 / 32768, 8);
    expect(w.samples[6]).toBe(-1);
    const ints = Int16Array.from([0, 1, -1, 32767, -32768]);
    expect(Array.from(readWav(writeWav16(ints, 8000)).samples, (s) => s * 32768)).toEqual([
      0, 1, -1, 32767, -32768,
    ]);
  });

  it('rejects non-WAV and unsupported formats', () => {
    expect(() => readWav(new Uint8Array(50))).toThrow(/RIFF/);
    const bad = encodeWav([left], 16000, { bits: 16, float: false });
    new DataView(bad.buffer).setUint16(20, 2, true); // ADPCM
    expect(() => readWav(bad)).toThrow(/format tag 2/);
  });

  it('reads a real 16 kHz recording and resamples other rates to 16 kHz', async () => {
    const dir = path.join(devData, 'computer');
    const file = path.join(
      dir,
      readdirSync(dir)
        .filter((f) => f.endsWith('.wav'))
        .sort()[0]!,
    );
    const x = await readWavFile16k(file);
    expect(x.length).toBeGreaterThan(8000);
    expect(dbfs(x)).toBeGreaterThan(-60);
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const tmp = await mkdtemp(path.join((await import('node:os')).tmpdir(), 'vw-wav-'));
    const tone = Float64Array.from(
      { length: 44100 },
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 44100),
    );
    await writeFile(path.join(tmp, 't.wav'), encodeWav([tone], 44100, { bits: 24, float: false }));
    const y = await readWavFile16k(path.join(tmp, 't.wav'));
    expect(Math.abs(y.length - 16000)).toBeLessThanOrEqual(1);
    expect(dbfs(y, 1000, 15000)).toBeCloseTo(20 * Math.log10(0.5 / Math.SQRT2), 1);
  });
});

/** Clip of silence/floor with a "speech" burst (harmonic tone with syllable envelope) in known samples. */
function syntheticClip(opts: {
  total: number;
  bursts: Array<[number, number]>;
  floorDb: number;
  speechAmp: number;
  seed: number;
}) {
  const x = noiseFloor(opts.total, deriveRng(opts.seed, 'test-floor', 0), opts.floorDb);
  for (const [a, b] of opts.bursts)
    for (let i = a; i < b; i++) {
      const t = i / 16000;
      x[i]! +=
        opts.speechAmp *
        (0.6 * Math.sin(2 * Math.PI * 180 * t) +
          0.3 * Math.sin(2 * Math.PI * 360 * t) +
          0.1 * Math.sin(2 * Math.PI * 900 * t));
    }
  return x;
}

describe('trimClip', () => {
  it('finds a known speech run and pads 100 ms within the clip', () => {
    const x = syntheticClip({
      total: 48000,
      bursts: [[16000, 27200]],
      floorDb: -70,
      speechAmp: 0.3,
      seed: 1,
    });
    const r = trimClip(x);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Math.abs(r.start - (16000 - 1600))).toBeLessThanOrEqual(160);
    expect(Math.abs(r.end - (27200 + 1600))).toBeLessThanOrEqual(160);
    expect(r.samples.length).toBe(r.end - r.start);
    expect(r.diagnostics.speechSec).toBeCloseTo(0.7, 1);
    expect(r.diagnostics.snrDb).toBeGreaterThan(40);
    expect(r.diagnostics.clipping).toBe(false);
    expect(r.diagnostics.lowSnr).toBe(false);
  });

  it('merges runs separated by < 300 ms, keeps the longest run otherwise, and clamps padding to the clip', () => {
    // two syllables 200 ms apart → one run; a far-away short blip is dropped
    const x = syntheticClip({
      total: 40000,
      bursts: [
        [800, 6400],
        [9600, 16000],
        [32000, 33600],
      ],
      floorDb: -75,
      speechAmp: 0.2,
      seed: 2,
    });
    const r = trimClip(x);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.start).toBe(0); // 800 − 1600 clamps to 0
    expect(Math.abs(r.end - (16000 + 1600))).toBeLessThanOrEqual(160);
    expect(r.diagnostics.runs).toBe(2);
    // gap of 400 ms → two runs; the longer (second) wins
    const y = syntheticClip({
      total: 40000,
      bursts: [
        [4000, 8000],
        [14400, 24000],
      ],
      floorDb: -75,
      speechAmp: 0.2,
      seed: 3,
    });
    const s = trimClip(y);
    expect(s.ok && Math.abs(s.start - (14400 - 1600)) <= 160).toBe(true);
  });

  it('rejects silence, too short and too long clips with a reason', () => {
    const silent = noiseFloor(32000, deriveRng(1, 'test-floor', 9), -80);
    expect(trimClip(silent)).toMatchObject({ ok: false, reason: 'no_speech' });
    expect(trimClip(new Float32Array(32000))).toMatchObject({ ok: false, reason: 'no_speech' });
    expect(trimClip(new Float32Array(10))).toMatchObject({ ok: false, reason: 'empty' });
    const short = syntheticClip({
      total: 32000,
      bursts: [[10000, 12000]],
      floorDb: -70,
      speechAmp: 0.3,
      seed: 4,
    });
    expect(trimClip(short)).toMatchObject({ ok: false, reason: 'too_short' });
    const long = syntheticClip({
      total: 80000,
      bursts: [[8000, 56000]],
      floorDb: -70,
      speechAmp: 0.3,
      seed: 5,
    });
    expect(trimClip(long)).toMatchObject({ ok: false, reason: 'too_long' });
    // a soft take (about −55 dBFS) far above its floor is speech (docs/engine.md, "Take checks") …
    const soft = syntheticClip({
      total: 32000,
      bursts: [[8000, 20000]],
      floorDb: -90,
      speechAmp: 0.002,
      seed: 6,
    });
    expect(trimClip(soft)).toMatchObject({ ok: true });
    // … but nothing under −70 dBFS is, however far above the floor
    const quiet = syntheticClip({
      total: 32000,
      bursts: [[8000, 20000]],
      floorDb: -110,
      speechAmp: 0.0002,
      seed: 6,
    });
    expect(trimClip(quiet)).toMatchObject({ ok: false, reason: 'no_speech' });
  });

  it('records clipping and low SNR', () => {
    const x = syntheticClip({ total: 32000, bursts: [[8000, 20000]], floorDb: -30, speechAmp: 3, seed: 7 });
    for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, x[i]!));
    const r = trimClip(x);
    expect(r.diagnostics.clipping).toBe(true);
    expect(r.diagnostics.clippedFraction).toBeGreaterThan(0.01);
    const noisy = syntheticClip({
      total: 32000,
      bursts: [[8000, 20000]],
      floorDb: -30,
      speechAmp: 0.06,
      seed: 8,
    });
    // the floor is −30 dBFS; speech must be ≥ floor+10 dB to count, so SNR of the run is low but positive
    const n = trimClip(noisy, { floorMarginDb: 3 });
    expect(n.diagnostics.snrDb).toBeLessThan(5);
    expect(n.diagnostics.lowSnr).toBe(true);
  });

  it('confirms with a VAD callback (sync and async)', async () => {
    const x = syntheticClip({ total: 32000, bursts: [[8000, 20000]], floorDb: -70, speechAmp: 0.3, seed: 9 });
    let seen = 0;
    const ok = trimClip(x, {
      vadProb: (run) => {
        seen = run.length;
        return 0.9;
      },
    });
    expect(ok.ok).toBe(true);
    // the VAD hears the run with its 100 ms of padding on each side
    expect(Math.abs(seen - 15200)).toBeLessThanOrEqual(160);
    expect(trimClip(x, { vadProb: () => 0.2 })).toMatchObject({ ok: false, reason: 'vad_rejected' });
    const a = await trimClipAsync(x, { vadProb: async () => 0.7 });
    expect(a.ok && a.diagnostics.vadMean === 0.7).toBe(true);
  });

  it('trims real recordings to plausible word lengths', async () => {
    const dir = path.join(devData, 'snowboy');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.wav'))
      .sort()
      .slice(0, 10);
    let ok = 0;
    for (const f of files) {
      const r = trimClip(await readWavFile16k(path.join(dir, f)));
      if (r.ok) {
        ok++;
        expect(r.diagnostics.speechSec).toBeGreaterThan(0.2);
        expect(r.diagnostics.speechSec).toBeLessThan(2.5);
      }
    }
    expect(ok).toBeGreaterThanOrEqual(8);
  });
});

describe('clip consistency (DTW)', () => {
  const dim = 16;
  /** A "word": a smooth trajectory through feature space, time-warped and noised per take. */
  function take(word: number, seed: number, steps: number): FeatureSequence {
    const r = deriveRng(seed, 'take', word);
    const data = new Float32Array(steps * dim);
    const warp = r.uniform(0.8, 1.25);
    for (let t = 0; t < steps; t++) {
      const u = Math.min(1, (t / (steps - 1)) ** warp);
      for (let k = 0; k < dim; k++)
        data[t * dim + k] = Math.sin(3 * u * (k + 1) + word * 1.7 * (k % 5)) + 1.2 + 0.15 * r.normal();
    }
    return { data, steps, dim };
  }

  it('is zero for identical sequences, symmetric, and smaller for a time-warped take than for another word', () => {
    const a = take(1, 1, 20);
    const b = take(1, 2, 26);
    const c = take(2, 3, 22);
    expect(dtwDistance(a, a)).toBe(0);
    expect(dtwDistance(a, b)).toBeCloseTo(dtwDistance(b, a), 12);
    expect(dtwDistance(a, b)).toBeLessThan(dtwDistance(a, c));
    expect(() => dtwDistance(a, { data: new Float32Array(8), steps: 1, dim: 8 })).toThrow();
  });

  it('flags the clip that differs from the others', () => {
    const seqs = Array.from({ length: 9 }, (_, i) => take(1, 10 + i, 18 + (i % 5) * 2));
    seqs.splice(4, 0, take(3, 99, 22));
    const res = findInconsistentClips(seqs);
    expect(res.flagged).toEqual([4]);
    expect(res.medians[4]).toBeGreaterThan(2 * res.overallMedian);
    expect(findInconsistentClips(seqs.filter((_, i) => i !== 4)).flagged).toEqual([]);
    expect(findInconsistentClips(seqs.slice(0, 2)).flagged).toEqual([]);
  });
});

describe('clip consistency on real recordings (front-end embeddings)', () => {
  it('ranks a different word highest and flags nothing among takes of one word', async () => {
    const { createNodeFrontend } = await import('@violawake/detector/node');
    const fe = await createNodeFrontend();
    try {
      const list = (w: string) =>
        readdirSync(path.join(devData, w))
          .filter((f) => f.endsWith('.wav'))
          .sort()
          .map((f) => path.join(devData, w, f));
      const embed = async (file: string): Promise<FeatureSequence> => {
        const r = trimClip(await readWavFile16k(file));
        if (!r.ok) throw new Error(`${file}: ${r.reason}`);
        const e = await fe.embedClip(r.samples);
        return { data: e, steps: e.length / 96, dim: 96 };
      };
      const computer = list('computer');
      const snowboy = list('snowboy');
      let flaggedOdd = 0;
      for (const start of [0, 20, 40]) {
        const seqs: FeatureSequence[] = [];
        for (const f of computer.slice(start, start + 9)) seqs.push(await embed(f));
        seqs.push(await embed(snowboy[start]!));
        const res = findInconsistentClips(seqs);
        const top = res.medians.indexOf(Math.max(...res.medians));
        expect(top).toBe(9);
        expect(res.flagged.every((i) => i === 9)).toBe(true);
        if (res.flagged.includes(9)) flaggedOdd++;
        expect(findInconsistentClips(seqs.slice(0, 9)).flagged).toEqual([]);
      }
      // picovoice-dev takes come from many speakers (harder than one user's takes); the odd word still stands out
      expect(flaggedOdd).toBeGreaterThanOrEqual(2);
    } finally {
      await fe.dispose();
    }
  }, 60_000);
});

describe('copies of one recording (docs/engine.md)', () => {
  const computer = readdirSync(path.join(devData, 'computer'))
    .sort()
    .map((f) => path.join(devData, 'computer', f));

  it('finds a take shifted, scaled, with other silence around it and a little noise, and no other take', async () => {
    const takes: Float32Array[] = [];
    for (const f of computer.slice(0, 6)) takes.push(await readWavFile16k(f));
    const a = takes[0]!;
    // a's samples 37 ms later, at half the level, with 0.3 s more floor before and 30 dB SNR noise
    const pad = 4800 + 37 * 16;
    const floor = noiseFloor(pad + a.length, deriveRng(3, 'copy-floor', 0), -60);
    const copy = new Float32Array(pad + a.length);
    const noise = noiseFloor(copy.length, deriveRng(3, 'copy-noise', 0), dbfs(a) - 30);
    for (let i = 0; i < copy.length; i++) copy[i] = (i >= pad ? 0.5 * a[i - pad]! : floor[i]!) + noise[i]!;
    expect(copyCorrelation(a, copy)).toBeGreaterThan(0.95);
    expect(copyCorrelation(copy, a)).toBeGreaterThan(0.95);
    // different takes of the same word (by other speakers or the same one) are not copies
    for (let i = 1; i < takes.length; i++) expect(copyCorrelation(a, takes[i]!)).toBeLessThan(0.9);
    // groups point at the first clip of each: [a, b, copy of a, c, copy of b]
    const b = takes[1]!;
    const bCopy = Float32Array.from(b, (v) => 1.5 * v);
    expect(copyGroups([a, b, copy, takes[2]!, bCopy])).toEqual([0, 1, 0, 3, 1]);
    expect(copyGroups([])).toEqual([]);
    expect(copyGroups([new Float32Array(16000), new Float32Array(16000)])).toEqual([0, 1]);
  });

  it('finds the copies that the picovoice "computer" folder holds (two files of one take, 50 samples apart)', async () => {
    const a = await readWavFile16k(computer[15]!);
    const b = await readWavFile16k(computer[25]!);
    expect(copyCorrelation(a, b)).toBeGreaterThan(0.99);
  });
});
