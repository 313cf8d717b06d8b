// eSpeak NG (npm WebAssembly build, GPL-3.0-or-later) host program.
//
// This file is a SEPARATE PROGRAM: the engine starts it with `node espeak-child.mjs` and talks to it over
// stdin/stdout (one JSON object per line). It is never imported by the project's own modules, so the GPL code
// never runs inside the server, worker or detector process (docs/engine.md §14).
//
// Request:  {"id": 1, "args": ["-m", "-v", "en-us", "-w", "/out.wav", "<speak>…</speak>"], "wav": true}
// Response: {"id": 1, "ok": true, "wav": "<base64>", "stdout": "…"}  or  {"id": 1, "ok": false, "error": "…"}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const entry = require.resolve('espeak-ng');
const { default: ESpeakNg } = await import(entry);
const wasmPath = entry.replace(/espeak-ng\.js$/, 'espeak-ng.wasm');
const compiled = await WebAssembly.compile(readFileSync(wasmPath));

async function run(args, wantWav) {
  const out = [];
  const inst = await ESpeakNg({
    arguments: args,
    print: (s) => out.push(s),
    printErr: () => {},
    instantiateWasm: (imports, done) => {
      WebAssembly.instantiate(compiled, imports).then((i) => done(i));
      return {};
    },
  });
  let wav;
  if (wantWav) wav = Buffer.from(inst.FS.readFile('/out.wav')).toString('base64');
  return { stdout: out.join('\n'), wav };
}

const send = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
send({ id: 0, ok: true, ready: true });
const rl = createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  chain = chain.then(async () => {
    let req;
    try {
      req = JSON.parse(line);
      const r = await run(req.args, Boolean(req.wav));
      send({ id: req.id, ok: true, ...r });
    } catch (err) {
      send({ id: req?.id ?? -1, ok: false, error: String(err?.message ?? err) });
    }
  });
});
rl.on('close', () => {
  chain.then(() => process.exit(0));
});
