import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { metricValue } from '../helpers/metricValue.js';
import { type Stack, startStack } from '../helpers/startStack.js';

const MAX_LENGTH = 50;

async function queueDepth(stack: Stack, queue: string): Promise<number> {
  const connection = await amqp.connect(stack.amqpUrl);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

describe('queue length bound end to end (real processes)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      databaseUrl: inject('databaseUrl'),
      amqpManagementUrl: inject('amqpManagementUrl'),
      env: { SUMSTREAM_QUEUE_MAX_LENGTH: String(MAX_LENGTH) },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('keeps answering Adds while the sum-service is down and the queue is full, then applies every one exactly once', async () => {
    const relay = (name: string) => metricValue(stack.ports.relayMetrics, name);
    const clients = Array.from({ length: 10 }, () => stack.client());
    let expected = 0n;
    const addRound = async (round: number) => {
      const sums = await Promise.all(clients.map((client, i) => client.add(round, i)));
      for (const [i, reply] of sums.entries()) {
        expect(BigInt(reply.sum)).toBe(BigInt(round + i));
        expected += BigInt(reply.sum);
      }
    };
    await addRound(1);
    await stack.waitForSum(expected);
    expect(await relay('sumstream_queue_max_length')).toBe(MAX_LENGTH);

    // Given the sum-service stopped
    await stack.kill('sum-service', 'SIGTERM');

    // When Adds keep coming until the queue is at its bound
    let round = 2;
    await eventually(
      async () => {
        await addRound(round++);
        expect(await relay('sumstream_relay_backpressure')).toBe(1);
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    );

    // Then the relay is held back, not failing: RabbitMQ refused publishes, no reconnect, the queue is full
    expect(await relay('sumstream_relay_publish_rejected_total')).toBeGreaterThan(0);
    expect(await relay('sumstream_relay_reconnects_total')).toBe(0);
    expect(await relay('sumstream_relay_active')).toBe(1);
    expect(await queueDepth(stack, 'addition')).toBeGreaterThanOrEqual(MAX_LENGTH);

    // And Add still answers OK meanwhile: the slot keeps what the queue cannot take
    for (let i = 0; i < 10; i++) await addRound(round++);
    expect(await relay('sumstream_relay_backpressure')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${stack.ports.relayMetrics}/readyz`)).status).toBe(200);

    // When the sum-service starts again
    await stack.start('sum-service');

    // Then the sum is exact (nothing lost, nothing counted twice), the relay resumes, nothing was dead-lettered
    await stack.waitForSum(expected, 90_000);
    await eventually(async () => expect(await relay('sumstream_relay_backpressure')).toBe(0), { timeoutMs: 20_000 });
    const [counts] = await stack.query<{ ledger: string; applied: string; missing: string }>(
      `SELECT (SELECT count(*) FROM additions) AS ledger, (SELECT count(*) FROM processed_events) AS applied,
              (SELECT count(*) FROM additions a LEFT JOIN processed_events p ON p.event_id = a.id::text WHERE p.event_id IS NULL) AS missing`,
    );
    expect(counts).toEqual({ ledger: String(10 * round - 10), applied: String(10 * round - 10), missing: '0' });
    expect(await queueDepth(stack, 'addition.dead-letter')).toBe(0);
    expect(await relay('sumstream_relay_reconnects_total')).toBe(0);
    expect(
      stack.logs.some((line) => line.startsWith('cdc-relay|') && line.includes('replication stream resumed')),
    ).toBe(true);
  });
});
