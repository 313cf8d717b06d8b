import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/db.ts';
import { REPO_ROOT, SERVER_BIN } from './helpers/repo.ts';

function run(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(process.execPath, [SERVER_BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    cwd: cwd ?? mkdtempSync(path.join(tmpdir(), 'vw-cli-')),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('violawake CLI', () => {
  it('prints help for the command and every subcommand', () => {
    const main = run(['--help']);
    expect(main.code).toBe(0);
    for (const c of ['serve', 'worker', 'migrate', 'users', 'train', 'eval', 'detect', 'bank build', 'bench'])
      expect(main.out).toContain(c);
    for (const sub of ['serve', 'worker', 'migrate', 'train', 'eval', 'detect', 'bank', 'bench']) {
      const r = run([sub, '--help']);
      expect(r.code, sub).toBe(0);
      expect(r.out).toContain(`Usage: violawake ${sub}`);
    }
    const unknown = run(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('Unknown command "frobnicate"');
  });

  it('npm run bench:engine reaches the bench command (the script runs the CLI, not just loads it)', () => {
    const r = spawnSync('npm', ['run', '--silent', 'bench:engine', '--', '--help'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: violawake bench');
  });

  it('migrates a PostgreSQL database, then finds nothing to do', async () => {
    const db = await createTestDatabase();
    try {
      const first = run(['migrate'], { VIOLAWAKE_DB_URL: db.url });
      expect(first.code, first.err).toBe(0);
      expect(first.out).toMatch(/migrations applied: [1-9]\d* \(postgres\)/);
      const second = run(['migrate'], { VIOLAWAKE_DB_URL: db.url });
      expect(second.out).toContain('migrations applied: 0 (postgres)');
    } finally {
      await db.drop();
    }
  });

  it('refuses to start with a configuration error, naming the variable', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vw-cli-'));
    try {
      const r = run(['worker'], { VIOLAWAKE_DATA_DIR: dir }, dir);
      expect(r.code).toBe(2);
      expect(r.err).toContain('VIOLAWAKE_DB_URL');
      const prod = run(['serve'], { VIOLAWAKE_ENV: 'production', VIOLAWAKE_DATA_DIR: dir }, dir);
      expect(prod.code).toBe(2);
      expect(prod.err).toContain('VIOLAWAKE_SECRET_KEY is required in production');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
