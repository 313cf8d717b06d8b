import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BANK_GENERATOR_VERSION, type BankKeyInput, bankKey } from '../src/bank/key.ts';
import { acquireLock } from '../src/bank/lock.ts';
import {
  type BankIndex,
  publishBankDir,
  readBankDir,
  segmentWindowCount,
  writeBankDir,
} from '../src/bank/store.ts';

const dirs: string[] = [];
async function tmp() {
  const d = await mkdtemp(join(tmpdir(), 'vw-bank-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const base: BankKeyInput = {
  melSha256: 'a'.repeat(64),
  embeddingSha256: 'b'.repeat(64),
  generatorVersion: BANK_GENERATOR_VERSION,
  sentencesSha256: 'c'.repeat(64),
  voices: ['espeak:en+m1', 'flite:slt'],
  installationSeed: 1,
  scale: 1,
};

describe('bank key', () => {
  it('is stable and changes with every input', () => {
    expect(bankKey(base)).toBe(bankKey({ ...base, voices: ['flite:slt', 'espeak:en+m1'] }));
    const variants: Partial<BankKeyInput>[] = [
      { melSha256: 'd'.repeat(64) },
      { embeddingSha256: 'd'.repeat(64) },
      { generatorVersion: BANK_GENERATOR_VERSION + 1 },
      { sentencesSha256: 'd'.repeat(64) },
      { voices: ['flite:slt'] },
      { installationSeed: 2 },
      { scale: 0.1 },
    ];
    const keys = new Set([bankKey(base), ...variants.map((v) => bankKey({ ...base, ...v }))]);
    expect(keys.size).toBe(variants.length + 1);
  });
});

describe('bank lock', () => {
  it('is exclusive: a second holder waits until the first releases', async () => {
    const d = await tmp();
    const path = join(d, 'build.lock');
    const first = await acquireLock(path);
    const order: string[] = [];
    let waitedFor = 0;
    const second = acquireLock(path, { pollMs: 20, onWait: (pid) => (waitedFor = pid) }).then((l) => {
      order.push('second acquired');
      return l;
    });
    await new Promise((r) => setTimeout(r, 150));
    order.push('first releasing');
    await first.release();
    const l2 = await second;
    expect(order).toEqual(['first releasing', 'second acquired']);
    expect(waitedFor).toBe(process.pid);
    await l2.release();
    expect(existsSync(path)).toBe(false);
  });

  it('takes over a lock whose holder died, and times out on a live holder', async () => {
    const d = await tmp();
    const path = join(d, 'build.lock');
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    await writeFile(path, `${dead}\n`);
    const l = await acquireLock(path, { timeoutMs: 2000, pollMs: 20 });
    await l.release();
    await writeFile(path, `${process.ppid}\n`); // a live process that is not us
    await expect(acquireLock(path, { timeoutMs: 200, pollMs: 20 })).rejects.toThrow(/timed out/);
  });
});

describe('bank directory', () => {
  it('round-trips, publishes by rename and deletes banks of other keys', async () => {
    const root = await tmp();
    await mkdir(join(root, 'oldkey'), { recursive: true });
    await writeFile(join(root, 'oldkey', 'index.json'), '{}');
    const train = Float32Array.from({ length: 40 * 96 }, (_, i) => Math.sin(i));
    const ev = Float32Array.from({ length: 30 * 96 }, (_, i) => Math.cos(i));
    const index: BankIndex = {
      format: 'violawake.bank.v1',
      key: 'newkey',
      generator_version: 1,
      scale: 1,
      installation_seed: 1,
      voices: { train: ['a'], eval: ['b'] },
      providers: ['test'],
      build_seconds: 0,
      train: {
        rows: 40,
        seconds: 2,
        segments: [{ offset: 0, rows: 40, kind: 'noise', group: 0, phonemes: [] }],
      },
      eval: { rows: 30, seconds: 1.2, segments: [], spans: [] },
    };
    const tmpDir = join(root, '.tmp-newkey');
    await writeBankDir(tmpDir, index, train, ev);
    const final = await publishBankDir(root, tmpDir, 'newkey');
    expect((await readdir(root)).sort()).toEqual(['newkey']);
    const loaded = await readBankDir(final);
    expect(loaded.index).toEqual(index);
    expect(loaded.train).toEqual(train);
    expect(loaded.eval).toEqual(ev);
    // 40 rows: windows for steps 10 … 25 (start rows 9 … 24)
    expect(segmentWindowCount(40)).toBe(16);
    expect(segmentWindowCount(20)).toBe(0);
  });
});
