import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TopologyConfig } from '../../src/shared/config/commonConfig.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { EventConsumer } from '../../src/sum-service/eventConsumer.js';
import type { StatusDocument } from '../../src/sum-service/statusPage/computeStatus.js';
import { StatusCollector, type StatusCollectorOptions } from '../../src/sum-service/statusPage/statusCollector.js';
import { createSumMetrics, type SumMetrics } from '../../src/sum-service/sumMetrics.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';
import { uniqueTopology } from '../helpers/uniqueTopology.js';

describe('StatusCollector (real PostgreSQL and RabbitMQ)', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: pg.Pool;
  let connection: ChannelModel;
  let publisher: ConfirmChannel;
  let consumer: EventConsumer;
  let topology: TopologyConfig;
  let metrics: SumMetrics;
  let registry: ReturnType<typeof createRegistry>;
  const slot = `status_${randomBytes(4).toString('hex')}`;
  let clock = Date.now();

  const collector = (overrides: Partial<StatusCollectorOptions> = {}) =>
    new StatusCollector({
      registry,
      db: pool,
      checkQueue: (queue) => consumer.checkQueue(queue),
      consuming: () => consumer.ready,
      queues: { main: topology.queue, deadLetter: topology.deadLetterQueue },
      cacheMs: 1_000,
      windowMs: 10_000,
      now: () => clock,
      ...overrides,
    });
  const read = async (status: StatusCollector) => JSON.parse(await status.json()) as StatusDocument;

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'status');
    vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'status');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    await migrate(pool);
    topology = uniqueTopology();
    registry = createRegistry('sum-service');
    metrics = createSumMetrics(registry);
    consumer = new EventConsumer({
      amqpUrl: vhost.amqpUrl,
      topology,
      pool,
      metrics,
      logger: createLogger('test', 'silent'),
    });
    await consumer.start();
    await eventually(() => expect(consumer.ready).toBe(true));
    connection = await amqp.connect(vhost.amqpUrl);
    publisher = await connection.createConfirmChannel();
  });
  afterAll(async () => {
    await pool
      ?.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot])
      .catch(() => undefined);
    await consumer?.close();
    await connection?.close().catch(() => undefined);
    await pool?.end();
    await vhost?.drop();
    await db?.drop();
  });

  it('reports queue depths by a passive check on the consumer connection, and this process as healthy', async () => {
    // Given three dead letters waiting (nobody consumes that queue)
    for (let i = 0; i < 3; i++)
      publisher.sendToQueue(topology.deadLetterQueue, Buffer.from('{}'), { persistent: true });
    await publisher.waitForConfirms();

    const status = await read(collector());

    expect(status.queues.dead_letter).toEqual({ name: topology.deadLetterQueue, messages_ready: 3, consumers: 0 });
    expect(status.queues.main).toEqual({ name: topology.queue, messages_ready: 0, consumers: 1 });
    expect(status.health).toMatchObject({ status: 'ok', consuming: true, database: true, problems: [] });
    expect(status.health.uptime_seconds).toBeGreaterThanOrEqual(0);
  });

  it('shows a queue that does not exist as unknown without creating it or disturbing the consumer', async () => {
    const missing = `missing-${randomBytes(4).toString('hex')}`;
    const status = await read(collector({ queues: { main: topology.queue, deadLetter: missing } }));

    expect(status.queues.dead_letter).toMatchObject({ name: missing, unknown: expect.stringMatching(/NOT_FOUND/) });
    expect(consumer.ready).toBe(true);
    // Still no such queue (the check was passive), and later checks work on a fresh channel.
    await expect(consumer.checkQueue(missing)).rejects.toThrow(/NOT_FOUND/);
    expect((await read(collector())).queues.main).toMatchObject({ messages_ready: 0, consumers: 1 });
  });

  it("reads each logical slot's lag in bytes behind the current WAL position", async () => {
    await pool.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    await pool.query("SELECT pg_logical_emit_message(true, 'sumstream-test', repeat('x', 4096))"); // WAL after the slot's position, flushed at commit

    const status = await read(collector());

    expect(status.replication_slots).toEqual({
      slots: [{ slot_name: slot, plugin: 'pgoutput', active: false, lag_bytes: expect.any(Number) }],
    });
    const [only] = (status.replication_slots as { slots: { lag_bytes: number }[] }).slots;
    expect(only!.lag_bytes).toBeGreaterThan(0);
  });

  it('computes once per cache period for every caller, and measures the rate between its samples', async () => {
    const status = collector();
    const [first, ...others] = await Promise.all(Array.from({ length: 20 }, () => status.json()));
    expect(new Set(others)).toEqual(new Set([first]));
    expect(JSON.parse(first!)).toMatchObject({ window_seconds: null, events_applied_per_second: null });

    // When 30 events are applied and the clock moves past the cache period
    metrics.applied.inc(30);
    metrics.endToEnd.observe(0.02);
    clock += 999;
    expect(await status.json()).toBe(first);
    clock += 4_001; // 5 s after the first sample
    const later = JSON.parse(await status.json()) as StatusDocument;

    expect(later.window_seconds).toBe(5);
    expect(later.events_applied_per_second).toBe(6);
    expect(later.end_to_end_latency_seconds.recent).toMatchObject({ events: 1 });
    expect(later.totals.events_applied).toBe(30);
  });
});
