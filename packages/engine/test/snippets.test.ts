/**
 * The "Use it" snippets (artifacts/snippets.ts). The Node and browser snippets are executed against the packed
 * @violawake/detector in packages/detector/test/package.test.ts; openWakeWord (Python) cannot be installed offline
 * here, so the Python snippets are parsed by python3 (`ast`) and checked for the files and keys they use.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildManifest } from '../src/artifacts/manifest.ts';
import { bundleReadme } from '../src/artifacts/readme.ts';
import {
  type SnippetModel,
  snippetsMarkdown,
  usageSnippet,
  usageSnippets,
} from '../src/artifacts/snippets.ts';

const model: SnippetModel = { name: 'hey-viola', wakeWord: 'hey viola', threshold: 0.615, tflite: true };

function pythonParses(code: string): { ok: boolean; err: string } {
  const r = spawnSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], {
    input: code,
    encoding: 'utf8',
  });
  return { ok: r.status === 0, err: r.stderr };
}

describe('usage snippets', () => {
  it('come in one fixed order with labels', () => {
    expect(usageSnippets(model).map((s) => [s.id, s.label])).toEqual([
      ['python-onnx', 'Python (ONNX)'],
      ['python-tflite', 'Python (TFLite)'],
      ['home-assistant', 'Home Assistant'],
      ['node', 'Node.js'],
      ['browser', 'Browser'],
    ]);
  });

  it('Python: valid Python that loads the files by the model name and reads its openWakeWord key', () => {
    const onnx = usageSnippet(model, 'python-onnx').code;
    const tflite = usageSnippet(model, 'python-tflite').code;
    for (const code of [onnx, tflite]) {
      const r = pythonParses(code);
      expect(r.ok, r.err).toBe(true);
      expect(code).toContain('model.predict(frame)["hey-viola"] >= 0.62');
    }
    expect(onnx).toContain('wakeword_models=["hey-viola.onnx"]');
    expect(onnx).toContain('inference_framework="onnx"');
    expect(onnx).toContain('melspec_model_path="melspectrogram.onnx"');
    expect(tflite).toContain('wakeword_models=["hey-viola.tflite"], inference_framework="tflite"');
  });

  it('Home Assistant: the .tflite file in /share/openwakeword, selected by the model name', () => {
    const ha = usageSnippet(model, 'home-assistant').code;
    expect(ha).toContain('hey-viola.tflite');
    expect(ha).toContain('/share/openwakeword');
    expect(ha).toContain('Wake word: choose "hey-viola"');
    expect(ha).not.toContain('.onnx');
  });

  it('without a TFLite file, the TFLite and Home Assistant snippets say why instead', () => {
    const none = { ...model, tflite: { reason: 'the head has an unsupported operator' } };
    for (const id of ['python-tflite', 'home-assistant'] as const) {
      const code = usageSnippet(none, id).code;
      expect(code).toContain('This model has no TFLite file: the head has an unsupported operator.');
      expect(code).not.toContain('hey-viola.tflite');
      expect(pythonParses(code).ok).toBe(true); // comments only
    }
  });

  it('quote names safely in JavaScript and Python strings', () => {
    const odd = { ...model, name: "it's", wakeWord: 'say "it\'s"' };
    expect(usageSnippet(odd, 'node').code).toContain("name: 'it\\'s'");
    const r = pythonParses(usageSnippet(odd, 'python-onnx').code);
    expect(r.ok, r.err).toBe(true);
  });

  it('are the bundle README\'s "Use it" sections', () => {
    const manifest = buildManifest({
      name: 'hey-viola',
      wakeWord: 'hey viola',
      createdAt: '2026-12-07T10:00:00Z',
      engineVersion: '0.1.0',
      modelSha256: 'a'.repeat(64),
      melSha256: 'b'.repeat(64),
      embeddingSha256: 'c'.repeat(64),
      threshold: 0.615,
      metrics: {
        d_prime: 4,
        eer: 0.05,
        auc: 0.98,
        miss_rate_at_target: 0.1,
        target_fa_per_hour: 0.5,
        fa_per_hour_at_threshold: 0.4,
        quality_grade: 'C',
      },
      training: {
        n_user_clips: 10,
        n_synth_positives: 100,
        n_negatives: 1000,
        negatives_hours: 1,
        epochs: 10,
        best_epoch: 8,
        duration_s: 20,
        seed: 1,
        architecture: 'mlp',
        params: 1000,
      },
    });
    const readme = bundleReadme('hey-viola', manifest, { tflite: true });
    expect(readme).toContain(snippetsMarkdown(model, 3));
    const without = bundleReadme('hey-viola', manifest, { tflite: false });
    expect(without).toContain('This model has no TFLite file.');
  });
});
