/**
 * The background bank build's child process (training/bank-build.ts): builds the negative bank with the options a
 * default training job uses, then the held-out bank a job uses (real recordings, the held-out engine; as
 * `violawake bank build` does), away from the worker's event loop. Progress and the outcome go back over IPC.
 */
import { DEFAULT_HELDOUT_ENGINE, ensureBank } from '@violawake/engine/bank/build';
import { ensureHeldoutBank, installedRealAudio } from '@violawake/engine/bank/heldout';
import { discoverProviders, disposeProviders } from '@violawake/engine/synth/index';
import type { BankChildMessage, BankChildStart } from './bank-build.ts';

const aborter = new AbortController();
/** Stop on SIGTERM, and when the worker is gone (its IPC channel closes), so no orphan holds the bank's build lock. */
function stop(): void {
  aborter.abort();
  setTimeout(() => process.exit(143), 200).unref();
}
process.on('SIGTERM', stop);
process.on('disconnect', stop);

function send(msg: BankChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

process.on('message', async (msg: BankChildStart) => {
  if (msg?.type !== 'start') return;
  let bankTotal = 0;
  try {
    const bank = await ensureBank({
      dataDir: msg.dataDir,
      scale: msg.scale,
      signal: aborter.signal,
      onBuild: (p) => {
        bankTotal = p.total;
        void send({ type: 'progress', done: p.done, total: p.total + 1, etaSeconds: p.etaSeconds });
      },
    });
    // the held-out bank, counted as one last block (its build reports no blocks)
    const providers = await discoverProviders();
    try {
      const engine = providers.find((x) => x.id === DEFAULT_HELDOUT_ENGINE);
      const voices = engine ? await engine.voices() : [];
      const realAudio = await installedRealAudio();
      if (voices.length > 0 || realAudio.speech.length + realAudio.music.length > 0) {
        const last = { done: bankTotal, total: bankTotal + 1, etaSeconds: null };
        await ensureHeldoutBank({
          dataDir: msg.dataDir,
          scale: msg.scale,
          realAudio,
          engine: engine && voices.length > 0 ? { provider: engine, voices } : null,
          providers,
          signal: aborter.signal,
          onProgress: () => void send({ type: 'progress', ...last }),
        });
      }
    } finally {
      disposeProviders(providers);
    }
    await send({ type: 'ready', built: bank.built, buildSeconds: bank.buildSeconds });
  } catch (err) {
    const e = err as { name?: string; message?: string };
    await send({ type: 'failed', error: e.message ?? String(err), aborted: aborter.signal.aborted });
  }
  process.exit(0);
});
