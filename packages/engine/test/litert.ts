/**
 * LiteRT.js (Google's TFLite runtime compiled to WebAssembly, npm `@litertjs/core`) in plain Node, for the TFLite
 * export tests. The package targets browsers and workers: its loader runs the Emscripten glue with `importScripts`
 * when that exists, and the glue itself supports Node (it reads the .wasm from node_modules with `fs`). So the test
 * defines `self` and an `importScripts` that runs the glue file from disk as a CommonJS module and publishes its
 * `ModuleFactory`; nothing is fetched from the network. CPU (XNNPACK) execution only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

type LiteRt = typeof import('@litertjs/core');
let loading: Promise<LiteRt> | null = null;

export function loadLiteRtNode(): Promise<LiteRt> {
  loading ??= (async () => {
    const req = createRequire(import.meta.url);
    const wasmDir = path.join(path.dirname(req.resolve('@litertjs/core')), '..', 'wasm');
    const g = globalThis as Record<string, unknown>;
    g.self ??= globalThis;
    g.importScripts ??= (url: string) => {
      const file = url.startsWith('file:') ? fileURLToPath(url) : url;
      const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
      const module = { exports: {} as unknown };
      vm.runInThisContext(wrapped, { filename: file })(module.exports, req, module, file, path.dirname(file));
      g.ModuleFactory = module.exports;
    };
    const lib = await import('@litertjs/core');
    await lib.loadLiteRt(`${wasmDir}/`);
    return lib;
  })();
  return loading;
}

/** Scores of `count` windows (16 × 96 each) through a TFLite model, one window per invocation ([1, 16, 96]). */
export async function runTflite(
  bytes: Uint8Array,
  windows: Float32Array,
  count: number,
): Promise<Float32Array> {
  const lib = await loadLiteRtNode();
  const model = await lib.loadAndCompile(bytes, { accelerator: 'wasm' });
  const out = new Float32Array(count);
  try {
    const inputs = model.getInputDetails();
    const outputs = model.getOutputDetails();
    if (inputs.length !== 1 || outputs.length !== 1) throw new Error('expected one input and one output');
    for (let i = 0; i < count; i++) {
      const x = new lib.Tensor(windows.slice(i * 1536, (i + 1) * 1536), [1, 16, 96]);
      const [y] = await model.run([x]);
      x.delete();
      if (!y) throw new Error('no output');
      const data = y.toTypedArray() as Float32Array;
      if (data.length !== 1) throw new Error(`output has ${data.length} values`);
      out[i] = data[0] as number;
      y.delete();
    }
  } finally {
    model.delete();
  }
  return out;
}
