import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { createTestDatabase, DRIVERS, PG_ADMIN_URL } from './helpers/db.ts';

describe.each(DRIVERS)('health on %s', (driver) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ driver, env: { VIOLAWAKE_ADMIN_TOKEN: 'admin-token-for-tests' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers ready with the summary shape', async () => {
    const res = await fetch(`${server.url}/api/health/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ status: 'ok', ready: true, version: '0.1.0' });
    expect(typeof body.uptime_s).toBe('number');
    expect((await fetch(`${server.url}/api/health/live`)).status).toBe(200);
    const overall = (await (await fetch(`${server.url}/api/health`)).json()) as any;
    // Billing is not configured in tests: degraded, still ready.
    expect(overall).toMatchObject({ status: 'degraded', ready: true });
  });

  it('guards the details with the admin token and leaks no connection details', async () => {
    expect((await fetch(`${server.url}/api/health/details`)).status).toBe(403);
    const wrong = await fetch(`${server.url}/api/health/details`, { headers: { 'X-Admin-Token': 'nope' } });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ detail: 'Forbidden' });
    const res = await fetch(`${server.url}/api/health/details`, {
      headers: { 'X-Admin-Token': 'admin-token-for-tests' },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text);
    expect(body.components.database).toMatchObject({ status: 'ok', connected: true, driver });
    expect(body.components.queue.status).toBe('ok');
    expect(body.role).toBe('all');
    expect(text).not.toContain(server.dataDir);
    if (server.dbUrl) expect(text).not.toContain(new URL(server.dbUrl).pathname.slice(1));
  });

  it('serves Prometheus metrics to the admin only', async () => {
    await fetch(`${server.url}/api/health`);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(403);
    const res = await fetch(`${server.url}/metrics`, {
      headers: { Authorization: 'Bearer admin-token-for-tests' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toMatch(
      /violawake_http_requests_total\{method="GET",route="\/api\/health",status="200"\} \d+/,
    );
    expect(text).toContain('violawake_http_request_duration_seconds_bucket');
    expect(text).toContain('violawake_process_cpu_user_seconds_total');
    expect(text).toMatch(/violawake_training_jobs\{status="queued"\} 0/);
  });
});

describe('health details without an admin token configured', () => {
  it('answers 404 Not found', async () => {
    const server = await startTestServer({ driver: 'postgres' });
    try {
      const res = await fetch(`${server.url}/api/health/details`, { headers: { 'X-Admin-Token': 'x' } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ detail: 'Not found' });
    } finally {
      await server.close();
    }
  });
});

/** A TCP proxy in front of PostgreSQL that the test can cut, to make the database unreachable. */
async function startProxy(targetPort: number) {
  const sockets = new Set<net.Socket>();
  let up = true;
  const server = net.createServer((client) => {
    if (!up) return client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      up = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      up = true;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('readiness follows the database', () => {
  it('is 503 while PostgreSQL is unreachable and 200 again when it is back', async () => {
    const db = await createTestDatabase();
    const pgPort = Number(new URL(PG_ADMIN_URL).port || 5432);
    const proxy = await startProxy(pgPort);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const server = await startTestServer({
      driver: 'postgres',
      database: { ...db, url: viaProxy.toString() },
    });
    try {
      expect((await fetch(`${server.url}/api/health/ready`)).status).toBe(200);
      proxy.cut();
      const down = await fetch(`${server.url}/api/health/ready`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'error', ready: false });
      const overall = await fetch(`${server.url}/api/health`);
      expect(overall.status).toBe(200);
      expect(((await overall.json()) as any).status).toBe('error');
      expect((await fetch(`${server.url}/api/health/live`)).status).toBe(200);
      proxy.restore();
      let status = 0;
      for (let i = 0; i < 20 && status !== 200; i++) {
        status = (await fetch(`${server.url}/api/health/ready`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect(status).toBe(200);
    } finally {
      await server.close().catch(() => {});
      await proxy.close();
      await db.drop();
    }
  });
});
