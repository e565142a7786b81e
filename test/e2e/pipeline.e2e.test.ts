import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { originalProtoClient } from '../helpers/additionClient.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../../src/dev-stack/index.js';
import { type Stack, startStack } from '../helpers/startStack.js';

/** Random int64-ish operands: mostly small, some near ±2^40 so the total leaves float range. */
function randomOperand(): bigint {
  const big = Math.random() < 0.2;
  const magnitude = big
    ? BigInt(Math.floor(Math.random() * 2 ** 40)) * 1000n
    : BigInt(Math.floor(Math.random() * 1000));
  return Math.random() < 0.3 ? -magnitude : magnitude;
}

async function queueDepth(stack: Stack, queue: string): Promise<number> {
  const connection = await amqp.connect(stack.amqpUrl);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

describe('pipeline end to end (real processes, PostgreSQL, RabbitMQ)', () => {
  let stack: Stack;
  let expected = 0n;
  const replaySlot = `replay_${Date.now()}`;

  beforeAll(async () => {
    stack = await startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') });
    // A second slot made before any traffic: replaying it later re-reads the whole WAL history.
    await stack.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [replaySlot]);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers a client generated from the original int32 proto: Add(2, 3) = 5', async () => {
    const original = originalProtoClient(`127.0.0.1:${stack.ports.grpc}`);
    try {
      expect(await original.add(2, 3)).toEqual({ sum: 5 });
      expect(await original.add(-7, 4)).toEqual({ sum: -3 });
    } finally {
      original.close();
    }
    expected += 5n - 3n;
    await stack.waitForSum(expected);
  });

  it('applies 5,000 Adds from 100 concurrent clients exactly once while the relay and the sum-service are killed -9 and restarted', async () => {
    const clients = Array.from({ length: 100 }, () => stack.client());
    let acknowledged = 0;
    const faults = (async () => {
      await eventually(() => expect(acknowledged).toBeGreaterThan(1500), { timeoutMs: 60_000, intervalMs: 20 });
      await stack.kill('cdc-relay');
      await eventually(() => expect(acknowledged).toBeGreaterThan(2500), { timeoutMs: 60_000, intervalMs: 20 });
      await stack.kill('sum-service');
      await stack.start('cdc-relay');
      await stack.start('sum-service');
    })();
    const totals = await Promise.all(
      clients.map(async (client) => {
        let total = 0n;
        for (let i = 0; i < 50; i++) {
          const a = randomOperand();
          const b = randomOperand();
          const reply = await client.add(a, b);
          expect(BigInt(reply.sum)).toBe(a + b);
          total += a + b;
          acknowledged++;
        }
        return total;
      }),
    );
    await faults;
    expected += totals.reduce((x, y) => x + y, 0n);
    expect(acknowledged).toBe(5000);

    await stack.waitForSum(expected, 90_000);
    console.info(
      `5,000 Adds acknowledged across kill -9 of cdc-relay and sum-service; GET /sum = ${await stack.sum()} (expected ${expected})`,
    );
    const [counts] = await stack.query<{ ledger: string; applied: string; missing: string }>(
      `SELECT (SELECT count(*) FROM additions) AS ledger, (SELECT count(*) FROM processed_events) AS applied,
              (SELECT count(*) FROM additions a LEFT JOIN processed_events p ON p.event_id = a.id::text WHERE p.event_id IS NULL) AS missing`,
    );
    expect(counts).toEqual({ ledger: '5002', applied: '5002', missing: '0' });
    expect(await queueDepth(stack, 'addition.dead-letter')).toBe(0);
  });

  it('dead-letters a hand-published garbage message with its reason and leaves the total alone', async () => {
    const connection = await amqp.connect(stack.amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish('amq.topic', 'addition', Buffer.from('this is not an event'), { persistent: true });
      await channel.waitForConfirms();
      const dead = await eventually(
        async () => {
          const message = await channel.get('addition.dead-letter', { noAck: true });
          if (!message) throw new Error('dead-letter queue is still empty');
          return message;
        },
        { timeoutMs: 20_000 },
      );
      expect(dead.content.toString()).toBe('this is not an event');
      expect(dead.properties.headers?.['x-sumstream-reason']).toBe('malformed_json');
      expect(String(dead.properties.headers?.['x-sumstream-detail'])).toMatch(/not JSON/);
    } finally {
      await connection.close();
    }
    expect(await stack.sum()).toBe(expected);
  });

  it('leaves the total unchanged when the whole slot is replayed from the start', async () => {
    // Given a second relay streaming the slot made before the first Add
    const [{ lsn }] = (await stack.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [
      { lsn: string },
    ];
    await stack.start('cdc-relay', {
      name: 'replay-relay',
      env: { RELAY_SLOT: replaySlot, RELAY_METRICS_PORT: String(await freePort()) },
    });
    // When it has re-published everything up to now
    await eventually(
      async () => {
        const [row] = await stack.query<{ done: boolean }>(
          'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
          [replaySlot, lsn],
        );
        expect(row?.done).toBe(true);
      },
      { timeoutMs: 60_000 },
    );
    // Then every event arrived again and was skipped as a duplicate
    const metrics = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${stack.ports.sum}/metrics`)).text();
      const skipped = Number(/^sumstream_duplicates_skipped_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
      expect(skipped).toBeGreaterThanOrEqual(5002);
      return skipped;
    });
    expect(metrics).toBeGreaterThanOrEqual(5002);
    expect(await stack.sum()).toBe(expected);
    console.info(`whole slot replayed: ${metrics} duplicates skipped; GET /sum still ${await stack.sum()}`);
    await stack.kill('replay-relay', 'SIGTERM');
  });

  it('leaves the total unchanged when every ledger event is re-published', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cdc-relay/republishMain.ts'], {
      env: stack.env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/"published":5002,"msg":"every ledger event republished"/);
    await eventually(async () => expect(await queueDepth(stack, 'addition')).toBe(0), { timeoutMs: 30_000 });
    expect(await stack.sum()).toBe(expected);
    expect(await queueDepth(stack, 'addition.dead-letter')).toBe(0);
  });
});
