/**
 * The negative bank's background build (docs/training.md "The negative bank at first start"): a process with workers
 * (role `all` or `worker`) builds the bank once at start, in a child process (`bank-child.ts`, never on the event
 * loop), with the options a default training job uses (data dir, `VIOLAWAKE_ENGINE_BANK_SCALE`: the same bank key), so
 * the first job finds it ready. The bank's file lock keeps two builders (two workers, a job, `violawake bank build`)
 * from building it twice: whoever comes second waits and then loads it.
 *
 * The status (idle / building n of m with an estimate / ready / failed with a reason) is this process's, and is also
 * written to `<data dir>/engine/bank-status.json`, so an API-only process on the same data dir shows it too.
 * `VIOLAWAKE_BANK_PREBUILD=false` turns the build off (the first job then builds the bank itself).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppContext } from '../core/context.ts';
import { forkTsChild } from './runner.ts';

const CHILD_ENTRY = fileURLToPath(new URL('./bank-child.ts', import.meta.url));

export interface BankChildStart {
  type: 'start';
  dataDir: string;
  scale: number;
}

export type BankChildMessage =
  | { type: 'progress'; done: number; total: number; etaSeconds: number | null }
  | { type: 'ready'; built: boolean; buildSeconds: number }
  | { type: 'failed'; error: string; aborted: boolean };

export interface BankStatus {
  state: 'idle' | 'disabled' | 'building' | 'ready' | 'failed';
  /** Blocks built and in all (building). */
  done: number | null;
  total: number | null;
  /** Seconds left at the pace so far (building; null while unknown). */
  eta_s: number | null;
  /** Why the build failed, in words for an operator (no paths, no secrets; the worker's log has the error). */
  reason: string | null;
  /** Seconds the build took (ready, when this process built it). */
  build_s: number | null;
  updated_at: string;
}

declare module '../core/context.ts' {
  interface AppContext {
    bankBuild?: BankBuild;
  }
}

/** A "building" status file older than this is a builder that is gone. */
const STALE_MS = 120_000;

const statusFile = (dataDir: string) => path.join(dataDir, 'engine', 'bank-status.json');

/** An error of the build → what the operator can do about it. */
export function failureReason(message: string): string {
  if (/espeak|synthes|provider|voice/i.test(message))
    return 'No speech synthesizer could be used (install espeak-ng; see docs/deployment.md).';
  if (/ENOSPC/.test(message)) return 'The disk is full.';
  if (/EACCES|EPERM|EROFS/.test(message)) return 'The data directory is not writable.';
  if (/ENOMEM|heap/i.test(message)) return 'The build ran out of memory.';
  return 'The build stopped with an error (the worker log has the details).';
}

function status(
  s: Omit<BankStatus, 'updated_at' | 'done' | 'total' | 'eta_s' | 'reason' | 'build_s'> & Partial<BankStatus>,
): BankStatus {
  return {
    done: null,
    total: null,
    eta_s: null,
    reason: null,
    build_s: null,
    ...s,
    updated_at: new Date().toISOString(),
  };
}

export class BankBuild {
  current: BankStatus;
  private child: ChildProcess | null = null;
  private stopping = false;
  private lastWrite = 0;
  /** Resolves when the build ends (ready, failed or stopped). */
  done: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: AppContext) {
    this.current = status({ state: ctx.config.bankPrebuild ? 'idle' : 'disabled' });
  }

  start(): void {
    if (!this.ctx.config.bankPrebuild || this.child) return;
    const { config, logger } = this.ctx;
    this.set(status({ state: 'building' }), true);
    const child = forkTsChild(CHILD_ENTRY);
    this.child = child;
    this.done = new Promise((resolve) => {
      let settled = false;
      child.on('message', (msg: BankChildMessage) => {
        if (msg.type === 'progress') {
          this.set(status({ state: 'building', done: msg.done, total: msg.total, eta_s: msg.etaSeconds }));
        } else if (msg.type === 'ready') {
          settled = true;
          if (msg.built) logger.info({ build_s: msg.buildSeconds }, 'negative bank built');
          this.set(status({ state: 'ready', build_s: msg.built ? msg.buildSeconds : null }), true);
        } else if (msg.type === 'failed') {
          settled = true;
          if (this.stopping || msg.aborted) {
            this.set(status({ state: 'idle' }), true);
          } else {
            logger.error({ err: { message: msg.error } }, 'negative bank build failed');
            this.set(status({ state: 'failed', reason: failureReason(msg.error) }), true);
          }
        }
      });
      child.on('exit', (code) => {
        this.child = null;
        if (!settled) {
          if (this.stopping) this.set(status({ state: 'idle' }), true);
          else {
            logger.error({ code }, 'negative bank build process exited without a result');
            this.set(status({ state: 'failed', reason: failureReason(`exit ${code}`) }), true);
          }
        }
        resolve();
      });
    });
    child.send({
      type: 'start',
      dataDir: config.dataDir,
      scale: config.engineBankScale,
    } satisfies BankChildStart);
  }

  /** Stop a build in progress (SIGTERM; the next start continues from scratch, the lock is released). */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      t.unref();
      await this.done;
      clearTimeout(t);
    }
  }

  private set(s: BankStatus, force = false): void {
    this.current = s;
    if (!force && Date.now() - this.lastWrite < 1000) return;
    this.lastWrite = Date.now();
    try {
      const file = statusFile(this.ctx.config.dataDir);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(s));
      renameSync(`${file}.${process.pid}.tmp`, file);
    } catch {
      // advisory: the in-process status stays right
    }
  }
}

/**
 * The bank's status as this process knows it: its own build's, else the one a worker on the same data dir wrote,
 * else `disabled` / `idle`.
 */
export function bankStatus(ctx: AppContext): BankStatus {
  if (ctx.bankBuild) return ctx.bankBuild.current;
  try {
    const s = JSON.parse(readFileSync(statusFile(ctx.config.dataDir), 'utf8')) as BankStatus;
    // a builder writes at least every few seconds; a silent "building" is a worker that stopped
    const stale = s.state === 'building' && Date.now() - Date.parse(s.updated_at) > STALE_MS;
    if (typeof s.state === 'string' && !stale) return s;
  } catch {
    // no worker wrote one here
  }
  return status({ state: ctx.config.bankPrebuild ? 'idle' : 'disabled' });
}
