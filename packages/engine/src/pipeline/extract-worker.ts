/** Worker thread of `ExtractPool`: one single-thread front end, computing canvases and clip embeddings. */
import { parentPort } from 'node:worker_threads';
import { handleRequest, type PoolReply, type PoolRequest, type PoolStop } from './extract.ts';
import { openRuntime } from './runtime.ts';

const port = parentPort;
if (!port) throw new Error('extract-worker.ts must run in a worker thread');
const rt = openRuntime();
// requests are handled one at a time, in arrival order; after 'stop' the rest are dropped and the thread ends once
// the request in progress is done (terminating a thread inside an onnxruntime call can abort the whole process)
let chain: Promise<void> = Promise.resolve();
let stopping = false;
port.on('message', (req: PoolRequest | PoolStop) => {
  if (req.type === 'stop') {
    stopping = true;
    chain = chain.then(() => port.close());
    return;
  }
  chain = chain.then(async () => {
    if (stopping) return;
    let reply: PoolReply;
    try {
      reply = await handleRequest(await rt, req);
    } catch (err) {
      reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
    }
    const out = reply.error === undefined ? (reply.canvas?.rows ?? reply.embedding) : undefined;
    port.postMessage(reply, out ? [out.buffer as ArrayBuffer] : []);
  });
});
