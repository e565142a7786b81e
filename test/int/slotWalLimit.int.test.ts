/**
 * The slot's WAL bound for real: a PostgreSQL of this file's own (the tier's server keeps the dev
 * stack's bound, and other files' slots live there) with `max_slot_wal_keep_size = 32MB` (two WAL
 * segments) and no timed checkpoints, so PostgreSQL invalidates the slot exactly when the test runs
 * CHECKPOINT. A relay streams, stops; WAL is written past the bound; the relay's gauges show it (the
 * alert's inputs); a checkpoint invalidates the slot; the relay refuses it; `resyncSlot` republishes
 * the ledger and the sum ends exact. Runs on SUMSTREAM_PG_BIN's server, so on both versions of CI.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AdditionWriter, type RecordedAddition } from '../../src/add-service/additionWriter.js';
import { validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { Relay } from '../../src/cdc-relay/relay.js';
import { createRelayMetrics, type RelayMetrics } from '../../src/cdc-relay/relayMetrics.js';
import { resyncSlot } from '../../src/cdc-relay/resyncSlot.js';
import { guardSlot } from '../../src/cdc-relay/slotGuard.js';
import { freePort, type PostgresInstance, REPO_ROOT, startPostgres } from '../../src/dev-stack/index.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { EventConsumer } from '../../src/sum-service/eventConsumer.js';
import { createSumMetrics, type SumMetrics } from '../../src/sum-service/sumMetrics.js';
import { readSum } from '../../src/sum-view/readSum.js';
import { eventually } from '../helpers/eventually.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';
import { uniqueTopology } from '../helpers/uniqueTopology.js';

const SLOT = 'wal_bound_test';
const PUBLICATION = 'sumstream_outbox'; // created by migrations/0001
const TABLE = { schema: 'public', name: 'outbox' };
const LIMIT_BYTES = 32 * 1024 * 1024;
const INVALIDATED = `slot ${SLOT} was invalidated (wal_status lost): PostgreSQL removed WAL it had not streamed`;
const logger = createLogger('test', 'silent');
const gauge = async (metric: RelayMetrics[keyof RelayMetrics]): Promise<number> =>
  (await metric.get()).values[0]?.value ?? 0;
const total = (additions: readonly RecordedAddition[]): bigint => additions.reduce((sum, r) => sum + r.sum, 0n);

describe("the slot's WAL bound (max_slot_wal_keep_size): invalidation, detection, resync", () => {
  const base = path.join(REPO_ROOT, '.sumstream', 'test', `wal-bound-${randomBytes(4).toString('hex')}`);
  const topology = uniqueTopology();
  let server: PostgresInstance | undefined;
  let pool: pg.Pool;
  let vhost: TestVhost;
  let amqpConnection: ChannelModel;
  let consumer: EventConsumer;
  let sumMetrics: SumMetrics;
  let writer: AdditionWriter;
  let lock: pg.Client | undefined;
  const relays: Relay[] = [];

  beforeAll(async () => {
    server = await startPostgres({
      dataDir: path.join(base, 'data'),
      port: await freePort(),
      binDir: process.env.SUMSTREAM_PG_BIN,
      maxSlotWalKeepSize: '32MB',
      // Checkpoints only when the test asks (a timed one would invalidate the slot before the gauges are read).
      settings: { checkpoint_timeout: "'1d'", max_wal_size: "'1GB'", wal_keep_size: '0' },
    });
    pool = new pg.Pool({ connectionString: server.url, max: 8 });
    pool.on('error', () => undefined);
    await migrate(pool);
    writer = new AdditionWriter(pool);
    vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'wal-bound');
    amqpConnection = await amqp.connect(vhost.amqpUrl);
    sumMetrics = createSumMetrics(createRegistry('test'));
    // The sum-service's consumer: every event through the inbox, applied once.
    consumer = new EventConsumer({ amqpUrl: vhost.amqpUrl, topology, pool, metrics: sumMetrics, logger, shard: 1 });
    await consumer.start();
  }, 120_000);

  afterAll(async () => {
    for (const relay of relays) await relay.close().catch(() => undefined);
    await lock?.end().catch(() => undefined);
    await consumer?.close().catch(() => undefined);
    await amqpConnection?.close().catch(() => undefined);
    if (pool) {
      await eventually(
        () =>
          pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
            SLOT,
          ]),
        { timeoutMs: 20_000, intervalMs: 200 },
      ).catch((error: unknown) => console.error(`could not drop replication slot ${SLOT}:`, error));
      await pool.end();
    }
    await vhost?.drop();
    await server?.stop();
    if (process.env.SUMSTREAM_KEEP_TEST_DATA !== '1') await rm(base, { recursive: true, force: true });
  });

  function startRelay(): { relay: Relay; metrics: RelayMetrics } {
    const metrics = createRelayMetrics(createRegistry('test'));
    const relay = new Relay({
      databaseUrl: server!.url,
      slot: SLOT,
      publication: PUBLICATION,
      table: TABLE,
      amqpUrl: vhost.amqpUrl,
      topology,
      statusIntervalMs: 100,
      standbyPollMs: 200,
      slotRecheckMs: 200,
      stepDownAfterMs: 1_000,
      pool,
      metrics,
      logger,
    });
    relays.push(relay);
    relay.start();
    return { relay, metrics };
  }

  const addMany = (count: number, offset: number): Promise<RecordedAddition[]> =>
    Promise.all(
      Array.from({ length: count }, (_, i) => writer.write(validateAddRequest({ a: String(offset + i), b: '1' }))),
    );
  const sum = async () => {
    const { sum: value, appliedEvents } = await readSum(pool);
    return { sum: BigInt(value), applied: Number(appliedEvents) };
  };
  const walStatus = async (): Promise<string | undefined> =>
    (
      await pool.query<{ wal_status: string | null }>(
        'SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1',
        [SLOT],
      )
    ).rows[0]?.wal_status ?? undefined;
  const count = async (table: string): Promise<number> =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

  it('invalidates the slot past the bound while writes go on; the relay reports it; a resync makes the sum exact', async () => {
    // Given a relay that streamed additions, which the consumer applied
    const first = startRelay();
    await eventually(() => expect(first.relay.state).toBe('active'), { timeoutMs: 15_000 });
    const streamed = await addMany(10, 0);
    await eventually(async () => expect(await sum()).toEqual({ sum: total(streamed), applied: 10 }), {
      timeoutMs: 20_000,
    });
    // And that then stopped
    await first.relay.close();

    // And a relay that only samples the slot: another session holds the leader lock, so it stays standby
    lock = new pg.Client({ connectionString: server!.url });
    await lock.connect();
    await eventually(
      async () =>
        expect(
          (
            await lock!.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
              `sumstream-relay:${SLOT}`,
            ])
          ).rows[0]?.locked,
        ).toBe(true),
      { timeoutMs: 10_000 },
    );
    const second = startRelay();
    await eventually(async () => expect(await gauge(second.metrics.slotWalLimit)).toBe(LIMIT_BYTES), {
      timeoutMs: 10_000,
    });
    expect(second.relay.state).toBe('standby');
    expect(await gauge(second.metrics.slotRetainedWal)).toBeLessThan(LIMIT_BYTES);
    expect(await gauge(second.metrics.slotSafeWal)).toBeGreaterThan(0);
    expect(await walStatus()).toBe('reserved');

    // When additions are written while no relay streams, and then more WAL than the bound lets the slot keep
    const whileStopped = await addMany(10, 100);
    await pool.query('CREATE TABLE wal_filler (pad text)');
    for (let segments = 0; (await walStatus()) === 'reserved' || (await walStatus()) === 'extended'; segments++) {
      if (segments > 20) throw new Error(`the slot is still ${await walStatus()} after ${segments} WAL segments`);
      await pool.query("INSERT INTO wal_filler SELECT repeat('x', 1000) FROM generate_series(1, 1000)");
      await pool.query('SELECT pg_switch_wal()');
    }

    // Then, before any checkpoint, the slot is past the bound (PostgreSQL keeps its WAL only until the next
    // checkpoint) and the relay's gauges show it: retained WAL above the limit, safe_wal_size at or below 0
    expect(await walStatus()).toBe('unreserved');
    await eventually(
      async () => {
        expect(await gauge(second.metrics.slotRetainedWal)).toBeGreaterThan(LIMIT_BYTES);
        expect(await gauge(second.metrics.slotSafeWal)).toBeLessThanOrEqual(0);
      },
      { timeoutMs: 10_000 },
    );

    // When PostgreSQL checkpoints, Then it invalidates the slot
    await eventually(
      async () => {
        await pool.query('CHECKPOINT');
        expect(await walStatus()).toBe('lost');
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    // And the gauges say it keeps nothing and nothing is left
    await eventually(
      async () => {
        expect(await gauge(second.metrics.slotRetainedWal)).toBe(0);
        expect(await gauge(second.metrics.slotSafeWal)).toBe(0);
      },
      { timeoutMs: 10_000 },
    );
    // And writes go on: additions are accepted while the slot is lost
    const whileLost = await addMany(5, 200);
    // And the guard calls the slot lost, and records why
    expect(
      await guardSlot(pool, { databaseUrl: server!.url, slot: SLOT, publication: PUBLICATION, table: TABLE }),
    ).toEqual({
      action: 'lost',
      reason: INVALIDATED,
      record: true,
    });

    // When the relay becomes the leader, Then it streams nothing and says so: the gauge and its readiness
    await lock.end();
    lock = undefined;
    await eventually(async () => expect(await gauge(second.metrics.slotLost)).toBe(1), { timeoutMs: 15_000 });
    expect(second.relay.state).toBe('slot-lost');
    expect(second.relay.readiness()).toBe(
      `Replication slot ${SLOT} was lost: ${INVALIDATED}. ` +
        'Nothing is streamed until an operator runs `sumstream cdc resync` (docs/operations.md#a-lost-replication-slot).',
    );
    // And none of what was written after it stopped reached the sum
    expect(await sum()).toEqual({ sum: total(streamed), applied: 10 });

    // When an operator runs the documented recovery (`sumstream cdc resync`)
    const channel = await amqpConnection.createConfirmChannel();
    const result = await resyncSlot(pool, channel, topology, { slot: SLOT, publication: PUBLICATION, table: TABLE });
    await channel.close();

    // Then the invalidated slot is replaced by a fresh one, and every ledger event was published again
    expect(result).toMatchObject({ slot: SLOT, slotCreated: true, clearedReason: INVALIDATED });
    expect(result.published).toBe(await count('additions'));
    expect(await walStatus()).toBe('reserved');
    // And the sum is exact: everything once, the events applied before skipped by the inbox
    const written = [...streamed, ...whileStopped, ...whileLost];
    await eventually(async () => expect(await sum()).toEqual({ sum: total(written), applied: 25 }), {
      timeoutMs: 20_000,
    });
    expect(await count('processed_events')).toBe(25);
    expect((await sumMetrics.duplicates.get()).values.reduce((n, v) => n + v.value, 0)).toBeGreaterThanOrEqual(10);

    // And the relay streams again by itself, the slot within its bound, including what is written after
    await eventually(() => expect(second.relay.state).toBe('active'), { timeoutMs: 15_000 });
    expect(await gauge(second.metrics.slotLost)).toBe(0);
    expect(second.relay.readiness()).toBeUndefined();
    const after = await addMany(5, 300);
    await eventually(async () => expect(await sum()).toEqual({ sum: total([...written, ...after]), applied: 30 }), {
      timeoutMs: 20_000,
    });
    await eventually(
      async () => {
        expect(await gauge(second.metrics.slotRetainedWal)).toBeLessThan(LIMIT_BYTES);
        expect(await gauge(second.metrics.slotSafeWal)).toBeGreaterThan(0);
      },
      { timeoutMs: 10_000 },
    );
  }, 180_000);
});
