import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { AudioError } from '../src/recordings/audio/errors.ts';
import { checkOggOpus } from '../src/recordings/audio/ogg.ts';
import { detectFormat, processRecording } from '../src/recordings/audio/pipeline.ts';
import { demuxWebmOpus } from '../src/recordings/audio/webm.ts';
import { makeWav, sine, toneAmplitude, type WavEncoding } from './fixtures/audio/make-wav.ts';
import { remuxToOgg } from './fixtures/audio/ogg-mux.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const dataDir = path.resolve(repoRoot, '../shared/data/picovoice-dev');
const fixtures = path.join(here, 'fixtures/audio');
const WEBM = readFileSync(path.join(fixtures, 'chromium-mediarecorder.webm'));
const OGG = readFileSync(path.join(fixtures, 'chromium-remux.ogg'));
const OTHER_SPEECH = readdirSync(path.join(dataDir, 'computer')).sort()[1]!;
const SPEECH_SOURCE = path.join(dataDir, 'computer/0386da81-9db7-499c-b4f8-910beec53c23.wav');

async function rejection(bytes: Uint8Array): Promise<string> {
  try {
    await processRecording(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(AudioError);
    return (err as Error).message;
  }
  throw new Error('expected a rejection');
}

function pcm16Samples(wav: Buffer): Int16Array {
  // Canonical files from the pipeline: 44-byte header.
  return new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
}

/** Best normalized cross-correlation of `a` against `b` over lags 0..maxLag (b shifted right). */
function bestCorrelation(a: Int16Array, b: Int16Array, maxLag: number): number {
  let best = 0;
  for (let lag = 0; lag <= maxLag; lag += 1) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    const n = Math.min(a.length, b.length - lag);
    for (let i = 0; i < n; i++) {
      const x = a[i]!;
      const y = b[i + lag]!;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    if (aa > 0 && bb > 0) best = Math.max(best, ab / Math.sqrt(aa * bb));
  }
  return best;
}

describe('WAV decoding: every supported encoding, rate and channel layout', () => {
  const encodings: WavEncoding[] = ['pcm8', 'pcm16', 'pcm24', 'pcm32', 'float32', 'float64'];
  const rates = [8000, 16000, 22050, 44100, 48000];
  const cases: [WavEncoding, number, number, boolean][] = [];
  for (const enc of encodings)
    for (const rate of rates) for (const ch of [1, 2]) cases.push([enc, rate, ch, false]);
  for (const enc of ['pcm16', 'pcm24', 'pcm32', 'float32'] as WavEncoding[]) {
    cases.push([enc, 44100, 2, true], [enc, 16000, 1, true]);
  }

  it.each(cases)(
    '%s %i Hz, %i ch, extensible=%s → 16 kHz mono int16 with the tone preserved',
    async (enc, rate, nch, ext) => {
      const seconds = 1.25;
      const left = sine(440, seconds, rate, 0.5);
      // Stereo: the right channel carries the same tone at 0.3, so the downmix has amplitude 0.4.
      const channels = nch === 1 ? [left] : [left, sine(440, seconds, rate, 0.3)];
      const wav = makeWav(channels, { sampleRate: rate, encoding: enc, extensible: ext });
      expect(detectFormat(wav)).toBe('wav');
      const r = await processRecording(wav);
      expect(r.sourceFormat).toBe('wav');
      expect(r.sourceSampleRate).toBe(rate);
      expect(r.sourceChannels).toBe(nch);
      expect(r.samples.length).toBe(Math.ceil((left.length * 16000) / rate));
      expect(r.durationS).toBeCloseTo(seconds, 3);
      // Output file: canonical 16 kHz mono 16-bit header, data = samples.
      expect(r.wav.toString('latin1', 0, 4)).toBe('RIFF');
      expect(r.wav.readUInt16LE(20)).toBe(1);
      expect(r.wav.readUInt16LE(22)).toBe(1);
      expect(r.wav.readUInt32LE(24)).toBe(16000);
      expect(r.wav.readUInt16LE(34)).toBe(16);
      expect(r.wav.readUInt32LE(40)).toBe(r.samples.length * 2);
      expect(Array.from(pcm16Samples(r.wav).subarray(0, 100))).toEqual(
        Array.from(r.samples.subarray(0, 100)),
      );
      // Skip the resampler's edges; the tone keeps its amplitude (8-bit quantization allows a little more error).
      const expected = nch === 1 ? 0.5 : 0.4;
      const mid = r.samples.subarray(800, r.samples.length - 800);
      expect(toneAmplitude(mid, 440, 16000)).toBeCloseTo(expected, enc === 'pcm8' ? 1 : 2);
      expect(r.warnings).toEqual([]);
    },
  );

  it('removes content above the 16 kHz Nyquist band when downsampling (band-limited, no aliasing)', async () => {
    // 8 kHz tone + 11 kHz tone at 48 kHz: 11 kHz would alias to 5 kHz with naive decimation.
    const rate = 48000;
    const a = sine(1000, 1, rate, 0.3);
    const b = sine(11000, 1, rate, 0.3);
    const mix = a.map((v, i) => v + b[i]!);
    const r = await processRecording(makeWav([mix], { sampleRate: rate, encoding: 'float32' }));
    const mid = r.samples.subarray(800, r.samples.length - 800);
    expect(toneAmplitude(mid, 1000, 16000)).toBeCloseTo(0.3, 2);
    // Alias frequency of 11 kHz at fs=16 kHz is 5 kHz: at least 60 dB down.
    expect(toneAmplitude(mid, 5000, 16000)).toBeLessThan(0.3e-3);
  });

  it('stores 16 kHz mono 16-bit PCM unchanged (real recordings)', async () => {
    const files = readdirSync(path.join(dataDir, 'computer')).slice(0, 5);
    for (const f of files) {
      const src = readFileSync(path.join(dataDir, 'computer', f));
      const r = await processRecording(src);
      // Find the source data chunk and compare sample-for-sample.
      const dataAt = src.indexOf('data', 12, 'latin1');
      const n = Math.floor((src.length - dataAt - 8) / 2);
      const srcSamples = new Int16Array(n);
      for (let i = 0; i < n; i++) srcSamples[i] = src.readInt16LE(dataAt + 8 + 2 * i);
      expect(r.samples.length).toBe(n);
      expect(Buffer.from(r.samples.buffer).equals(Buffer.from(srcSamples.buffer))).toBe(true);
      expect(r.durationS).toBeCloseTo(n / 16000, 3);
    }
  });

  it('skips extra chunks of odd size (pad byte) before and after fmt', async () => {
    const tone = sine(300, 1, 16000, 0.25);
    const plain = await processRecording(makeWav([tone], { sampleRate: 16000, encoding: 'pcm16' }));
    const padded = await processRecording(
      makeWav([tone], {
        sampleRate: 16000,
        encoding: 'pcm16',
        chunksBefore: [{ id: 'JUNK', body: new Uint8Array(3).fill(7) }],
        chunksBetween: [
          { id: 'LIST', body: Buffer.from('INFOISFT\x05\x00\x00\x00abcde', 'latin1') },
          { id: 'fact', body: new Uint8Array(1) },
        ],
      }),
    );
    expect(Buffer.from(padded.samples.buffer).equals(Buffer.from(plain.samples.buffer))).toBe(true);
  });

  it('treats a data size beyond the end of the file as "to end of file"', async () => {
    const tone = sine(300, 1, 22050, 0.25);
    const wav = makeWav([tone], { sampleRate: 22050, encoding: 'pcm16', dataSizeField: 0xfffffff0 });
    const r = await processRecording(wav);
    expect(r.durationS).toBeCloseTo(1, 2);
  });
});

describe('browser Opus: WebM from Chromium MediaRecorder and Ogg Opus', () => {
  it('detects both containers from magic bytes', () => {
    expect(detectFormat(WEBM)).toBe('webm');
    expect(detectFormat(OGG)).toBe('ogg');
  });

  it('decodes the Chromium WebM clip to ≈2 s of the speech the fake microphone played', async () => {
    const t0 = performance.now();
    const r = await processRecording(WEBM);
    const ms = performance.now() - t0;
    expect(r.sourceFormat).toBe('webm');
    expect(r.sourceSampleRate).toBe(48000);
    expect(r.durationS).toBeGreaterThan(1.7);
    expect(r.durationS).toBeLessThan(2.3);
    expect(r.samples.length).toBe(Math.round(r.durationS * 16000));
    expect(ms).toBeLessThan(2000);
    // The fake microphone loops the source file from its start: the decoded audio correlates with it.
    const src = await processRecording(readFileSync(SPEECH_SOURCE));
    const window = r.samples.subarray(4000, 12000);
    const corr = bestCorrelation(window, src.samples, 16000);
    // Baseline: another speaker saying the same word does not line up sample by sample.
    const other = await processRecording(readFileSync(path.join(dataDir, 'computer', OTHER_SPEECH)));
    const baseline = bestCorrelation(window, other.samples, 16000);
    expect(corr).toBeGreaterThan(0.5);
    expect(baseline).toBeLessThan(0.3);
  });

  it('decodes the Ogg Opus remux to the same audio as the WebM', async () => {
    const w = await processRecording(WEBM);
    const o = await processRecording(OGG);
    expect(o.sourceFormat).toBe('ogg');
    expect(Math.abs(o.samples.length - w.samples.length)).toBeLessThan(16000 * 0.03);
    const n = Math.min(o.samples.length, w.samples.length);
    expect(bestCorrelation(o.samples.subarray(0, n - 100), w.samples.subarray(0, n), 0)).toBeGreaterThan(
      0.99,
    );
  });

  it('the committed Ogg fixture is exactly the remux of the committed WebM', () => {
    expect(remuxToOgg(WEBM).equals(OGG)).toBe(true);
  });

  it('corrupted Opus packets answer "Could not decode audio" without writing to stderr', async () => {
    const spy = vi.spyOn(console, 'error');
    try {
      const { packets } = demuxWebmOpus(WEBM);
      // Code-3 TOC (arbitrary frame count) with an impossible count and padding: libopus OPUS_INVALID_PACKET.
      const bad = Buffer.from(WEBM);
      const at = bad.indexOf(Buffer.from(packets[3]!));
      bad[at] = (bad[at]! & 0xfc) | 3;
      bad[at + 1] = 0xff;
      expect(await rejection(bad)).toBe('Could not decode audio');
      const ogg = remuxToOgg(bad);
      expect(await rejection(ogg)).toBe('Could not decode audio');
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('rejects a WebM whose only track is not Opus, or that has no audio track', async () => {
    const vorbis = Buffer.from(WEBM);
    const at = vorbis.indexOf('A_OPUS', 0, 'latin1');
    expect(at).toBeGreaterThan(0);
    vorbis.write('A_VORB', at, 'latin1');
    expect(await rejection(vorbis)).toBe(
      'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
    );

    const video = Buffer.from(WEBM);
    const tt = video.indexOf(Buffer.from([0x83, 0x81, 0x02])); // TrackType = 2 (audio)
    expect(tt).toBeGreaterThan(0);
    video[tt + 2] = 1; // video
    expect(await rejection(video)).toBe(
      'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
    );
  });

  it('rejects a WebM with two audio tracks', async () => {
    // Duplicate the TrackEntry with another track number right after the original one.
    const tracks = WEBM.indexOf(Buffer.from([0x16, 0x54, 0xae, 0x6b]));
    const start = WEBM.indexOf(Buffer.from([0xae]), tracks + 5); // after the Tracks id and its 1-byte size
    const sizeByte = WEBM[start + 1]!;
    expect(sizeByte & 0x80).toBe(0x80); // one-byte size in Chromium's output
    const entry = Buffer.from(WEBM.subarray(start, start + 2 + (sizeByte & 0x7f)));
    const tn = entry.indexOf(Buffer.from([0xd7, 0x81]));
    entry[tn + 2] = 9;
    const two = Buffer.concat([
      WEBM.subarray(0, start + entry.length),
      entry,
      WEBM.subarray(start + entry.length),
    ]);
    expect(demuxWebmOpus(WEBM).packets.length).toBeGreaterThan(25); // 2 s of 60 ms packets
    expect(await rejection(two)).toBe(
      'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
    );
  });

  it('answers "Could not decode audio" for a broken OpusHead', async () => {
    const bad = Buffer.from(WEBM);
    const at = bad.indexOf('OpusHead', 0, 'latin1');
    bad[at + 9] = 0; // zero channels
    expect(await rejection(bad)).toBe('Could not decode audio');
  });

  it('rejects an Ogg file with two logical streams or a non-Opus stream', async () => {
    // Two BOS pages: the file's first page twice (second copy with another serial number).
    const firstPageLen = 27 + OGG[26]! + OGG.subarray(27, 27 + OGG[26]!).reduce((a, b) => a + b, 0);
    const bos2 = Buffer.from(OGG.subarray(0, firstPageLen));
    bos2.writeUInt32LE(12345, 14);
    const two = Buffer.concat([OGG.subarray(0, firstPageLen), bos2, OGG.subarray(firstPageLen)]);
    expect(() => checkOggOpus(two)).toThrow(AudioError);
    expect(await rejection(two)).toBe(
      'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
    );
    const vorbis = Buffer.from(OGG);
    vorbis.write('\x01vorbis\0', 27 + OGG[26]!, 'latin1');
    expect(await rejection(vorbis)).toBe(
      'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
    );
  });

  it('stops decoding once 5 s is exceeded and reports the clip as too long', async () => {
    // Concatenate the WebM's clusters three times (≈6 s of packets) by repeating everything after the first Cluster.
    const cluster = WEBM.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75]));
    const long = Buffer.concat([WEBM, WEBM.subarray(cluster), WEBM.subarray(cluster)]);
    const msg = await rejection(long);
    expect(msg).toMatch(/^Recording too long \(5\.\d\ds\)\. Maximum is 5\.0s\.$/);
  });
});

describe('rejections (docs/api.md §4.5, exact messages)', () => {
  const tone = (seconds: number, rate = 16000, amp = 0.3) => sine(440, seconds, rate, amp);
  const wav16 = (x: Float64Array, rate = 16000) => makeWav([x], { sampleRate: rate, encoding: 'pcm16' });

  it('empty file', async () => {
    expect(await rejection(new Uint8Array(0))).toBe('Empty file');
  });

  it('unknown magic bytes', async () => {
    for (const bytes of [
      Buffer.from('ID3\x04\x00\x00garbage'),
      Buffer.from('fLaC\0\0\0\x22'),
      Buffer.from([0xff, 0xfb, 0x90, 0x00]),
      Buffer.from('x'),
    ]) {
      expect(await rejection(bytes)).toBe(
        'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
      );
    }
  });

  it('WAV structure', async () => {
    const good = wav16(tone(1));
    expect(await rejection(good.subarray(0, 43))).toBe('File too small to be a valid WAV');
    const notWave = Buffer.from(good);
    notWave.write('AVI ', 8, 'latin1');
    expect(await rejection(notWave)).toBe('Not a valid WAV file');
    const noData = Buffer.from(good);
    noData.write('dat4', 36, 'latin1');
    expect(await rejection(noData)).toBe('Not a valid WAV file');
    const noFmt = Buffer.from(good);
    noFmt.write('fmtX', 12, 'latin1');
    expect(await rejection(noFmt)).toBe('Not a valid WAV file');
    expect(await rejection(makeWav([tone(1)], { sampleRate: 16000, encoding: 'pcm16', fmtSize: 14 }))).toBe(
      'Malformed fmt chunk',
    );
  });

  it('unsupported WAV format tags', async () => {
    expect(await rejection(makeWav([tone(1)], { sampleRate: 16000, encoding: 'pcm16', formatTag: 2 }))).toBe(
      'Unsupported WAV format (2). Use PCM or IEEE float.',
    );
    expect(
      await rejection(makeWav([tone(1)], { sampleRate: 16000, encoding: 'pcm16', formatTag: 0x55 })),
    ).toBe('Unsupported WAV format (85). Use PCM or IEEE float.');
    const ext = makeWav([tone(1)], { sampleRate: 16000, encoding: 'pcm16', extensible: true });
    ext.writeUInt32LE(0x11, 20 + 24); // IMA ADPCM subformat
    expect(await rejection(ext)).toBe('Unsupported WAV format (17). Use PCM or IEEE float.');
  });

  it('invalid header values', async () => {
    const msg = 'Invalid WAV header values';
    expect(
      await rejection(makeWav([tone(1)], { sampleRate: 16000, encoding: 'pcm16', channelsField: 0 })),
    ).toBe(msg);
    expect(
      await rejection(makeWav([tone(1)], { sampleRate: 16000, encoding: 'pcm16', channelsField: 9 })),
    ).toBe(msg);
    expect(await rejection(makeWav([tone(1, 7999)], { sampleRate: 7999, encoding: 'pcm16' }))).toBe(msg);
    expect(await rejection(makeWav([tone(0.6, 192001)], { sampleRate: 192001, encoding: 'pcm16' }))).toBe(
      msg,
    );
    expect(await rejection(makeWav([tone(1)], { sampleRate: 16000, encoding: 'pcm16', bitsField: 12 }))).toBe(
      msg,
    );
    expect(
      await rejection(makeWav([tone(1)], { sampleRate: 16000, encoding: 'float32', bitsField: 16 })),
    ).toBe(msg);
  });

  it('duration limits with two decimals', async () => {
    expect(await rejection(wav16(tone(0.3)))).toBe('Recording too short (0.30s). Minimum is 0.5s.');
    expect(await rejection(wav16(tone(0.4999)))).toBe('Recording too short (0.50s). Minimum is 0.5s.');
    expect(await rejection(wav16(tone(6, 8000), 8000))).toBe('Recording too long (6.00s). Maximum is 5.0s.');
    expect(await rejection(makeWav([tone(5.01, 44100)], { sampleRate: 44100, encoding: 'pcm24' }))).toBe(
      'Recording too long (5.01s). Maximum is 5.0s.',
    );
    expect((await processRecording(wav16(tone(0.5)))).durationS).toBe(0.5);
    expect((await processRecording(wav16(tone(5)))).durationS).toBe(5);
  });

  it('silence: digital zero and RMS just under 10', async () => {
    const silent = 'Recording appears to be silent. Please check your microphone and try again.';
    expect(await rejection(wav16(new Float64Array(16000)))).toBe(silent);
    // RMS of 9 int16 units (a tone of amplitude 9·√2).
    expect(await rejection(wav16(tone(1, 16000, (9 * Math.SQRT2) / 32768)))).toBe(silent);
    const quiet = await processRecording(wav16(tone(1, 16000, (12 * Math.SQRT2) / 32768)));
    expect(quiet.warnings.map((w) => w.code)).toEqual(['low_level']);
  });

  it('warnings: clipping (share of full-scale source samples) and low level (dBFS)', async () => {
    // A square wave at full scale: every sample clipped.
    const square = tone(1, 44100, 1).map((v) => (v >= 0 ? 1 : -1));
    const clipped = await processRecording(
      makeWav([square, tone(1, 44100, 0.2)], { sampleRate: 44100, encoding: 'float32' }),
    );
    const c = clipped.warnings.find((w) => w.code === 'clipping');
    expect(c).toBeDefined();
    expect(c!.value).toBeCloseTo(0.5, 2); // one of two channels at full scale
    expect(c!.message.length).toBeGreaterThan(10);
    // 0.4 % clipped: no warning; 0.6 %: warning.
    const few = tone(1, 16000, 0.3);
    for (let i = 0; i < 64; i++) few[i * 200] = 1;
    expect((await processRecording(wav16(few))).warnings).toEqual([]);
    for (let i = 0; i < 96; i++) few[i * 150 + 7] = -1;
    const w = (await processRecording(wav16(few))).warnings;
    expect(w.map((x) => x.code)).toEqual(['clipping']);
    expect(w[0]!.value).toBeCloseTo(160 / 16000, 4);

    const low = await processRecording(wav16(tone(1, 16000, 0.005)));
    const l = low.warnings.find((x) => x.code === 'low_level');
    expect(l).toBeDefined();
    // Sine of amplitude 0.005: RMS = 0.005/√2 → −49.0 dBFS.
    expect(l!.value).toBeCloseTo(20 * Math.log10(0.005 / Math.SQRT2), 1);
    expect((await processRecording(wav16(tone(1, 16000, 0.05)))).warnings).toEqual([]);
  });
});
