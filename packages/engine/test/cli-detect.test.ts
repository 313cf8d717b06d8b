import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openWakeWordModelPath } from '@violawake/detector/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWav16 } from '../src/audio/wav.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const dev = resolve(repoRoot, '../shared/data/picovoice-dev');
const main = join(repoRoot, 'packages/engine/src/cli/main.ts');
const tsx = join(repoRoot, 'node_modules/.bin/tsx');
// non-commercial pretrained head: a test fixture only, never shipped
const jarvis = openWakeWordModelPath('hey_jarvis_v0.1.onnx');

function cli(...args: string[]) {
  const r = spawnSync(tsx, [main, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
let heyJarvis: string;
const computer = readdirSync(join(dev, 'computer'))
  .sort()
  .slice(0, 2)
  .map((f) => join(dev, 'computer', f));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vw-detect-'));
  heyJarvis = join(dir, 'hey-jarvis.wav');
  // a synthesized "hey jarvis" at 22,050 Hz (espeak-ng on PATH, as the benchmark setup installs it)
  const r = spawnSync('espeak-ng', ['-w', heyJarvis, 'hey jarvis'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`espeak-ng is needed for this fixture: ${r.stderr}`);
  writeFileSync(join(dir, 'bad.wav'), 'not a wav file');
  // 3 s of digital silence
  writeFileSync(join(dir, 'silence.wav'), writeWav16(new Float32Array(48000), 16000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('violawake detect', () => {
  it('detects a synthesized "hey jarvis" and nothing in real "computer" clips or silence', () => {
    const r = cli('detect', '--model', jarvis, '--json', heyJarvis, ...computer, join(dir, 'silence.wav'));
    expect(r.code, r.err).toBe(0);
    const { detections } = JSON.parse(r.out) as {
      detections: { file: string; t: number; model: string; score: number }[];
    };
    expect(detections.length).toBe(1);
    const d = detections[0];
    expect(d.file).toBe(heyJarvis);
    expect(d.model).toBe('hey_jarvis_v0.1');
    expect(d.score).toBeGreaterThanOrEqual(0.5);
    // within the clip (the word ends ≈ 0.8 s into the file)
    expect(d.t).toBeGreaterThan(0.2);
    expect(d.t).toBeLessThan(2.0);
  });

  it('prints one text line per detection and honours --threshold', () => {
    const r = cli('detect', '--model', jarvis, '--threshold', '0.5', heyJarvis);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.length).toBe(1);
    const [file, t, model, score] = lines[0].split('\t');
    expect([file, model]).toEqual([heyJarvis, 'hey_jarvis_v0.1']);
    expect(Number(t)).toBeGreaterThan(0);
    expect(Number(score)).toBeGreaterThanOrEqual(0.5);
    // the threshold 1 cannot be reached by this clip: no detection
    const none = cli('detect', '--model', jarvis, '--threshold', '1', heyJarvis);
    expect(none.code).toBe(0);
    expect(none.out.trim()).toBe('');
  });

  it('exit codes: 1 for usage errors, 2 for unreadable input', () => {
    expect(cli('detect', heyJarvis).code).toBe(1);
    expect(cli('detect', '--model', jarvis).code).toBe(1);
    expect(cli('detect', '--model', jarvis, '--threshold', 'abc', heyJarvis).code).toBe(1);
    expect(cli('detect', '--model', jarvis, '--bogus', heyJarvis).code).toBe(1);
    const bad = cli('detect', '--model', jarvis, join(dir, 'bad.wav'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/not a readable WAV/);
    expect(cli('detect', '--model', join(dir, 'missing.onnx'), heyJarvis).code).toBe(2);
    expect(cli('detect', '--model', join(dir, 'bad.wav'), heyJarvis).code).toBe(2);
  });
});
