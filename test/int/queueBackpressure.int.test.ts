/**
 * The queue's length bound (x-max-length, x-overflow: reject-publish) against the real relay: at the
 * bound RabbitMQ nacks, and the relay holds the replication stream back instead of failing, never
 * confirming the slot past an event RabbitMQ has not taken; once a consumer drains the queue every
 * event arrives, in WAL order, and the slot catches up.
 */
import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AdditionWriter, type RecordedAddition } from '../../src/add-service/additionWriter.js';
import { validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { ensureSlot } from '../../src/cdc-relay/ensureSlot.js';
import { Relay } from '../../src/cdc-relay/relay.js';
import { republishLedger } from '../../src/cdc-relay/republishLedger.js';
import { createRelayMetrics, type RelayMetrics } from '../../src/cdc-relay/relayMetrics.js';
import { sleep } from '../../src/shared/backoff.js';
import type { TopologyConfig } from '../../src/shared/config/commonConfig.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { assertTopology } from '../../src/shared/messaging/assertTopology.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';
import { uniqueTopology } from '../helpers/uniqueTopology.js';

const PUBLICATION = 'sumstream_outbox'; // created by migrations/0001
const TABLE = { schema: 'public', name: 'outbox' };
const MAX_LENGTH = 20;
/** The walsender gives up on a client silent for this long; the test holds the relay back for longer. */
const WAL_SENDER_TIMEOUT_MS = 2_000;
const logger = createLogger('test', 'silent');
const hex = () => randomBytes(4).toString('hex');
const value = async (metric: RelayMetrics[keyof RelayMetrics]): Promise<number> =>
  (await metric.get()).values[0]?.value ?? 0;

describe('queue length bound: the relay holds back at it and resumes once the queue drains', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: pg.Pool;
  let amqpConnection: ChannelModel;
  let writer: AdditionWriter;
  const slots: string[] = [];
  const relays: Relay[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'backpressure');
    vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'backpressure');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
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

  function startRelay(slot: string, topology: TopologyConfig): { relay: Relay; metrics: RelayMetrics } {
    const metrics = createRelayMetrics(createRegistry('test'));
    // A short walsender timeout for the relay's own connections: holding back must keep answering.
    const url = new URL(db.url);
    url.searchParams.set('options', `-c wal_sender_timeout=${WAL_SENDER_TIMEOUT_MS}ms`);
    const relay = new Relay({
      databaseUrl: url.toString(),
      amqpUrl: vhost.amqpUrl,
      topology,
      slot,
      publication: PUBLICATION,
      table: TABLE,
      statusIntervalMs: 100,
      standbyPollMs: 200,
      // Failing sessions would make it step down within a second: a full queue must not.
      stepDownAfterMs: 1_000,
      pool,
      metrics,
      logger,
    });
    relays.push(relay);
    relay.start();
    return { relay, metrics };
  }

  /** One transaction per addition, so LSNs tell the events apart. */
  async function addSequentially(count: number, offset: number): Promise<RecordedAddition[]> {
    const written: RecordedAddition[] = [];
    for (let i = 0; i < count; i++)
      written.push(await writer.write(validateAddRequest({ a: String(offset + i), b: '1' })));
    return written;
  }

  const slotRow = async (slot: string) =>
    (
      await pool.query<{ confirmed: string; pid: number | null }>(
        'SELECT confirmed_flush_lsn::text AS confirmed, active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      )
    ).rows[0]!;
  const lsnLessOrEqual = async (a: string, b: string): Promise<boolean> =>
    (await pool.query<{ ok: boolean }>('SELECT $1::pg_lsn <= $2::pg_lsn AS ok', [a, b])).rows[0]!.ok;
  /** Message ids in the queue, oldest first, left in it (the management API requeues them). */
  async function peekQueue(queue: string): Promise<string[]> {
    const base = new URL(inject('amqpManagementUrl'));
    const res = await fetch(
      new URL(`/api/queues/${encodeURIComponent(vhost.vhost)}/${encodeURIComponent(queue)}/get`, base.origin),
      {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ count: 1000, ackmode: 'ack_requeue_true', encoding: 'auto' }),
      },
    );
    if (!res.ok) throw new Error(`management API get ${queue} -> ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { properties: { message_id: string } }[]).map((m) => m.properties.message_id);
  }

  it('holds back at the bound without failing or over-confirming, keeps the walsender alive, and delivers everything once drained', async () => {
    const topology: TopologyConfig = { ...uniqueTopology(), maxLength: MAX_LENGTH };
    const slot = `backpressure_${hex()}`;
    // A test_decoding slot from the same point shows where each outbox insert sits in the WAL.
    const witness = `backpressure_witness_${hex()}`;
    slots.push(slot, witness);
    await ensureSlot(pool, { slot, publication: PUBLICATION, table: `${TABLE.schema}.${TABLE.name}` });
    await pool.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [witness]);
    const inspect = await amqpConnection.createChannel();
    await assertTopology(inspect, topology);
    const depth = async () => (await inspect.checkQueue(topology.queue)).messageCount;

    // Given a relay and nobody consuming
    const { relay, metrics } = startRelay(slot, topology);
    await eventually(() => expect(relay.state).toBe('active'), { timeoutMs: 10_000 });
    const lsnBefore = (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;

    // When more additions are written than the queue may hold
    const first = await addSequentially(3 * MAX_LENGTH, 0);

    // Then the relay is held back: RabbitMQ refused publishes, the gauge says so, and the queue sits at its bound
    await eventually(async () => expect(await value(metrics.backpressure)).toBe(1), { timeoutMs: 15_000 });
    expect(await value(metrics.publishRejected)).toBeGreaterThan(0);
    await eventually(async () => expect(await depth()).toBeGreaterThanOrEqual(MAX_LENGTH), { timeoutMs: 10_000 });
    const walsender = (await slotRow(slot)).pid;
    expect(walsender).not.toBeNull();

    // And the Add path is untouched: writes are still accepted meanwhile
    const second = await addSequentially(MAX_LENGTH, 10_000);
    expect(second).toHaveLength(MAX_LENGTH);

    // When it stays held back for longer than the walsender's timeout (and the relay's step-down delay)
    await sleep(3 * WAL_SENDER_TIMEOUT_MS);

    // Then nothing failed: same walsender, no reconnect, still the active relay, still held back
    expect((await slotRow(slot)).pid).toBe(walsender);
    expect(await value(metrics.reconnects)).toBe(0);
    expect(relay.state).toBe('active');
    expect(await value(metrics.backpressure)).toBe(1);

    // And the slot is not confirmed past the first event RabbitMQ has not taken (but up to the events it has)
    const inQueue = new Set(await peekQueue(topology.queue));
    const { rows: changes } = await pool.query<{ lsn: string; data: string }>(
      'SELECT lsn::text AS lsn, data FROM pg_logical_slot_peek_changes($1, NULL, NULL)',
      [witness],
    );
    const inserts = changes.flatMap(({ lsn, data }) => {
      const id = /^table public\.outbox: INSERT: id\[uuid\]:'([0-9a-f-]+)'/.exec(data)?.[1];
      return id ? [{ lsn, id }] : [];
    });
    expect(inserts.map((i) => i.id)).toEqual([...first, ...second].map((r) => r.id));
    const firstRefused = inserts.find((i) => !inQueue.has(i.id));
    expect(firstRefused).toBeDefined();
    const { confirmed } = await slotRow(slot);
    expect(
      await lsnLessOrEqual(confirmed, firstRefused!.lsn),
      `confirmed ${confirmed}, first refused event at ${firstRefused!.lsn}`,
    ).toBe(true);
    expect(await lsnLessOrEqual(confirmed, lsnBefore), `confirmed ${confirmed} moved past ${lsnBefore}`).toBe(false);

    // When a relay starts afresh while the queue is still full (it confirms nothing at all)
    await relay.close();
    const again = startRelay(slot, topology);
    await eventually(async () => expect(await value(again.metrics.backpressure)).toBe(1), { timeoutMs: 15_000 });
    const walsenderAgain = (await slotRow(slot)).pid;
    await sleep(3 * WAL_SENDER_TIMEOUT_MS);

    // Then it too keeps its walsender and does not fail
    expect((await slotRow(slot)).pid).toBe(walsenderAgain);
    expect(await value(again.metrics.reconnects)).toBe(0);
    expect(again.relay.state).toBe('active');

    // When a consumer drains the queue
    const received: string[] = [];
    const consumer = await amqpConnection.createChannel();
    await consumer.prefetch(5);
    await consumer.consume(topology.queue, (message) => {
      if (!message) return;
      received.push(String(message.properties.messageId));
      consumer.ack(message);
    });
    const all = [...first, ...second].map((r) => r.id);
    const lsnAfter = (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;

    // Then every event arrives exactly once, those held back in WAL order; the relay is no longer held back; the slot catches up
    await eventually(() => expect(new Set(received).size).toBe(all.length), { timeoutMs: 30_000 });
    expect(received).toHaveLength(all.length);
    // (The peek above requeued the messages already queued, which may reorder those among themselves.)
    const retried = all.filter((id) => !inQueue.has(id));
    expect(received.filter((id) => !inQueue.has(id))).toEqual(retried);
    await eventually(async () => expect(await value(again.metrics.backpressure)).toBe(0), { timeoutMs: 10_000 });
    await eventually(async () => expect(await lsnLessOrEqual(lsnAfter, (await slotRow(slot)).confirmed)).toBe(true), {
      timeoutMs: 15_000,
    });
    expect(await value(again.metrics.reconnects)).toBe(0);
    expect(await value(again.metrics.published)).toBe(all.length - inQueue.size);
    expect(await value(again.metrics.queueMaxLength)).toBe(MAX_LENGTH);
    await consumer.close();
    await inspect.close();
    await again.relay.close();
  });

  it('republishes a ledger larger than the room in the queue: refused events are retried until taken', async () => {
    // Given a queue with room for 20 and a ledger of 50 more additions, and a slow consumer
    const topology: TopologyConfig = { ...uniqueTopology(), maxLength: MAX_LENGTH };
    const channel = await amqpConnection.createConfirmChannel();
    await assertTopology(channel, topology);
    const written = await addSequentially(50, 10_000);
    const received = new Set<string>();
    const reader = await amqpConnection.createChannel();
    let reading = true;
    const draining = (async () => {
      while (reading) {
        const message = await reader.get(topology.queue, { noAck: true });
        if (message === false) await sleep(20);
        else received.add(String(message.properties.messageId));
        await sleep(5);
      }
    })();

    // When the ledger is republished
    let refused = 0;
    const published = await republishLedger(pool, channel, topology, {
      pageSize: 40,
      onRefused: (n) => (refused += n),
    });

    // Then RabbitMQ refused some at its bound, and every addition was delivered in the end
    expect(refused).toBeGreaterThan(0);
    expect(published).toBeGreaterThanOrEqual(written.length);
    await eventually(() => expect(written.filter((w) => !received.has(w.id))).toEqual([]), { timeoutMs: 20_000 });
    reading = false;
    await draining;
    await reader.close();
    await channel.close();
  });
});
