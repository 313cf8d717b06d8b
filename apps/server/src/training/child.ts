/**
 * The training child process (docs/api.md §4.8): runs the engine pipeline for one job, away from the worker's event loop,
 * so the worker can kill it on cancel or timeout. It never touches the database: the job arrives over IPC, progress
 * and the result go back over IPC (advanced serialization, so model bytes travel as Uint8Array).
 *
 * `VIOLAWAKE_TRAINING_PIPELINE_MODULE` may name another module exporting `trainWakeWord` (the queue's fault tests
 * use a controllable pipeline; production always runs the engine's).
 */
import type { ChildJob, ChildMessage, PipelineModule } from './child-protocol.ts';

let aborter: AbortController | null = null;

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

/** Stop on SIGTERM, and when the worker is gone (its IPC channel closes: a SIGKILL leaves no one to send one). */
function stop(): void {
  aborter?.abort();
  setTimeout(() => process.exit(143), 200).unref();
}
process.on('SIGTERM', stop);
process.on('disconnect', stop);

process.on('message', async (msg: { type: 'start'; job: ChildJob }) => {
  if (msg?.type !== 'start') return;
  aborter = new AbortController();
  try {
    const modulePath = process.env.VIOLAWAKE_TRAINING_PIPELINE_MODULE || '@violawake/engine/pipeline/train';
    const mod = (await import(modulePath)) as PipelineModule;
    const result = await mod.trainWakeWord({
      ...msg.job,
      signal: aborter.signal,
      onProgress: (p) => {
        void send({ type: 'progress', progress: p });
      },
    });
    await send({
      type: 'result',
      result: {
        onnx: result.onnx,
        tflite: result.tflite ?? null,
        ...(result.tfliteError ? { tfliteError: result.tfliteError } : {}),
        manifest: result.manifest,
        scores: result.scores ?? { positive: [], negative: [] },
        evaluation: (result.evaluation as Record<string, unknown> | undefined) ?? null,
      },
    });
    process.exit(0);
  } catch (err) {
    const e = err as { code?: string; message?: string; details?: Record<string, unknown> };
    await send({
      type: 'error',
      code: typeof e.code === 'string' ? e.code : 'internal',
      message: e.message ?? String(err),
      details: e.details ?? null,
    });
    process.exit(0);
  }
});
