/**
 * The child-process runner: one training attempt in a killable child (`child.ts`, which never touches the database).
 * Progress arrives over IPC and is handed on at most every PROGRESS_MIN_MS (always on stage changes and epoch ends);
 * the child ends with a result, an error, or by being stopped (SIGTERM, SIGKILL after KILL_GRACE_MS), and the
 * stop's reason decides what the worker makes of it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildJob, ChildMessage, ChildResult, PipelineProgress } from './child-protocol.ts';

const CHILD_ENTRY = fileURLToPath(new URL('./child.ts', import.meta.url));
/**
 * tsx's loader for the child, as a file URL: a bare `--import tsx` is resolved from the working directory, so a worker
 * started outside the repository (a service's own directory) could not start a single job.
 */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A TypeScript child process of this domain (a training attempt, the bank build), talking over advanced IPC. */
export function forkTsChild(entry: string): ChildProcess {
  return fork(entry, [], {
    execArgv: ['--import', TSX_LOADER],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: process.env,
  });
}
export const KILL_GRACE_MS = 10_000;
const PROGRESS_MIN_MS = 500;

/** Why a child is being stopped: a user's cancel, the attempt's timeout, a lost job (fenced out), a shutdown. */
export type StopReason = 'cancel' | 'timeout' | 'lost' | 'shutdown';

export type RunOutcome =
  | { kind: 'result'; result: ChildResult }
  | { kind: 'error'; code: string; message: string; details: Record<string, unknown> | null }
  | { kind: 'stopped' };

/** One attempt's child process, from before it is forked until it exits. */
export class ChildRun {
  private child: ChildProcess | null = null;
  /** Why the child is being stopped (decides the outcome when it exits); null while it runs on. */
  stopReason: StopReason | null = null;

  /**
   * Fork the child, send it the job and resolve when it exits. `onProgress` gets the throttled progress steps (its
   * failures are ignored: progress is advisory).
   */
  run(job: ChildJob, onProgress: (p: PipelineProgress) => Promise<void>): Promise<RunOutcome> {
    return new Promise((resolve) => {
      const child = forkTsChild(CHILD_ENTRY);
      this.child = child;
      // stopped while the attempt was being prepared (takes copied, corpus chosen): stop the child at once
      if (this.stopReason) this.signal(child);
      let settled: RunOutcome | null = null;
      let lastWrite = 0;
      let lastStage = '';
      let pending: PipelineProgress | null = null;
      let flushTimer: NodeJS.Timeout | null = null;
      const flush = () => {
        flushTimer = null;
        if (pending) {
          const p = pending;
          pending = null;
          lastWrite = Date.now();
          void onProgress(p).catch(() => {});
        }
      };
      child.on('message', (msg: ChildMessage) => {
        if (msg.type === 'progress') {
          const p = msg.progress;
          pending = p;
          const important = p.stage !== lastStage || p.epoch !== undefined;
          lastStage = p.stage;
          if (important || Date.now() - lastWrite >= PROGRESS_MIN_MS) {
            if (flushTimer) clearTimeout(flushTimer);
            flush();
          } else if (!flushTimer) {
            flushTimer = setTimeout(flush, PROGRESS_MIN_MS);
          }
        } else if (msg.type === 'result') {
          settled = { kind: 'result', result: msg.result };
        } else if (msg.type === 'error') {
          settled = { kind: 'error', code: msg.code, message: msg.message, details: msg.details };
        }
      });
      child.on('exit', () => {
        if (flushTimer) clearTimeout(flushTimer);
        flush();
        this.child = null;
        if (this.stopReason) return resolve({ kind: 'stopped' });
        resolve(
          settled ?? {
            kind: 'error',
            code: 'internal',
            message: 'training process exited without a result',
            details: null,
          },
        );
      });
      child.send({ type: 'start', job });
    });
  }

  /** Stop the child (SIGTERM, then SIGKILL after the grace time); the first reason wins. */
  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    if (this.child) this.signal(this.child);
  }

  private signal(child: ChildProcess): void {
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    t.unref();
    child.once('exit', () => clearTimeout(t));
  }
}
