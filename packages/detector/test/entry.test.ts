/** The main entry runs in the browser (bundled by Vite): its module graph must not reach Node built-ins. */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as main from '../src/index.ts';
import * as nodeEntry from '../src/node.ts';
import { packageRoot } from './helpers/paths.ts';

function importGraph(entry: string): { files: string[]; external: string[] } {
  const seen = new Set<string>();
  const external = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(
      /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    )) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec));
      else external.add(spec);
    }
  }
  return { files: [...seen], external: [...external] };
}

describe('package entries', () => {
  it('the main entry imports no Node built-ins and no onnxruntime package', () => {
    const { files, external } = importGraph(join(packageRoot, 'src', 'index.ts'));
    expect(files.length).toBeGreaterThan(8);
    const builtins = new Set(builtinModules);
    const bad = external.filter(
      (s) => s.startsWith('node:') || builtins.has(s.split('/')[0]) || s.startsWith('onnxruntime'),
    );
    expect(bad).toEqual([]);
    expect(files.some((f) => f.endsWith('node.ts'))).toBe(false);
  });

  it('the node entry adds file loading and onnxruntime-node', () => {
    const { external } = importGraph(join(packageRoot, 'src', 'node.ts'));
    expect(external).toContain('onnxruntime-node');
    expect(external).toContain('node:fs/promises');
  });

  it('exports the names other packages code against', () => {
    for (const name of [
      'resample',
      'StreamingResampler',
      'toInt16Magnitudes',
      'createFrontend',
      'loadHead',
      'detectFirings',
      'RuleState',
      'createDetector',
      'FrontendMismatchError',
      'normalizeWakeWord',
    ]) {
      expect(typeof (main as Record<string, unknown>)[name], name).toBe('function');
    }
    for (const name of [
      'loadFrontendModels',
      'loadVadModel',
      'openWakeWordModelPath',
      'createNodeDetector',
      'createNodeFrontend',
    ]) {
      expect(typeof (nodeEntry as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
