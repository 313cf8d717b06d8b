import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rms } from '../src/audio/levels.ts';
import { assignVoices } from '../src/pipeline/voices.ts';
import { deriveRng } from '../src/rng.ts';
import {
  assertSynthesisCounts,
  discoverProviders,
  disposeProviders,
  EspeakProvider,
  FestivalProvider,
  FliteProvider,
  lastSynthStats,
  listVoices,
  PiperProvider,
  phonemize,
  phonemizeMany,
  phraseVariants,
  piperPhonemeIds,
  randomProsody,
  SynthesisError,
  type SynthRequest,
  splitOnSilence,
  splitVoices,
  synthesizeMany,
} from '../src/synth/index.ts';
import type { SpeechProvider } from '../src/synth/types.ts';

const system = new EspeakProvider('espeak');
const wasm = new EspeakProvider('espeak-wasm');
afterAll(() => {
  system.dispose();
  wasm.dispose();
});
const hasSystem = await system.available();
const hasWasm = await wasm.available();
const hasFlite = await new FliteProvider().available();
const hasFestival = await new FestivalProvider().available();

/** Median F0 (Hz) over voiced 1024-sample frames, by autocorrelation (70–400 Hz). */
const f0 = (a: { samples: Float32Array; sampleRate: number }) => {
  const x = a.samples;
  const sr = a.sampleRate;
  const est: number[] = [];
  for (let s = 0; s + 1024 <= x.length; s += 512) {
    let e = 0;
    for (let i = s; i < s + 1024; i++) e += x[i]! ** 2;
    if (e / 1024 < 1e-3) continue;
    let best = 0;
    let lag = 0;
    for (let l = Math.floor(sr / 400); l < Math.floor(sr / 70); l++) {
      let c = 0;
      for (let i = s; i < s + 1024 - l; i++) c += x[i]! * x[i + l]!;
      if (c > best) {
        best = c;
        lag = l;
      }
    }
    est.push(sr / lag);
  }
  est.sort((p, q) => p - q);
  return est[est.length >> 1]!;
};

function reqs(voices: string[], n: number, seed: number): SynthRequest[] {
  const texts = ['hey viola', 'hey, viola!', 'computer?', 'turn on the kitchen lights', 'snowboy'];
  return Array.from({ length: n }, (_, i) => ({
    text: texts[i % texts.length],
    voice: voices[i % voices.length]!,
    ...randomProsody(deriveRng(seed, 'test-prosody', i)),
  }));
}

describe.each([
  ['espeak', system, hasSystem],
  ['espeak-wasm', wasm, hasWasm],
] as const)('%s provider', (_name, provider, ok) => {
  it.skipIf(!ok)('lists English voices without mbrola, grouped by accent', async () => {
    const voices = await provider.voices();
    expect(voices.length).toBeGreaterThanOrEqual(20);
    expect(voices.some((v) => /mb-|mbrola/.test(v.id))).toBe(false);
    expect(new Set(voices.map((v) => v.group)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(voices.map((v) => v.id)).size).toBe(voices.length);
  });

  it.skipIf(!ok)(
    'batches utterances per voice, splits them back into the right count, matching single calls',
    async () => {
      const voices = (await provider.voices()).map((v) => v.id);
      const batch = reqs([voices[0]!, voices[11]!, voices[23]!], 36, 1);
      batch.push({ phonemes: "h'eI vaI'oUl@", voice: voices[0]!, rate: 1, pitch: 1 });
      const before = provider.fallbacks;
      const out = await provider.synthesize(batch);
      expect(out).toHaveLength(batch.length);
      expect(out.every((a) => a !== null && a.samples.length > 0.2 * a.sampleRate)).toBe(true);
      // batching did not collapse pieces: every split piece is the length of the same utterance synthesised alone
      const alone = await provider.synthesizeBatch([batch[3]!]);
      const a = alone[0]!.samples.length;
      const b = out[3]!.samples.length;
      expect(Math.abs(a - b) / a).toBeLessThan(0.1);
      expect(provider.fallbacks - before).toBeLessThanOrEqual(1);
      // phoneme input gives the same length as the text it came from (same voice, same prosody)
      const [t] = await provider.synthesizeBatch([
        { text: 'hey viola', voice: voices[0]!, rate: 1, pitch: 1 },
      ]);
      expect(Math.abs(out[36]!.samples.length - t!.samples.length) / t!.samples.length).toBeLessThan(0.1);
    },
  );

  it.skipIf(!ok)("switches voices inside a mixed batch (each piece has its own voice's pitch)", async () => {
    const ids = (await provider.voices()).map((v) => v.id);
    const male = ids.find((v) => v.endsWith('en-us'))!;
    const female = ids.find((v) => v.endsWith('en-us+f2'))!;
    const batch: SynthRequest[] = [male, female, male, female].map((voice) => ({
      text: 'hello there my friend',
      voice,
      rate: 1,
      pitch: 1,
    }));
    const mixed = await provider.synthesize(batch);
    const [m1, fa1, m2, fa2] = mixed.map((a) => f0(a!));
    expect(fa1! / m1!).toBeGreaterThan(1.3);
    expect(fa2! / m2!).toBeGreaterThan(1.3);
    const [soloF] = await provider.synthesizeBatch([batch[1]!]);
    expect(Math.abs(f0(soloF!) / fa1! - 1)).toBeLessThan(0.1);
    // the system binary does it inside one SSML document; the WASM build ignores <voice>, so it batches per voice
    const oneDoc = (await provider.synthesizeBatch(batch)).map((a) => f0(a!));
    if (provider.mixesVoices) expect(oneDoc[1]! / oneDoc[0]!).toBeGreaterThan(1.3);
    else expect(Math.abs(oneDoc[1]! / oneDoc[0]! - 1)).toBeLessThan(0.1);
  });

  it.skipIf(!ok)('applies rate and pitch (pitch mapped so ±15 % moves F0 by roughly ±10–15 %)', async () => {
    const voice = `${provider.id}:en-us`;
    const p = await provider.synthesize(
      [0.85, 1, 1.15].map((pitch) => ({ text: 'hello there my friend', voice, rate: 1, pitch })),
    );
    const [lo, mid, hi] = p.map((a) => f0(a!));
    expect(hi! / mid!).toBeGreaterThan(1.08);
    expect(mid! / lo!).toBeGreaterThan(1.05);
    const r = await provider.synthesize(
      [0.85, 1.2].map((rate) => ({ text: 'hello there my friend', voice, rate, pitch: 1 })),
    );
    expect(r[0]!.samples.length / r[1]!.samples.length).toBeGreaterThan(1.15);
  });

  it.skipIf(!ok)('redoes a batch one by one when the piece count differs, keeping order', async () => {
    const voice = (await provider.voices())[0]!.id;
    const batch: SynthRequest[] = [
      { text: 'one', voice, rate: 1, pitch: 1 },
      { text: ' ', voice, rate: 1, pitch: 1 }, // produces no audio → one piece fewer
      { text: 'three hundred and thirty three', voice, rate: 1, pitch: 1 },
    ];
    const before = provider.fallbacks;
    const out = await provider.synthesizeBatch(batch);
    expect(provider.fallbacks).toBe(before + 1);
    expect(out[1]).toBeNull();
    expect(out[0]!.samples.length).toBeLessThan(out[2]!.samples.length / 2);
  });

  it.skipIf(!ok)('prints Kirshenbaum phonemes', async () => {
    expect(await provider.phonemes('hey viola')).toBe("h'eI vaI'oUl@");
    const lines = await provider.phonemeLines(['hey viola', 'turn it on, please', 'computer']);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe("h'eI vaI'oUl@");
  });
});

describe('splitOnSilence', () => {
  it('cuts at gaps ≥ 0.5 s only', () => {
    const sr = 16000;
    const x = new Float32Array(sr * 4);
    const tone = (a: number, b: number) => {
      for (let i = a; i < b; i++) x[i] = 0.3 * Math.sin(i / 5);
    };
    tone(1000, 5000);
    tone(8000, 12000); // 0.19 s gap: same piece
    tone(24000, 30000); // 0.75 s gap: new piece
    tone(40000, 41000);
    const p = splitOnSilence(x, sr);
    expect(p.map((q) => q.length)).toEqual(
      [11000, 6000, 1000].map((n) => p.find((q) => Math.abs(q.length - n) < 4)?.length),
    );
    expect(p).toHaveLength(3);
  });
});

describe('system and other providers', () => {
  it('discovers providers and never lists both espeak builds by default', async () => {
    const ps = await discoverProviders({ piperDir: '/nonexistent' });
    const ids = ps.map((p) => p.id);
    expect(ids.includes('espeak') && ids.includes('espeak-wasm')).toBe(false);
    expect(ids.some((i) => i.startsWith('espeak'))).toBe(hasSystem || hasWasm);
    expect(ids).not.toContain('piper');
    const voices = await listVoices(ps);
    expect(new Set(voices.map((v) => v.id)).size).toBe(voices.length);
    disposeProviders(ps);
  });

  const flite = new FliteProvider();
  it.skipIf(!hasFlite)('flite synthesises with rate and pitch', async () => {
    const voices = (await flite.voices()).map((v) => v.id);
    expect(voices).toContain('flite:slt');
    const out = await flite.synthesize([
      { text: 'hey viola', voice: 'flite:slt', rate: 0.85, pitch: 1 },
      { text: 'hey viola', voice: 'flite:slt', rate: 1.2, pitch: 1 },
      { phonemes: "h'eI", voice: 'flite:slt', rate: 1, pitch: 1 },
    ]);
    expect(out[0]!.samples.length).toBeGreaterThan(out[1]!.samples.length * 1.2);
    expect(out[2]).toBeNull(); // no phoneme input in flite
  });

  const festival = new FestivalProvider();
  it.skipIf(!hasFestival)(
    'festival synthesises a batch in one process',
    async () => {
      const voices = (await festival.voices()).map((v) => v.id);
      expect(voices.length).toBeGreaterThan(0);
      const out = await festival.synthesize([
        { text: 'hey viola', voice: voices[0]!, rate: 1, pitch: 1 },
        { text: 'say "hello", computer', voice: voices[0]!, rate: 0.9, pitch: 1.1 },
      ]);
      expect(out.every((a) => a !== null && rms(a.samples) > 0.01)).toBe(true);
      expect(festival.maxShare).toBe(0.1);
    },
    30_000,
  );

  it.skipIf(!hasFestival || !existsSync('/usr/share/festival/voices/us/cmu_us_slt_arctic_hts'))(
    'festival lists and speaks the HTS voice Debian installs under voices/us (festvox-us-slt-hts)',
    async () => {
      expect((await festival.voices()).map((v) => v.id)).toContain('festival:cmu_us_slt_arctic_hts');
      const [a] = await festival.synthesize([
        { text: 'hey viola', voice: 'festival:cmu_us_slt_arctic_hts', rate: 1, pitch: 1 },
      ]);
      expect(a?.sampleRate).toBeGreaterThan(0);
      expect(rms(a?.samples ?? new Float32Array(0))).toBeGreaterThan(0.01);
    },
    60_000,
  );

  it('piper is unavailable without voices and maps IPA to ids like Piper', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vw-piper-'));
    expect(await new PiperProvider(dir, system).available()).toBe(false);
    expect(await new PiperProvider(undefined, system).available()).toBe(false);
    // a config without its model file is not a voice
    await mkdir(path.join(dir, 'x'), { recursive: true });
    await writeFile(
      path.join(dir, 'a.onnx.json'),
      JSON.stringify({ audio: { sample_rate: 22050 }, phoneme_id_map: { _: [0] } }),
    );
    expect(await new PiperProvider(dir, system).voices()).toEqual([]);
    const map = { _: [0], '^': [1], $: [2], ' ': [3], h: [20], ˈ: [120], e: [18], ɪ: [74] };
    expect(piperPhonemeIds('hˈeɪ', map)).toEqual([1, 0, 20, 0, 120, 0, 18, 0, 74, 0, 2]);
  });
});

describe('synthesizeMany', () => {
  it.skipIf(!hasSystem && !hasWasm)(
    'synthesises at 16 kHz in order, caches, and reports failures as null',
    async () => {
      const ps = await discoverProviders({ only: hasSystem ? ['espeak'] : ['espeak-wasm'] });
      const voices = (await listVoices(ps)).map((v) => v.id);
      const cacheDir = await mkdtemp(path.join(tmpdir(), 'vw-synth-cache-'));
      const rs = reqs(voices.slice(0, 4), 24, 7);
      rs.push({ text: 'hello', voice: 'nosuch:voice', rate: 1, pitch: 1 });
      const progress: number[] = [];
      const a = await synthesizeMany(ps, rs, { cacheDir, onProgress: (d) => progress.push(d) });
      expect(a).toHaveLength(25);
      expect(a[24]).toBeNull();
      expect(a.slice(0, 24).every((x) => x !== null && x.length > 3000 && x.length < 48000)).toBe(true);
      expect(progress[progress.length - 1]).toBe(25);
      expect(lastSynthStats?.cached).toBe(0);
      const b = await synthesizeMany(ps, rs, { cacheDir });
      expect(lastSynthStats?.cached).toBe(24);
      for (let i = 0; i < 24; i++) expect(b[i]).toEqual(a[i]);
      // deterministic without the cache too (same requests → same samples)
      const c = await synthesizeMany(ps, rs);
      expect(lastSynthStats?.cached).toBe(0);
      for (let i = 0; i < 24; i++) expect(c[i]).toEqual(a[i]);
      expect(() => assertSynthesisCounts(rs, a)).toThrow(SynthesisError);
      try {
        assertSynthesisCounts(rs, a);
      } catch (e) {
        expect((e as SynthesisError).code).toBe('synthesis_unavailable');
        expect((e as SynthesisError).counts).toEqual({ produced: 24, requested: 25, voices: 4 });
      }
      expect(assertSynthesisCounts(rs, a, { minUtterances: 20, minVoices: 4 })).toEqual({
        produced: 24,
        voices: 4,
      });
      disposeProviders(ps);
    },
  );
});

describe('voices, variants, phonemes', () => {
  it('splits voices deterministically ≈ 80/20 keeping accents together', async () => {
    const voices = Array.from({ length: 200 }, (_, i) => ({
      id: `p:v${i}`,
      provider: 'p',
      group: `g${i % 50}`,
    }));
    const a = splitVoices(voices, 42);
    expect(splitVoices(voices, 42)).toEqual(a);
    expect(a.train.length + a.eval.length).toBe(200);
    const evalGroups = new Set(a.eval.map((v) => v.group));
    expect(a.train.some((v) => evalGroups.has(v.group))).toBe(false);
    expect(a.eval.length).toBeGreaterThanOrEqual(40);
    expect(a.eval.length).toBeLessThanOrEqual(48);
    // uneven groups (like espeak accents of 10 voices next to single flite voices) still give ≈ 20 % of voices
    const uneven = [
      ...Array.from({ length: 80 }, (_, i) => ({
        id: `espeak:a${i % 8}+v${i}`,
        provider: 'espeak',
        group: `espeak/a${i % 8}`,
      })),
      ...Array.from({ length: 7 }, (_, i) => ({ id: `flite:v${i}`, provider: 'flite' })),
    ];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const s = splitVoices(uneven, seed);
      expect(s.eval.length / uneven.length).toBeGreaterThan(0.12);
      expect(s.eval.length / uneven.length).toBeLessThan(0.3);
    }
    const other = splitVoices(voices, 43);
    expect(other.eval.map((v) => v.id)).not.toEqual(a.eval.map((v) => v.id));
    const two = splitVoices(
      [
        { id: 'a', provider: 'p' },
        { id: 'b', provider: 'p' },
      ],
      1,
    );
    expect(two.train).toHaveLength(1);
    expect(two.eval).toHaveLength(1);
  });

  it('splits within each provider: every synthesizer with two or more groups trains and evaluates', () => {
    const inventory = [
      ...Array.from({ length: 80 }, (_, i) => ({
        id: `espeak:a${i % 8}+v${i}`,
        provider: 'espeak',
        group: `espeak/a${i % 8}`,
      })),
      ...['kal', 'kal16', 'awb', 'rms', 'slt'].map((v) => ({ id: `flite:${v}`, provider: 'flite' })),
      ...['kal', 'ked', 'slt'].map((v) => ({ id: `festival:${v}`, provider: 'festival' })),
      { id: 'piper:one', provider: 'piper', group: 'piper/one' },
    ];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const s = splitVoices(inventory, seed);
      for (const provider of ['espeak', 'flite', 'festival']) {
        expect(s.train.some((v) => v.provider === provider)).toBe(true);
        expect(s.eval.some((v) => v.provider === provider)).toBe(true);
      }
      // flite: one voice of five evaluates; festival: one of three; a provider with one group trains
      expect(s.eval.filter((v) => v.provider === 'flite')).toHaveLength(1);
      expect(s.eval.filter((v) => v.provider === 'festival')).toHaveLength(1);
      expect(s.train.some((v) => v.provider === 'piper')).toBe(true);
      expect(s.eval.length / inventory.length).toBeGreaterThan(0.12);
      expect(s.eval.length / inventory.length).toBeLessThan(0.3);
    }
    // single-group providers only: the group first in hash order evaluates, so neither side is empty
    const singles = splitVoices(
      [
        { id: 'espeak-wasm:en', provider: 'espeak-wasm' },
        { id: 'flite:kal', provider: 'flite' },
      ],
      3,
    );
    expect(singles.train).toHaveLength(1);
    expect(singles.eval).toHaveLength(1);
  });

  it('keeps the split stable when voices are excluded', () => {
    const voices = Array.from({ length: 87 }, (_, i) => ({
      id: `p:v${i}`,
      provider: 'p',
      group: `g${i % 15}`,
    }));
    const full = splitVoices(voices, 9);
    const exclude = full.eval
      .slice(0, 3)
      .map((v) => v.id)
      .concat(full.train.slice(0, 5).map((v) => v.id));
    const ex = splitVoices(voices, 9, 0.2, { exclude });
    expect(ex.eval.map((v) => v.id)).toEqual(
      full.eval.map((v) => v.id).filter((id) => !exclude.includes(id)),
    );
    expect(ex.train.map((v) => v.id)).toEqual(
      full.train.map((v) => v.id).filter((id) => !exclude.includes(id)),
    );
  });

  it('builds phrase variants', () => {
    expect(phraseVariants('Hey  Viola')).toEqual([
      'Hey Viola',
      'Hey, Viola',
      'Hey Viola?',
      'Hey Viola!',
      'hey viola',
    ]);
    expect(phraseVariants('computer')).toEqual(['computer', 'computer?', 'computer!']);
  });

  it('draws prosody within the ranges of docs/engine.md §6.3', () => {
    for (let i = 0; i < 200; i++) {
      const p = randomProsody(deriveRng(3, 'prosody', i));
      expect(p.rate).toBeGreaterThanOrEqual(0.85);
      expect(p.rate).toBeLessThan(1.2);
      expect(Math.abs(p.pitch - 1)).toBeLessThanOrEqual(0.15);
    }
  });

  it.skipIf(!hasSystem && !hasWasm)('phonemizes single and many texts consistently', async () => {
    expect(await phonemize('hey viola')).toBe("h'eI vaI'oUl@");
    const texts = ['computer', 'hey jarvis', 'what time is it', 'alexa'];
    const many = await phonemizeMany(texts);
    expect(many).toEqual(await Promise.all(texts.map((t) => phonemize(t))));
  });
});

describe('piper provider (wiring through onnxruntime-node)', () => {
  /**
   * A Piper-shaped model: inputs `input` [1,n] int64, `input_lengths` [1], `scales` [3], optional `sid` [1]; output
   * [1,1,1,n] = ids × length_scale (+ sid), so the test sees exactly what the provider fed the model.
   */
  async function piperLikeModel(multiSpeaker: boolean): Promise<Uint8Array> {
    const { default: onnxProto } = await import('onnx-proto');
    const { onnx } = onnxProto;
    const F = onnx.TensorProto.DataType.FLOAT;
    const I64 = onnx.TensorProto.DataType.INT64;
    const vi = (name: string, elemType: number, dims: Array<number | string>) => ({
      name,
      type: {
        tensorType: {
          elemType,
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
    const nodes = [
      {
        opType: 'Cast',
        input: ['input'],
        output: ['idsf'],
        attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: F }],
      },
      {
        opType: 'Gather',
        input: ['scales', 'one'],
        output: ['ls'],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      },
      { opType: 'Mul', input: ['idsf', 'ls'], output: ['y'] },
      ...(multiSpeaker
        ? [
            {
              opType: 'Cast',
              input: ['sid'],
              output: ['sidf'],
              attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: F }],
            },
            { opType: 'Add', input: ['y', 'sidf'], output: ['y2'] },
          ]
        : []),
      { opType: 'Reshape', input: [multiSpeaker ? 'y2' : 'y', 'shape'], output: ['output'] },
    ];
    const model = {
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'piper_like',
        node: nodes,
        initializer: [
          { name: 'one', dims: [], dataType: I64, int64Data: [1] },
          { name: 'shape', dims: [4], dataType: I64, int64Data: [1, 1, 1, -1] },
        ],
        input: [
          vi('input', I64, [1, 'n']),
          vi('input_lengths', I64, [1]),
          vi('scales', F, [3]),
          ...(multiSpeaker ? [vi('sid', I64, [1])] : []),
        ],
        output: [vi('output', F, [1, 1, 1, 'n'])],
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }

  it.skipIf(!hasSystem && !hasWasm)(
    'lists every speaker, phonemises with espeak IPA and feeds ids, scales and sid',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'vw-piper-'));
      const map: Record<string, number[]> = {
        _: [0],
        '^': [1],
        $: [2],
        ' ': [3],
        h: [20],
        ˈ: [120],
        e: [18],
        ɪ: [74],
        v: [34],
        a: [14],
        ʊ: [100],
        l: [24],
        ə: [59],
        o: [27],
      };
      const config = (speakers: number) => ({
        audio: { sample_rate: 16000 },
        espeak: { voice: 'en-us' },
        inference: { noise_scale: 0.667, length_scale: 1, noise_w: 0.8 },
        phoneme_id_map: map,
        num_speakers: speakers,
      });
      await writeFile(path.join(dir, 'solo.onnx'), await piperLikeModel(false));
      await writeFile(path.join(dir, 'solo.onnx.json'), JSON.stringify(config(1)));
      await writeFile(path.join(dir, 'multi.onnx'), await piperLikeModel(true));
      await writeFile(path.join(dir, 'multi.onnx.json'), JSON.stringify(config(3)));
      const espeak = hasSystem ? system : wasm;
      const piper = new PiperProvider(dir, espeak);
      expect(await piper.available()).toBe(true);
      const voices = await piper.voices();
      expect(voices.map((v) => v.id)).toEqual([
        'piper:multi#0',
        'piper:multi#1',
        'piper:multi#2',
        'piper:solo',
      ]);
      expect(new Set(voices.map((v) => v.group))).toEqual(new Set(['piper/multi', 'piper/solo']));
      const out = await piper.synthesize([
        { text: 'hey viola', voice: 'piper:solo', rate: 2, pitch: 1 },
        { text: 'hey viola', voice: 'piper:multi#2', rate: 1, pitch: 1 },
        { phonemes: "h'eI", voice: 'piper:solo', rate: 1, pitch: 1 },
        { text: 'hey', voice: 'piper:nosuch', rate: 1, pitch: 1 },
      ]);
      const ids = piperPhonemeIds(await espeak.ipa('hey viola'), map);
      expect(ids.slice(0, 4)).toEqual([1, 0, 20, 0]); // ^ _ h _
      expect(ids.length).toBeGreaterThan(12);
      expect(out[0]!.sampleRate).toBe(16000);
      expect(Array.from(out[0]!.samples)).toEqual(ids.map((i) => i * 0.5)); // length_scale = 1 / rate
      expect(Array.from(out[1]!.samples)).toEqual(ids.map((i) => i + 2)); // speaker id 2
      expect(Array.from(out[2]!.samples)).toEqual(piperPhonemeIds(await espeak.ipa("[[h'eI]]"), map));
      expect(out[3]).toBeNull();
    },
  );
});

describe('ResamplePool', () => {
  it('gives exactly the main-thread resampler output from worker threads and leaves the input intact', async () => {
    const { resample } = await import('@violawake/detector');
    const { ResamplePool } = await import('../src/synth/index.ts');
    const pool = new ResamplePool(2);
    try {
      const r = deriveRng(1, 'pool', 0);
      const inputs = [22050, 16000, 11025, 48000].map((rate, k) => ({
        rate,
        x: Float32Array.from({ length: Math.round(rate / 2) + k * 37 }, () => 0.3 * r.normal()),
      }));
      const outs = await Promise.all(inputs.map(({ rate, x }) => pool.resample(x, rate, 16000)));
      inputs.forEach(({ rate, x }, k) => {
        expect(x.length).toBe(Math.round(rate / 2) + k * 37);
        expect(outs[k]).toEqual(rate === 16000 ? x : resample(x, rate, 16000));
      });
    } finally {
      await pool.dispose();
    }
  }, 30_000);
});

describe('voice assignment', () => {
  const inventory = [
    ...Array.from({ length: 64 }, (_, i) => ({ id: `espeak:v${i}`, provider: 'espeak' })),
    ...['kal16', 'rms', 'slt', 'awb'].map((v) => ({ id: `flite:${v}`, provider: 'flite' })),
    ...['kal', 'ked'].map((v) => ({ id: `festival:${v}`, provider: 'festival' })),
  ];
  const providers = [
    { id: 'espeak' },
    { id: 'flite' },
    { id: 'festival', maxShare: 0.1 },
  ] as unknown as SpeechProvider[];
  const shares = (vs: { provider: string }[]) => {
    const n: Record<string, number> = {};
    for (const v of vs) n[v.provider] = (n[v.provider] ?? 0) + 1;
    return Object.fromEntries(Object.entries(n).map(([k, c]) => [k, c / vs.length]));
  };

  it('draws voices uniformly, keeps festival within its 10 % share, and is seeded', () => {
    const a = assignVoices(inventory, providers, 4000, deriveRng(1, 'assign', 0));
    expect(assignVoices(inventory, providers, 4000, deriveRng(1, 'assign', 0))).toEqual(a);
    const s = shares(a);
    expect(s.espeak).toBeGreaterThan(0.88);
    expect(s.flite).toBeGreaterThan(0.04);
    expect(s.flite).toBeLessThan(0.08);
    expect(s.festival).toBeLessThanOrEqual(0.1);
  });

  it("with balance 'sqrt' gives each provider a share growing with the square root of its voice count", () => {
    const s = shares(
      assignVoices(inventory, providers, 4000, deriveRng(2, 'assign', 0), { balance: 'sqrt' }),
    );
    // weights √64 : √4 : √2 = 8 : 2 : 1.41 → 70 % / 18 % / 12 %, festival capped at 10 %
    expect(s.espeak).toBeGreaterThan(0.67);
    expect(s.espeak).toBeLessThan(0.76);
    expect(s.flite).toBeGreaterThan(0.15);
    expect(s.flite).toBeLessThan(0.21);
    expect(s.festival).toBeLessThanOrEqual(0.1);
    expect(s.festival).toBeGreaterThan(0.08);
  });
});
