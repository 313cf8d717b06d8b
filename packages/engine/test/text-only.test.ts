/**
 * Text-only training (docs/engine.md §6.1): no user recordings, ≈ 600 synthetic positives (scaled), evaluation positives
 * from eval voices only, and the manifest says so. Kept fast: small bank, reduced synthesis volume, few epochs.
 *
 * The bank and the synthesis cache live in `<os tmpdir>/violawake-test-engine-cache-textonly` so that reruns are quick.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateManifest } from '../src/artifacts/manifest.ts';
import { type Progress, type TrainResult, trainWakeWord } from '../src/pipeline/train.ts';
import { expectOpenWakeWordIO, PIPELINE_STAGES } from './oww-contract.ts';

const dataDir = join(tmpdir(), 'violawake-test-engine-cache-textonly');
const synthScale = 0.15;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let result: TrainResult;
const progress: Progress[] = [];

beforeAll(async () => {
  result = await trainWakeWord({
    wakeWord: 'hey viola',
    textOnly: true,
    dataDir,
    seed: 3,
    bankScale: 0.02,
    synthScale,
    maxEpochs: 8,
    now: () => new Date('2026-11-27T06:00:00Z'),
    onProgress: (p) => progress.push(p),
  });
}, 600_000);

describe('trainWakeWord text-only (no user clips, small bank)', () => {
  it('runs every stage and reports no user recordings', () => {
    expect([...new Set(progress.map((p) => p.stage))]).toEqual(PIPELINE_STAGES);
    expect(progress.find((p) => p.message === 'Loaded 0 recordings.')).toBeDefined();
    expect(progress.at(-1)!.progress).toBe(100);
  });

  it('records text_only in the manifest and counts no user clips', () => {
    const m = result.manifest;
    expect(validateManifest(JSON.parse(JSON.stringify(m)))).toEqual([]);
    expect(m.wake_word).toBe('hey viola');
    expect(m.model_sha256).toBe(sha(result.onnx));
    expect(m.evaluation?.text_only).toBe(true);
    expect(result.evaluation.text_only).toBe(true);
    expect(m.training.n_user_clips).toBe(0);
    // the word as spelled: espeak-ng's reading of it is what the positives said
    expect(m.training.pronunciation).toEqual({
      source: 'spelling',
      sounds_like: null,
      phonemes: expect.stringMatching(/v/),
    });
    expect(m.evaluation?.user_clips_held_out).toBe(0);
    expect(m.evaluation?.miss_rate_by_source.user).toBeNull();
    // text-only doubles the synthetic positives (600 vs 300 at scale 1)
    expect(m.training.n_synth_positives).toBeGreaterThan(Math.round(300 * synthScale));
    expect(m.training.n_synth_positives).toBeLessThanOrEqual(Math.round(600 * synthScale));
    // evaluation positives are the eval-voice synthetic utterances only
    expect(m.evaluation?.n_positive_clips).toBeGreaterThan(0);
    expect(m.evaluation?.n_positive_clips).toBeLessThanOrEqual(Math.max(10, Math.round(120 * synthScale)));
    expect(m.evaluation?.miss_rate_by_source.synthetic).not.toBeNull();
    expect(m.evaluation?.voices.eval).toBeGreaterThan(0);
    expect(['A', 'B', 'C', 'D']).toContain(m.metrics.quality_grade);
    expect(result.metrics.quality_grade).toBe(m.metrics.quality_grade);
  });

  it('exports an ONNX head with the openWakeWord input/output contract', async () => {
    const s = await expectOpenWakeWordIO(result.onnx);
    try {
      const out = await s.run({
        embeddings: new ort.Tensor('float32', new Float32Array(2 * 16 * 96), [2, 16, 96]),
      });
      const score = out.score as ort.Tensor;
      expect(score.dims).toEqual([2, 1]);
      for (const v of score.data as Float32Array) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    } finally {
      await s.release();
    }
  });
});
