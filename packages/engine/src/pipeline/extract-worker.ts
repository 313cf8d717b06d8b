/** Worker thread of `ExtractPool`: one single-thread front end, computing canvases and clip embeddings. */
import { parentPort } from 'node:worker_threads';
import { handleRequest, type PoolReply, type PoolRequest } from './extract.ts';
import { openRuntime } from './runtime.ts';

const port = parentPort;
if (!port) throw new Error('extract-worker.ts must run in a worker thread');
const rt = openRuntime();
// requests are handled one at a time, in arrival order
let chain: Promise<void> = Promise.resolve();
port.on('message', (req: PoolRequest) => {
  chain = chain.then(async () => {
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
