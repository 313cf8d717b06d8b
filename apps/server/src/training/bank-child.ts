/**
 * The background bank build's child process (training/bank-build.ts): builds the negative bank with the options a
 * default training job uses, away from the worker's event loop. Progress and the outcome go back over IPC.
 */
import { ensureBank } from '@violawake/engine/bank/build';
import type { BankChildMessage, BankChildStart } from './bank-build.ts';

const aborter = new AbortController();
process.on('SIGTERM', () => {
  aborter.abort();
  setTimeout(() => process.exit(143), 200).unref();
});

function send(msg: BankChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

process.on('message', async (msg: BankChildStart) => {
  if (msg?.type !== 'start') return;
  try {
    const bank = await ensureBank({
      dataDir: msg.dataDir,
      scale: msg.scale,
      signal: aborter.signal,
      onBuild: (p) => void send({ type: 'progress', done: p.done, total: p.total, etaSeconds: p.etaSeconds }),
    });
    await send({ type: 'ready', built: bank.built, buildSeconds: bank.buildSeconds });
  } catch (err) {
    const e = err as { name?: string; message?: string };
    await send({ type: 'failed', error: e.message ?? String(err), aborted: aborter.signal.aborted });
  }
  process.exit(0);
});
