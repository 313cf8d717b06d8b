/**
 * A bank build's progress in blocks (bank/progress.ts): the builder reports n of m with an estimate, and a second
 * caller waiting on the build's lock receives the builder's progress from its status file instead of a stuck line.
 */
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBank } from '../src/bank/build.ts';
import { type BankBuildProgress, bankBlockCount, setupMessage } from '../src/bank/progress.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('bank build progress', () => {
  it('words the one-time setup line', () => {
    expect(setupMessage({ done: 3, total: 540, etaSeconds: null })).toBe(
      'One-time setup: negative bank 3 of 540, estimating the time left',
    );
    expect(setupMessage({ done: 120, total: 540, etaSeconds: 330 })).toBe(
      'One-time setup: negative bank 120 of 540, about 6 min left',
    );
    expect(setupMessage({ done: 530, total: 540, etaSeconds: 20 })).toBe(
      'One-time setup: negative bank 530 of 540, less than a minute left',
    );
    // scale 1: 180 train blocks + 360 evaluation pieces of 30 s
    expect(bankBlockCount(1, 30, 5400, 10800)).toBe(540);
    expect(bankBlockCount(0.001, 30, 5400, 10800)).toBe(4);
  });

  it('the builder counts blocks; a waiter sees the same build', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'vw-bank-progress-'));
    dirs.push(dataDir);
    const synthCache = join(tmpdir(), 'violawake-test-engine-cache', 'synth-cache');
    mkdirSync(synthCache, { recursive: true });
    mkdirSync(join(dataDir, 'engine'), { recursive: true });
    symlinkSync(synthCache, join(dataDir, 'engine', 'synth-cache'), 'dir');
    const builder: BankBuildProgress[] = [];
    const waiter: BankBuildProgress[] = [];
    const waitMessages: string[] = [];
    const first = ensureBank({ dataDir, scale: 0.004, onBuild: (p) => builder.push(p) });
    // the second caller starts once the first holds the lock and has written a status
    while (!existsSync(join(dataDir, 'engine', 'bank', '.build-status.json'))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = ensureBank({
      dataDir,
      scale: 0.004,
      onBuild: (p) => waiter.push(p),
      onProgress: (m) => waitMessages.push(m),
    });
    const [a, b] = await Promise.all([first, second]);
    expect(a.built).toBe(true);
    expect(b.built).toBe(false);
    expect(b.index.key).toBe(a.index.key);
    const total = bankBlockCount(0.004, 30, 5400, 10800);
    expect(builder.length).toBeGreaterThan(0);
    for (const p of builder) {
      expect(p.total).toBe(total);
      expect(p.key).toBe(a.index.key);
    }
    // counts only go up and reach the total
    for (let i = 1; i < builder.length; i++)
      expect(builder[i]!.done).toBeGreaterThanOrEqual(builder[i - 1]!.done);
    expect(builder.at(-1)!.done).toBe(total);
    expect(waitMessages[0]).toMatch(/^Waiting for another process/);
    expect(waiter.length).toBeGreaterThan(0);
    for (const p of waiter) {
      expect(p.total).toBe(total);
      expect(p.key).toBe(a.index.key);
    }
    // the status file goes with the build
    expect(existsSync(join(dataDir, 'engine', 'bank', '.build-status.json'))).toBe(false);
  }, 120_000);
});
