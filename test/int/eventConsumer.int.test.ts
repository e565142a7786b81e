import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel, type GetMessage, type Options } from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TopologyConfig } from '../../src/shared/config/commonConfig.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { readSum } from '../../src/sum-view/readSum.js';
import { additionEventPayload } from '../../src/shared/events/additionEventPayload.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { assertTopology } from '../../src/shared/messaging/assertTopology.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { ADDITION_EVENT_TYPE } from '../../src/shared/vocabulary.js';
import { EventConsumer } from '../../src/sum-service/eventConsumer.js';
import { InboxPruner } from '../../src/sum-service/inboxPruner.js';
import { createSumMetrics, type SumMetrics } from '../../src/sum-service/sumMetrics.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../../src/dev-stack/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';
import { sleep } from '../../src/shared/backoff.js';
import { uniqueTopology } from '../helpers/uniqueTopology.js';

const logger = createLogger('test', 'silent');

/** A relay-like event: the addition payload as body, its id as message_id and `id` header. */
function additionEvent(a: bigint, b: bigint, id: string = randomUUID(), acceptedAt = new Date()) {
  const body = Buffer.from(JSON.stringify(additionEventPayload({ id, a, b, result: a + b, acceptedAt })));
  const options: Options.Publish = {
    messageId: id,
    type: ADDITION_EVENT_TYPE,
    contentType: 'application/json',
    persistent: true,
    headers: { id },
  };
  return { id, amount: a + b, body, options };
}

/** Messages in the management API's view of a queue (stats lag a few seconds behind). */
async function queueStats(
  managementUrl: string,
  vhost: string,
  queue: string,
): Promise<{ ready: number; unacked: number }> {
  const base = new URL(managementUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  const res = await fetch(
    new URL(`/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`, base.origin),
    { headers: { authorization: auth } },
  );
  if (!res.ok) throw new Error(`management API ${res.status}`);
  const body = (await res.json()) as { messages_ready?: number; messages_unacknowledged?: number };
  return { ready: body.messages_ready ?? -1, unacked: body.messages_unacknowledged ?? -1 };
}

describe('EventConsumer (RabbitMQ + PostgreSQL)', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: pg.Pool;
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  const consumers: EventConsumer[] = [];
  const badPools: pg.Pool[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'event_consumer');
    vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'event-consumer');
    pool = new pg.Pool({ connectionString: db.url, max: 5 });
    pool.on('error', () => undefined); // idle clients die when the database is dropped
    await migrate(pool);
    connection = await amqp.connect(vhost.amqpUrl);
    channel = await connection.createConfirmChannel();
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    for (const bad of badPools) await bad.end().catch(() => undefined);
    await pool?.end();
    await db?.drop();
    await vhost?.drop();
  });

  const startConsumer = async (
    topology: TopologyConfig,
    options: { pool?: pg.Pool; metrics?: SumMetrics; prefetch?: number } = {},
  ) => {
    const metrics = options.metrics ?? createSumMetrics(createRegistry('test'));
    const consumer = new EventConsumer({
      amqpUrl: vhost.amqpUrl,
      topology,
      pool: options.pool ?? pool,
      metrics,
      logger,
      prefetch: options.prefetch,
      shard: 1,
    });
    consumers.push(consumer);
    await consumer.start();
    expect(consumer.ready).toBe(true);
    return { consumer, metrics };
  };

  const publish = async (topology: TopologyConfig, messages: { body: Buffer; options: Options.Publish }[]) => {
    for (const { body, options } of messages) channel.publish(topology.exchange, topology.routingKey, body, options);
    await channel.waitForConfirms();
  };

  /** Takes every message from `queue` (acknowledging it). */
  const drainQueue = async (queue: string): Promise<GetMessage[]> => {
    const taken: GetMessage[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) return taken;
      taken.push(message);
    }
  };

  const counterValue = async (
    metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> },
    labels: Record<string, string> = {},
  ) => {
    const { values } = await metric.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .reduce((s, v) => s + v.value, 0);
  };

  it('applies valid events once, dead-letters each kind of bad message with its reason, and acknowledges everything', async () => {
    const topology = uniqueTopology();
    const { consumer, metrics } = await startConsumer(topology);
    const before = await readSum(pool);

    // Given valid events (one of them near int64 max), one event published 100 times,
    const valid = [additionEvent(2n, 3n), additionEvent(9_223_372_036_854_775_000n, 807n), additionEvent(-10n, 4n)];
    const repeated = additionEvent(1_000n, 234n);
    // and messages the consumer cannot apply, each with the reason it should be parked with
    const goodPayload = (id: string) =>
      JSON.parse(additionEvent(500_000n, 500_000n, id).body.toString()) as Record<string, unknown>;
    const unknownTypeId = randomUUID();
    const conflictingId = randomUUID();
    const bad = [
      {
        reason: 'malformed_json',
        body: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]),
        options: { messageId: `garbage-${randomUUID()}` },
      },
      {
        reason: 'malformed_json',
        body: Buffer.from('{"id": "x", "amount": '),
        options: { messageId: `truncated-${randomUUID()}` },
      },
      { reason: 'invalid_shape', body: Buffer.from('[1,2,3]'), options: { messageId: `array-${randomUUID()}` } },
      { reason: 'invalid_shape', body: Buffer.from('42'), options: { messageId: `number-${randomUUID()}` } },
      {
        reason: 'unknown_type',
        body: Buffer.from(JSON.stringify(goodPayload(unknownTypeId))),
        options: { messageId: unknownTypeId, type: 'SubtractionAccepted' },
      },
      {
        reason: 'missing_id',
        body: Buffer.from(JSON.stringify({ a: '1', b: '2', amount: '3', acceptedAt: new Date().toISOString() })),
        options: {},
      },
      {
        reason: 'invalid_amount',
        body: Buffer.from(JSON.stringify({ ...goodPayload(randomUUID()), amount: 'lots' })),
        options: {},
      },
      {
        reason: 'conflicting_id',
        body: Buffer.from(JSON.stringify(goodPayload(conflictingId))),
        options: { messageId: randomUUID(), headers: { id: conflictingId } },
      },
    ].map((m) => {
      const options: Options.Publish = { ...m.options, persistent: true };
      return { ...m, marker: randomUUID(), options };
    });
    for (const m of bad) m.options.headers = { ...(m.options.headers ?? {}), 'x-test-marker': m.marker };

    // When they are published interleaved
    await publish(topology, [valid[0]!, ...bad.slice(0, 4), valid[1]!]);
    await publish(
      topology,
      Array.from({ length: 100 }, () => repeated),
    );
    await publish(topology, [...bad.slice(4), valid[2]!]);

    // Then the sum counts every valid event once, the repeated one included
    const expected = [...valid, repeated].reduce((s, e) => s + e.amount, 0n);
    await eventually(
      async () => {
        const now = await readSum(pool);
        expect(BigInt(now.sum) - BigInt(before.sum)).toBe(expected);
        expect(BigInt(now.appliedEvents) - BigInt(before.appliedEvents)).toBe(4n);
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );

    // And every bad message is in the dead-letter queue with its reason and its original body
    const deadLetters = await eventually(
      async () => {
        const { messageCount } = await channel.checkQueue(topology.deadLetterQueue);
        expect(messageCount).toBe(bad.length);
        return drainQueue(topology.deadLetterQueue);
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(deadLetters).toHaveLength(bad.length);
    const byMarker = new Map(deadLetters.map((m) => [String(m.properties.headers?.['x-test-marker']), m]));
    for (const expectedBad of bad) {
      const parked = byMarker.get(expectedBad.marker);
      expect(parked, `dead letter for ${expectedBad.reason}`).toBeDefined();
      expect(parked!.properties.headers?.['x-sumstream-reason']).toBe(expectedBad.reason);
      expect(String(parked!.properties.headers?.['x-sumstream-detail'] ?? '')).not.toBe('');
      expect(parked!.properties.headers?.['x-original-routing-key']).toBe(topology.routingKey);
      expect(parked!.properties.headers?.['x-original-exchange']).toBe(topology.exchange);
      expect(parked!.content.equals(expectedBad.body)).toBe(true);
      if (expectedBad.options.messageId) expect(parked!.properties.messageId).toBe(expectedBad.options.messageId);
    }
    // And the inbox holds none of them (the valid-looking payloads under a wrong type or conflicting ids included)
    const inbox = await pool.query('SELECT 1 FROM processed_events WHERE event_id = ANY($1::text[])', [
      [unknownTypeId, conflictingId],
    ]);
    expect(inbox.rowCount).toBe(0);

    // And the metrics tell the same story
    expect(await counterValue(metrics.applied)).toBe(4);
    expect(await counterValue(metrics.deadLettered)).toBe(bad.length);
    expect(await counterValue(metrics.deadLettered, { reason: 'malformed_json' })).toBe(2);
    expect(await counterValue(metrics.duplicates)).toBe(99);

    // And the main queue is empty, with nothing left unacknowledged: closing the consumer returns nothing to it
    await eventually(async () => expect((await channel.checkQueue(topology.queue)).messageCount).toBe(0), {
      timeoutMs: 10_000,
    });
    await consumer.close();
    expect(consumer.ready).toBe(false);
    await sleep(1_000);
    expect((await channel.checkQueue(topology.queue)).messageCount).toBe(0);
    expect((await channel.checkQueue(topology.deadLetterQueue)).messageCount).toBe(0);
    const after = await readSum(pool);
    expect(BigInt(after.sum) - BigInt(before.sum)).toBe(expected);
  });

  it("applies the original project's Debezium envelopes once, even when a re-snapshot (op r) repeats a create (op c)", async () => {
    const topology = uniqueTopology();
    await startConsumer(topology);
    const before = BigInt((await readSum(pool)).sum);
    // The original's Debezium Server: raw change events of outbox(id bigserial, msg integer), JSON with schemas.
    const envelope = (id: number, msg: number, op: 'c' | 'r') =>
      Buffer.from(
        JSON.stringify({
          schema: { type: 'struct' },
          payload: {
            before: null,
            after: { id, msg, started_at: null },
            source: { table: 'outbox' },
            op,
            ts_ms: Date.now(),
          },
        }),
      );
    await publish(topology, [
      { body: envelope(1, 7, 'c'), options: {} },
      { body: envelope(2, 35, 'c'), options: {} },
      // Debezium restarted with offsets in memory: it snapshots the table again.
      { body: envelope(1, 7, 'r'), options: {} },
      { body: envelope(2, 35, 'r'), options: {} },
      { body: envelope(3, -2, 'r'), options: {} },
    ]);
    await eventually(async () => expect(BigInt((await readSum(pool)).sum) - before).toBe(40n), { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(BigInt((await readSum(pool)).sum) - before).toBe(40n);
    expect((await drainQueue(topology.deadLetterQueue)).length).toBe(0);
  });

  it('refuses an event older than the inbox horizon (dead-lettered, beyond_horizon) and never counts a replay twice', async () => {
    const topology = uniqueTopology();
    const { metrics } = await startConsumer(topology);
    const before = BigInt((await readSum(pool)).sum);
    // Given an event accepted an hour ago, applied once
    const hourAgo = new Date(Date.now() - 3_600_000);
    const old = additionEvent(40n, 2n, randomUUID(), hourAgo);
    await publish(topology, [old]);
    await eventually(async () => expect(BigInt((await readSum(pool)).sum) - before).toBe(42n), { timeoutMs: 10_000 });
    // And the inbox pruned with a 30-minute horizon, so its inbox row is gone
    const pruner = new InboxPruner({ pool, retentionSeconds: 1800, metrics, logger });
    const { horizon, pruned } = await pruner.prune();
    expect(pruned).toBeGreaterThanOrEqual(1);
    expect(horizon.getTime()).toBeGreaterThan(hourAgo.getTime());
    const row = await pool.query('SELECT 1 FROM processed_events WHERE event_id = $1', [old.id]);
    expect(row.rowCount).toBe(0);

    // When the old event is delivered again, with a fresh one and an old one never applied before
    const fresh = additionEvent(1n, 2n);
    const late = additionEvent(100n, 0n, randomUUID(), new Date(Date.now() - 2 * 3_600_000));
    await publish(topology, [old, fresh, late]);

    // Then only the fresh one is applied, and both old ones are dead-lettered with the reason
    await eventually(async () => expect((await channel.checkQueue(topology.deadLetterQueue)).messageCount).toBe(2), {
      timeoutMs: 10_000,
    });
    expect(BigInt((await readSum(pool)).sum) - before).toBe(45n);
    const parked = await drainQueue(topology.deadLetterQueue);
    expect(parked.map((m) => m.properties.messageId).sort()).toEqual([old.id, late.id].sort());
    expect(parked.map((m) => m.properties.headers?.['x-sumstream-reason'])).toEqual([
      'beyond_horizon',
      'beyond_horizon',
    ]);
    expect(String(parked[0]!.properties.headers?.['x-sumstream-detail'])).toMatch(/INBOX_RETENTION_SECONDS/);
    expect(await counterValue(metrics.deadLettered, { reason: 'beyond_horizon' })).toBe(2);
    expect((await channel.checkQueue(topology.queue)).messageCount).toBe(0);
  });

  it('neither acknowledges nor dead-letters while PostgreSQL is unreachable, and loses nothing', async () => {
    // Given a consumer whose database is a port nothing listens on
    const topology = uniqueTopology();
    const deadPort = await freePort();
    const unreachable = new pg.Pool({
      connectionString: `postgres://sumstream:sumstream@127.0.0.1:${deadPort}/nowhere`,
      connectionTimeoutMillis: 1_000,
    });
    unreachable.on('error', () => undefined);
    badPools.push(unreachable);
    const { consumer, metrics } = await startConsumer(topology, { pool: unreachable });
    const before = await readSum(pool);

    // When 10 valid events arrive
    const events = Array.from({ length: 10 }, (_, i) => additionEvent(BigInt(i), 1_000n));
    await publish(topology, events);

    // Then the consumer keeps retrying them (retries counted), holding them unacknowledged
    await eventually(async () => expect(await counterValue(metrics.applyRetries)).toBeGreaterThanOrEqual(2), {
      timeoutMs: 10_000,
    });
    await sleep(2_000);
    expect((await channel.checkQueue(topology.queue)).messageCount).toBe(0); // all delivered to the consumer...
    await eventually(
      async () =>
        expect(await queueStats(inject('amqpManagementUrl'), vhost.vhost, topology.queue)).toEqual({
          ready: 0,
          unacked: 10,
        }),
      {
        timeoutMs: 20_000,
        intervalMs: 500,
      },
    ); // ...and none acknowledged
    // And nothing was dead-lettered or applied
    expect((await channel.checkQueue(topology.deadLetterQueue)).messageCount).toBe(0);
    expect(await counterValue(metrics.deadLettered)).toBe(0);
    expect(await counterValue(metrics.applied)).toBe(0);

    // When the consumer is closed
    await consumer.close();

    // Then all 10 messages are back in the queue
    await eventually(async () => expect((await channel.checkQueue(topology.queue)).messageCount).toBe(events.length), {
      timeoutMs: 10_000,
    });
    expect((await channel.checkQueue(topology.deadLetterQueue)).messageCount).toBe(0);

    // And a consumer with a working database applies them all, once
    const { consumer: healthy } = await startConsumer(topology);
    const expected = events.reduce((s, e) => s + e.amount, 0n);
    await eventually(
      async () => {
        const now = await readSum(pool);
        expect(BigInt(now.sum) - BigInt(before.sum)).toBe(expected);
        expect(BigInt(now.appliedEvents) - BigInt(before.appliedEvents)).toBe(BigInt(events.length));
      },
      { timeoutMs: 15_000 },
    );
    await eventually(async () => expect((await channel.checkQueue(topology.queue)).messageCount).toBe(0), {
      timeoutMs: 10_000,
    });
    await healthy.close();
    await sleep(500);
    expect((await channel.checkQueue(topology.queue)).messageCount).toBe(0);
    const inbox = await pool.query('SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::text[])', [
      events.map((e) => e.id),
    ]);
    expect(inbox.rows[0]).toEqual({ n: events.length });
  });

  it('declares the topology on start, so events published before any consumer ran are kept', async () => {
    // Given the topology declared by another process (as the relay does) and events published before the consumer starts
    const topology = uniqueTopology();
    const declarer = await connection.createChannel();
    await assertTopology(declarer, topology);
    await declarer.close();
    const events = [additionEvent(7n, 8n), additionEvent(9n, 10n)];
    await publish(topology, events);
    const before = await readSum(pool);

    // When a consumer starts
    const { consumer } = await startConsumer(topology);

    // Then it takes them from the durable queue
    await eventually(async () => expect(BigInt((await readSum(pool)).sum) - BigInt(before.sum)).toBe(34n), {
      timeoutMs: 15_000,
    });
    await consumer.close();
  });
});
