import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/db.ts';
import { freePort, spawnServe } from './helpers/spawn.ts';

/** `violawake serve` as a real process on a fresh PostgreSQL database and a free port. */
async function serveOnFreshDatabase(prefix: string) {
  const db = await createTestDatabase();
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const port = await freePort();
  const child = spawnServe({ dbUrl: db.url, dataDir: dir, port });
  return { db, dir, port, child };
}

describe('graceful shutdown', { timeout: 150_000 }, () => {
  it('on SIGTERM finishes the in-flight request, refuses new ones and exits 0', async () => {
    const { db, dir, port, child } = await serveOnFreshDatabase('vw-stop-');
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    try {
      for (let i = 0; i < 500; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/api/health/ready`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      // An in-flight request: headers and half of the body sent, the rest after SIGTERM.
      const body = JSON.stringify({ probe: 'x'.repeat(2000) });
      const sock = net.connect(port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      let response = '';
      sock.on('data', (d) => (response += d));
      sock.write(
        `POST /api/does-not-exist HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 1000)}`,
      );
      await new Promise((r) => setTimeout(r, 300));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      // New connections are refused once the listener is closed (while the in-flight request keeps it alive).
      let refused = false;
      for (let i = 0; i < 100 && !refused; i++) {
        refused = await fetch(`http://127.0.0.1:${port}/api/health/live`).then(
          () => false,
          () => true,
        );
        if (!refused) await new Promise((r) => setTimeout(r, 100));
      }
      expect(refused).toBe(true);
      expect(child.exitCode).toBeNull();
      sock.write(body.slice(1000));
      for (let i = 0; i < 100 && !response.includes('"detail"'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(response).toMatch(/^HTTP\/1\.1 404/);
      expect(response).toContain('{"detail":"Not Found"}');
      expect(await exited).toBe(0);
      expect(log).toContain('shutdown complete');
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});

describe('a signal during start-up', { timeout: 150_000 }, () => {
  it('shuts down cleanly once start-up is done, instead of dying mid-start', async () => {
    const { db, dir, child } = await serveOnFreshDatabase('vw-stop-early-');
    let log = '';
    try {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      await new Promise<void>((resolve) => {
        const onData = (d: Buffer) => {
          log += d;
          if (log.includes('database migrated')) {
            child.stdout!.off('data', onData);
            child.kill('SIGTERM'); // migrations done, the HTTP listener and workers not started yet
            resolve();
          }
        };
        child.stdout!.on('data', onData);
      });
      child.stdout!.on('data', (d) => (log += d));
      expect(await exited).toBe(0);
      expect(log).toContain('shutting down');
      expect(log).toContain('shutdown complete');
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
