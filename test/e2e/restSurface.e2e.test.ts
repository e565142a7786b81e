import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../../src/dev-stack/index.js';
import { type Stack, startStack } from '../helpers/startStack.js';

describe('REST surface of the sum-service', () => {
  let stack: Stack;
  let base: string;

  beforeAll(async () => {
    stack = await startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') });
    base = `http://127.0.0.1:${stack.ports.sum}`;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('renders a sum far beyond 2^53 and beyond int64 exactly', async () => {
    const client = stack.client();
    const max = 2n ** 63n - 1n;
    for (let i = 0; i < 3; i++) await client.add(max, 0);
    await stack.waitForSum(3n * max);
    const res = await fetch(`${base}/sum`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe(`{"sum":${3n * max}}`);
  });

  it('answers unknown routes 404 and wrong methods 405 as problem JSON', async () => {
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(await missing.json()).toMatchObject({ title: 'Not Found', status: 404 });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const wrong = await fetch(`${base}/sum`, { method, body: method === 'DELETE' ? undefined : '{}' });
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('GET, HEAD');
      expect(await wrong.json()).toMatchObject({ title: 'Method Not Allowed', status: 405 });
    }
    const head = await fetch(`${base}/sum`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('serves /healthz, /readyz and /metrics on every process', async () => {
    for (const port of [stack.ports.sum, stack.ports.addMetrics, stack.ports.relayMetrics]) {
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^process_resident_memory_bytes\{service="(add-service|cdc-relay|sum-service)"\} \d+/m);
    }
  });

  it('cuts off a client that never finishes its headers', async () => {
    const socket = connect(stack.ports.sum, '127.0.0.1');
    socket.write('GET /sum HTTP/1.1\r\nHost: x\r\n');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = await new Promise<boolean>((resolve) => {
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 15_000);
    });
    expect(closed).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  });

  it('answers 503 problem JSON (keeping the original error member) and is not ready while its database refuses connections, then recovers', async () => {
    const [{ db }] = (await stack.query<{ db: string }>('SELECT current_database() AS db')) as [{ db: string }];
    // ALTER DATABASE must run from another database: the server-level one.
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
    try {
      await stack.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sumstream-sum-service'",
      );
      // Once it notices that its notification connection is gone it reads per request, and fails.
      const res = await eventually(async () => {
        const answer = await fetch(`${base}/sum`);
        expect(answer.status).toBe(503);
        return answer;
      });
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({
        status: 503,
        title: 'Service Unavailable',
        error: 'Failed to read sum',
      });
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
    } finally {
      await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await eventually(async () => expect((await fetch(`${base}/sum`)).status).toBe(200));
  });

  it('refuses to start, with the reason, when its database cannot be reached', async () => {
    const port = await freePort();
    const deadDb = new URL(stack.databaseUrl);
    deadDb.port = String(await freePort());
    await stack.start('sum-service', {
      name: 'no-db',
      env: { SUM_PORT: String(port), DATABASE_URL: deadDb.toString() },
      waitReady: false,
    });
    // It cannot even migrate; it must exit with the reason rather than serve wrong answers.
    await eventually(() => expect(stack.processes.get('no-db')?.exitCode).toBe(1), { timeoutMs: 20_000 });
    expect(
      stack.logs.some(
        (line) => line.startsWith('no-db|') && /Cannot start: .*ECONNREFUSED|Cannot start: connect/.test(line),
      ),
    ).toBe(true);
  });
});
