/**
 * Progress of a negative bank build in countable units (docs/engine.md §6.7): the bank's 30 s blocks of negative
 * audio (train blocks plus the evaluation stream in 30 s pieces), `done` of `total`, with an estimate of the time
 * left from the pace so far. The builder writes it to `<bank root>/.build-status.json` (at most once a second), so a
 * process waiting on the build's file lock, or a server showing the one-time setup, can read how far it is.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BankBuildProgress {
  /** The bank being built (its key: same options, same key). */
  key: string;
  done: number;
  total: number;
  /** 0…1 over the whole build (synthesis included). */
  fraction: number;
  /** Seconds left at the pace so far; null until the pace is known. */
  etaSeconds: number | null;
  elapsedSeconds: number;
  /** The building process. */
  pid: number;
}

/** Units of a bank build at this scale: train blocks + the evaluation stream in 30 s pieces. */
export function bankBlockCount(
  scale: number,
  blockSeconds: number,
  trainSeconds: number,
  evalSeconds: number,
) {
  const train = Math.max(2, Math.ceil((trainSeconds * scale) / blockSeconds));
  return train + Math.ceil(Math.max(60, evalSeconds * scale) / blockSeconds);
}

export function buildStatusPath(root: string): string {
  return join(root, '.build-status.json');
}

/** "One-time setup: negative bank n of m, about X min left" — the line a job or a console shows during a build. */
export function setupMessage(p: Pick<BankBuildProgress, 'done' | 'total' | 'etaSeconds'>): string {
  const eta =
    p.etaSeconds === null
      ? 'estimating the time left'
      : p.etaSeconds < 60
        ? 'less than a minute left'
        : `about ${Math.round(p.etaSeconds / 60)} min left`;
  return `One-time setup: negative bank ${p.done} of ${p.total}, ${eta}`;
}

/** Turns the builder's fractions into block counts with an estimate; writes the status file (throttled). */
export class BuildTracker {
  private readonly t0 = performance.now();
  private lastWrite = 0;
  last: BankBuildProgress;

  constructor(
    private readonly root: string,
    key: string,
    total: number,
    private readonly onBuild?: (p: BankBuildProgress) => void,
  ) {
    this.last = { key, done: 0, total, fraction: 0, etaSeconds: null, elapsedSeconds: 0, pid: process.pid };
  }

  update(fraction: number): void {
    const f = Math.min(1, Math.max(this.last.fraction, fraction));
    const elapsed = (performance.now() - this.t0) / 1000;
    // the pace is known after 2 % of the work and 5 s (the first seconds load voices and models)
    const eta = f >= 0.02 && elapsed >= 5 ? Math.max(0, Math.round((elapsed * (1 - f)) / f)) : null;
    this.last = {
      ...this.last,
      done: Math.min(this.last.total, Math.floor(f * this.last.total)),
      fraction: Math.round(f * 1000) / 1000,
      etaSeconds: eta,
      elapsedSeconds: Math.round(elapsed),
    };
    this.onBuild?.(this.last);
    if (Date.now() - this.lastWrite >= 1000) {
      this.lastWrite = Date.now();
      void this.write();
    }
  }

  private async write(): Promise<void> {
    const file = buildStatusPath(this.root);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(this.last));
      await rename(tmp, file);
    } catch {
      // advisory only
    }
  }

  async clear(): Promise<void> {
    this.lastWrite = Number.POSITIVE_INFINITY;
    await rm(buildStatusPath(this.root), { force: true }).catch(() => {});
  }
}

/** The status file of a build in progress under `root`, or null (none, unreadable, or another bank's). */
export async function readBuildStatus(root: string, key?: string): Promise<BankBuildProgress | null> {
  try {
    const p = JSON.parse(await readFile(buildStatusPath(root), 'utf8')) as BankBuildProgress;
    if (typeof p.done !== 'number' || typeof p.total !== 'number') return null;
    if (key !== undefined && p.key !== key) return null;
    return p;
  } catch {
    return null;
  }
}

/** While waiting on another builder's lock: its progress every `everyMs`, until the returned stop is called. */
export function watchBuildStatus(
  root: string,
  key: string,
  onBuild: (p: BankBuildProgress) => void,
  everyMs = 1000,
): () => void {
  let stopped = false;
  const tick = async () => {
    const p = await readBuildStatus(root, key);
    if (p && !stopped) onBuild(p);
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref?.();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
