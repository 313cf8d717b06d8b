/**
 * "Use it" snippets (docs/formats.md): the one place that writes the code a person pastes to run a model in
 * openWakeWord (ONNX or TFLite), Home Assistant, Node and the browser. The console's model page and the bundle's
 * README both render these. Pure string building, no imports: the browser console bundles this file.
 *
 * Every snippet names the model's files by its one name (`<name>.onnx`, `<name>.tflite`, `<name>.json`, the name
 * openWakeWord and Home Assistant show), as downloaded or unzipped from the bundle. The Node and browser snippets are
 * executed as written by packages/detector/test/package.test.ts against the packed npm package.
 */

export interface SnippetModel {
  /** The model's one name: file stem of every download and the openWakeWord model key. */
  name: string;
  /** The wake word as the person typed it (normalised). */
  wakeWord: string;
  /** The calibrated threshold of the manifest. */
  threshold: number;
  /** Whether the model has a TFLite file; when false, the reason (or null when unknown). */
  tflite: true | { reason: string | null };
}

export type SnippetId = 'python-onnx' | 'python-tflite' | 'home-assistant' | 'node' | 'browser';

export interface Snippet {
  id: SnippetId;
  /** Tab label on the model page, heading in the README. */
  label: string;
  /** Fenced-code language. */
  language: 'python' | 'text' | 'js';
  code: string;
}

export const SNIPPET_IDS: readonly SnippetId[] = [
  'python-onnx',
  'python-tflite',
  'home-assistant',
  'node',
  'browser',
];

/** The version of @violawake/detector the Node and browser snippets install. */
export const DETECTOR_PACKAGE = '@violawake/detector@^0.2.0';
/** onnxruntime 1.30 is the version the detector is built and tested against. */
const ORT_RANGE = '~1.30.0';

const fmt = (t: number) => (Math.round(t * 100) / 100).toFixed(2);
/** A JavaScript / Python string literal (single quotes for JS, double for Python). */
const js = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const py = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function pythonMic(m: SnippetModel): string {
  return `# Microphone: pip install pyaudio
mic = pyaudio.PyAudio().open(format=pyaudio.paInt16, channels=1, rate=16000, input=True, frames_per_buffer=1280)
while True:
    frame = np.frombuffer(mic.read(1280), dtype=np.int16)  # 80 ms of 16 kHz mono int16
    if model.predict(frame)[${py(m.name)}] >= ${fmt(m.threshold)}:
        print(${py(`${m.wakeWord} detected`)})`;
}

function pythonOnnx(m: SnippetModel): string {
  return `# pip install openwakeword onnxruntime
# Files from the bundle: ${m.name}.onnx, melspectrogram.onnx, embedding_model.onnx
import numpy as np
import pyaudio
from openwakeword.model import Model

model = Model(
    wakeword_models=[${py(`${m.name}.onnx`)}],
    inference_framework="onnx",
    melspec_model_path="melspectrogram.onnx",
    embedding_model_path="embedding_model.onnx",
)
${pythonMic(m)}`;
}

function pythonTflite(m: SnippetModel): string {
  if (m.tflite !== true) return noTflite(m, '#');
  return `# pip install openwakeword tflite-runtime
# File: ${m.name}.tflite (download "Model (.tflite)" or take it from the bundle)
import numpy as np
import openwakeword
import pyaudio
from openwakeword.model import Model

openwakeword.utils.download_models()  # once: openWakeWord's own .tflite front end (needs the network)
model = Model(wakeword_models=[${py(`${m.name}.tflite`)}], inference_framework="tflite")
${pythonMic(m)}`;
}

function noTflite(m: SnippetModel, comment: string): string {
  const reason = m.tflite === true ? '' : m.tflite.reason ? `: ${m.tflite.reason}` : '';
  return `${comment} This model has no TFLite file${reason}.
${comment} Home Assistant and openWakeWord's tflite framework need one; use ${m.name}.onnx with
${comment} openWakeWord's onnx framework, or train the model again.`;
}

function homeAssistant(m: SnippetModel): string {
  if (m.tflite !== true) return noTflite(m, '#');
  return `# Home Assistant: the Wyoming openWakeWord add-on loads custom wake words as .tflite files.
# 1. Download ${m.name}.tflite ("Model (.tflite)", or take it from the bundle).
# 2. Copy it into the folder /share/openwakeword on the Home Assistant host,
#    for example through the Samba share add-on (share/openwakeword/${m.name}.tflite).
# 3. Settings → Add-ons → openWakeWord → Restart, so that the add-on finds the new file.
# 4. Settings → Voice assistants → your assistant → Wake word: choose "${m.name}".
# The add-on's own threshold applies (its Configuration tab); this model was calibrated at ${fmt(m.threshold)}.`;
}

function node(m: SnippetModel): string {
  return `// npm install ${DETECTOR_PACKAGE} onnxruntime-node@${ORT_RANGE}
// Files: ${m.name}.onnx and ${m.name}.json in this folder. Save as detect.mjs, then on Linux:
//   arecord -q -r 16000 -c 1 -f S16_LE -t raw | node detect.mjs
// (any 16 kHz mono signed 16-bit little-endian PCM on stdin works: sox, ffmpeg, a file)
import { readFileSync } from 'node:fs';
import { createNodeDetector } from '@violawake/detector/node';

const detector = await createNodeDetector({
  heads: [
    {
      name: ${js(m.name)},
      model: ${js(`${m.name}.onnx`)},
      manifest: JSON.parse(readFileSync(${js(`${m.name}.json`)}, 'utf8')), // threshold ${fmt(m.threshold)}
    },
  ],
});
detector.on('detection', (d) =>
  console.log(\`\${d.name} at \${d.t.toFixed(2)} s (score \${d.score.toFixed(2)})\`),
);

let rest = Buffer.alloc(0);
for await (const data of process.stdin) {
  const bytes = Buffer.concat([rest, data]);
  const n = bytes.length >> 1;
  rest = bytes.subarray(2 * n);
  await detector.push(Int16Array.from({ length: n }, (_, i) => bytes.readInt16LE(2 * i)));
}
await detector.dispose();`;
}

function browser(m: SnippetModel): string {
  return `// npm install ${DETECTOR_PACKAGE} onnxruntime-web@${ORT_RANGE}   (bundled with Vite)
// Serve next to the page, from the bundle: ${m.name}.onnx, ${m.name}.json, melspectrogram.onnx, embedding_model.onnx
import { createDetector } from '@violawake/detector';
import * as ort from 'onnxruntime-web/wasm';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url'; // Vite serves the .wasm itself

ort.env.wasm.wasmPaths = { wasm: new URL(ortWasm, location.href).href };
ort.env.wasm.numThreads = 1; // no cross-origin isolation needed
const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());

async function start() {
  const context = new AudioContext();
  const detector = await createDetector({
    ort,
    frontend: { mel: await bytes('melspectrogram.onnx'), embedding: await bytes('embedding_model.onnx') },
    heads: [
      {
        name: ${js(m.name)},
        model: await bytes(${js(`${m.name}.onnx`)}),
        manifest: await (await fetch(${js(`${m.name}.json`)})).json(),
      },
    ],
    inputSampleRate: context.sampleRate,
  });
  detector.on('detection', (d) =>
    console.log(\`\${d.name} at \${d.t.toFixed(2)} s (score \${d.score.toFixed(2)})\`),
  );
  // an AudioWorklet that posts the microphone's samples to this page
  const worklet = \`registerProcessor('mic', class extends AudioWorkletProcessor {
    process(inputs) { if (inputs[0][0]) this.port.postMessage(inputs[0][0].slice()); return true; }
  });\`;
  await context.audioWorklet.addModule(URL.createObjectURL(new Blob([worklet], { type: 'text/javascript' })));
  const mic = new AudioWorkletNode(context, 'mic');
  let queue = Promise.resolve();
  mic.port.onmessage = (e) => (queue = queue.then(() => detector.push(e.data)));
  // the raw microphone: no echo cancellation, noise suppression or gain control
  const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  const stream = await navigator.mediaDevices.getUserMedia({ audio });
  context.createMediaStreamSource(stream).connect(mic);
  await context.resume();
}
// browsers start audio after a user gesture: click the page to start listening
document.addEventListener('click', () => start().catch(console.error), { once: true });`;
}

/** The five snippets of one model, in tab order. */
export function usageSnippets(m: SnippetModel): Snippet[] {
  return [
    { id: 'python-onnx', label: 'Python (ONNX)', language: 'python', code: pythonOnnx(m) },
    { id: 'python-tflite', label: 'Python (TFLite)', language: 'python', code: pythonTflite(m) },
    { id: 'home-assistant', label: 'Home Assistant', language: 'text', code: homeAssistant(m) },
    { id: 'node', label: 'Node.js', language: 'js', code: node(m) },
    { id: 'browser', label: 'Browser', language: 'js', code: browser(m) },
  ];
}

/** One snippet by id. */
export function usageSnippet(m: SnippetModel, id: SnippetId): Snippet {
  return usageSnippets(m).find((s) => s.id === id) as Snippet;
}

/** The snippets as Markdown sections (the bundle README's "Use it"), `level` = heading depth. */
export function snippetsMarkdown(m: SnippetModel, level = 2): string {
  const h = '#'.repeat(level);
  return usageSnippets(m)
    .map((s) => `${h} ${s.label}\n\n\`\`\`${s.language}\n${s.code}\n\`\`\`\n`)
    .join('\n');
}
