import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AdditionWriter, type RecordedAddition } from '../../src/add-service/additionWriter.js';
import { validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { Relay } from '../../src/cdc-relay/relay.js';
import { createRelayMetrics, type RelayMetrics } from '../../src/cdc-relay/relayMetrics.js';
import { resyncSlot } from '../../src/cdc-relay/resyncSlot.js';
import { currentTimeline, guardSlot } from '../../src/cdc-relay/slotGuard.js';
import type { TopologyConfig } from '../../src/shared/config/commonConfig.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { assertTopology } from '../../src/shared/messaging/assertTopology.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { sleep } from '../../src/shared/backoff.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';
import { uniqueTopology } from '../helpers/uniqueTopology.js';

const PUBLICATION = 'sumstream_outbox'; // created by migrations/0001
const TABLE = { schema: 'public', name: 'outbox' };
const logger = createLogger('test', 'silent');
const gauge = async (metric: RelayMetrics['slotLost']): Promise<number> => (await metric.get()).values[0]?.value ?? 0;

describe('slot guard: a lost replication slot is detected, never silently re-created, and resynced', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: pg.Pool;
  let amqpConnection: ChannelModel;
  let writer: AdditionWriter;
  const slots: string[] = [];
  const relays: Relay[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'slot_guard');
    vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'slot-guard');
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    pool.on('error', () => undefined); // idle clients are terminated when the database is dropped
    await migrate(pool);
    amqpConnection = await amqp.connect(vhost.amqpUrl);
    writer = new AdditionWriter(pool);
  });

  afterAll(async () => {
    for (const relay of relays) await relay.close().catch(() => undefined);
    await amqpConnection?.close().catch(() => undefined);
    for (const slot of slots) {
      await eventually(
        () =>
          pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [
            slot,
          ]),
        { timeoutMs: 20_000, intervalMs: 200 },
      ).catch((error: unknown) => console.error(`could not drop replication slot ${slot}:`, error));
    }
    await pool?.end();
    await db?.drop();
    await vhost?.drop();
  });

  const newSlotName = () => {
    const slot = `guard_test_${randomBytes(4).toString('hex')}`;
    slots.push(slot);
    return slot;
  };
  const guardOptions = (slot: string) => ({ databaseUrl: db.url, slot, publication: PUBLICATION, table: TABLE });
  const slotExists = async (slot: string) =>
    ((await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount ?? 0) > 0;
  const marker = async (slot: string) =>
    (
      await pool.query<{ timeline: number; lost_reason: string | null }>(
        'SELECT timeline, lost_reason FROM cdc_slots WHERE slot_name = $1',
        [slot],
      )
    ).rows[0];
  const addMany = (count: number, offset: number): Promise<RecordedAddition[]> =>
    Promise.all(
      Array.from({ length: count }, (_, i) => writer.write(validateAddRequest({ a: String(offset + i), b: '1' }))),
    );

  function startRelay(slot: string, topology: TopologyConfig): { relay: Relay; metrics: RelayMetrics } {
    const metrics = createRelayMetrics(createRegistry('test'));
    const relay = new Relay({
      ...guardOptions(slot),
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

  async function collect(topology: TopologyConfig): Promise<{ received: ConsumeMessage[]; ids: () => Set<string> }> {
    const channel = await amqpConnection.createChannel();
    await assertTopology(channel, topology);
    const received: ConsumeMessage[] = [];
    await channel.consume(topology.queue, (message) => {
      if (message) {
        received.push(message);
        channel.ack(message);
      }
    });
    return { received, ids: () => new Set(received.map((m) => String(m.properties.messageId))) };
  }

  it('creates the publication, the slot and the marker on a first install, records an unrecorded slot, and is ok after', async () => {
    // Given no slot and no marker
    const slot = newSlotName();
    const timeline = await currentTimeline(pool);
    expect(timeline).toBeGreaterThanOrEqual(1);

    // When the guard runs (as the relay does at start), Then it creates the slot and records it
    expect(await guardSlot(pool, guardOptions(slot))).toEqual({ action: 'create' });
    const { rows } = await pool.query<{ plugin: string }>(
      'SELECT plugin FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    expect(rows).toEqual([{ plugin: 'pgoutput' }]);
    expect(await marker(slot)).toEqual({ timeline, lost_reason: null });
    // And again: nothing to do
    expect(await guardSlot(pool, guardOptions(slot))).toEqual({ action: 'ok' });

    // Given a slot made by someone else (Patroni at bootstrap, say), When the guard runs, Then it records it
    const made = newSlotName();
    await pool.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [made]);
    expect(await guardSlot(pool, guardOptions(made))).toEqual({ action: 'record' });
    expect(await marker(made)).toEqual({ timeline, lost_reason: null });

    // And a slot of another plugin is refused, with the fix
    const other = newSlotName();
    await pool.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [other]);
    await expect(guardSlot(pool, guardOptions(other))).rejects.toThrow(/uses plugin test_decoding, not pgoutput/);
  });

  it('refuses to stream from a dropped slot, reports it, and streams again after a resync that republished every event', async () => {
    const slot = newSlotName();
    const topology = uniqueTopology();
    const { received, ids } = await collect(topology);

    // Given a relay that streamed from its slot
    const first = startRelay(slot, topology);
    await eventually(() => expect(first.relay.state).toBe('active'), { timeoutMs: 10_000 });
    const before = await addMany(10, 0);
    await eventually(() => expect(before.every((r) => ids().has(r.id))).toBe(true), { timeoutMs: 15_000 });
    await first.relay.close();

    // When the slot is lost (dropped, as a failover to a standby without it would) and more additions are written
    await eventually(() => pool.query('SELECT pg_drop_replication_slot($1)', [slot]), { timeoutMs: 10_000 });
    const lostEvents = await addMany(10, 100);

    // Then the guard calls it lost, records why, and does not create the slot
    const verdict = await guardSlot(pool, guardOptions(slot));
    expect(verdict).toEqual({
      action: 'lost',
      reason: `slot ${slot} does not exist although the relay streamed from it before`,
      record: true,
    });
    expect(await slotExists(slot)).toBe(false);
    expect((await marker(slot))?.lost_reason).toMatch(/does not exist although the relay streamed from it before/);
    // And a second run keeps it (sticky), without writing it again
    expect(await guardSlot(pool, guardOptions(slot))).toMatchObject({ action: 'lost', record: false });

    // When a relay starts on it
    const second = startRelay(slot, topology);
    // Then it streams nothing and says so: the gauge, its readiness with the fix
    await eventually(async () => expect(await gauge(second.metrics.slotLost)).toBe(1), { timeoutMs: 10_000 });
    expect(second.relay.state).toBe('slot-lost');
    expect(second.relay.readiness()).toBe(
      `Replication slot ${slot} was lost: slot ${slot} does not exist although the relay streamed from it before. ` +
        'Nothing is streamed until an operator runs `sumstream cdc resync` (docs/operations.md#a-lost-replication-slot).',
    );
    // And it keeps checking without creating the slot, without counting failures or stepping down
    await sleep(1_500); // several RELAY_SLOT_RECHECK_MS, longer than its step-down time
    expect(await slotExists(slot)).toBe(false);
    expect(second.relay.state).toBe('slot-lost');
    expect((await second.metrics.reconnects.get()).values[0]?.value ?? 0).toBe(0);
    expect(lostEvents.some((r) => ids().has(r.id))).toBe(false);

    // When an operator resyncs
    const channel = await amqpConnection.createConfirmChannel();
    const result = await resyncSlot(pool, channel, topology, { slot, publication: PUBLICATION, table: TABLE });
    await channel.close();

    // Then the slot exists again, every ledger event was published with its id, and the marker is cleared
    expect(result).toEqual({
      slot,
      slotCreated: true,
      published: 20,
      clearedReason: `slot ${slot} does not exist although the relay streamed from it before`,
      timeline: await currentTimeline(pool),
    });
    expect(await slotExists(slot)).toBe(true);
    expect(await marker(slot)).toEqual({ timeline: result.timeline, lost_reason: null });
    await eventually(() => expect([...before, ...lostEvents].every((r) => ids().has(r.id))).toBe(true), {
      timeoutMs: 15_000,
    });

    // And the relay streams again by itself, including what is written after
    await eventually(() => expect(second.relay.state).toBe('active'), { timeoutMs: 10_000 });
    expect(await gauge(second.metrics.slotLost)).toBe(0);
    expect(second.relay.readiness()).toBeUndefined();
    const after = await addMany(5, 200);
    await eventually(() => expect(after.every((r) => ids().has(r.id))).toBe(true), { timeoutMs: 15_000 });
    expect(await guardSlot(pool, guardOptions(slot))).toEqual({ action: 'ok' });
    // Every id is a ledger id: duplicates are republished events, never new ones
    const ledger = new Set((await pool.query<{ id: string }>('SELECT id FROM additions')).rows.map((r) => r.id));
    expect([...ids()].every((id) => ledger.has(id))).toBe(true);
    expect(received.length).toBeGreaterThanOrEqual(25);
    await second.relay.close();
  });

  it('turns a slot dropped under a streaming relay into the same lost state, and never re-creates it', async () => {
    const slot = newSlotName();
    const topology = uniqueTopology();
    const { ids } = await collect(topology);
    const { relay, metrics } = startRelay(slot, topology);
    await eventually(() => expect(relay.state).toBe('active'), { timeoutMs: 10_000 });
    const first = await addMany(3, 300);
    await eventually(() => expect(first.every((r) => ids().has(r.id))).toBe(true), { timeoutMs: 15_000 });

    // When the slot is dropped while the relay streams (its walsender terminated first)
    await eventually(
      async () => {
        await pool.query(
          'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL',
          [slot],
        );
        await pool.query('SELECT pg_drop_replication_slot($1)', [slot]);
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );

    // Then the failing session ("replication slot ... does not exist") leads to the lost state, not a new slot
    await eventually(() => expect(relay.state).toBe('slot-lost'), { timeoutMs: 15_000 });
    expect(await gauge(metrics.slotLost)).toBe(1);
    await sleep(1_000);
    expect(await slotExists(slot)).toBe(false);
    expect(relay.state).toBe('slot-lost');
    // And a relay that no longer leads stops reporting it (the next leader finds the mark in cdc_slots)
    await relay.close();
    expect(await gauge(metrics.slotLost)).toBe(0);
    expect(relay.readiness()).toBe('Relay is stopped.');
  });
});
