import { randomBytes, randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AdditionWriter, type RecordedAddition } from '../../src/add-service/additionWriter.js';
import { validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { checkReplicationPrerequisites } from '../../src/shared/db/checkReplicationPrerequisites.js';
import { ensureSlot } from '../../src/cdc-relay/ensureSlot.js';
import { Relay } from '../../src/cdc-relay/relay.js';
import { createRelayMetrics, type RelayMetrics } from '../../src/cdc-relay/relayMetrics.js';
import type { TopologyConfig } from '../../src/shared/config/commonConfig.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { assertTopology } from '../../src/shared/messaging/assertTopology.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { ADDITION_AGGREGATE_TYPE, ADDITION_EVENT_TYPE } from '../../src/shared/vocabulary.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';
import { sleep } from '../../src/shared/backoff.js';
import { uniqueTopology } from '../helpers/uniqueTopology.js';

const PUBLICATION = 'sumstream_outbox'; // created by migrations/0001
const TABLE = { schema: 'public', name: 'outbox' };
const logger = createLogger('test', 'silent');
const hex = () => randomBytes(4).toString('hex');

const gauge = async (metric: RelayMetrics['active']): Promise<number> => (await metric.get()).values[0]?.value ?? 0;
const counter = async (metric: RelayMetrics['published']): Promise<number> =>
  (await metric.get()).values[0]?.value ?? 0;

describe('CDC relay (PostgreSQL logical replication -> RabbitMQ)', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let pool: pg.Pool;
  let amqpConnection: ChannelModel;
  let writer: AdditionWriter;
  const slots: string[] = [];
  const roles: string[] = [];
  const relays: Relay[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'relay');
    vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'relay');
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    pool.on('error', () => undefined); // idle clients are terminated when the database is dropped
    await migrate(pool);
    amqpConnection = await amqp.connect(vhost.amqpUrl);
    writer = new AdditionWriter(pool);
  });

  afterAll(async () => {
    for (const relay of relays) await relay.close().catch(() => undefined);
    await amqpConnection?.close().catch(() => undefined);
    // A database with a replication slot cannot be dropped: drop ours first (once their walsenders are gone).
    for (const slot of slots) {
      await eventually(
        async () => {
          await pool.query(
            'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
            [slot],
          );
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      ).catch((error: unknown) => console.error(`could not drop replication slot ${slot}:`, error));
    }
    await pool?.end();
    await db?.drop();
    for (const role of roles) await adminQuery(`DROP ROLE IF EXISTS ${role}`);
    await vhost?.drop();
  });

  async function adminQuery(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: inject('databaseUrl') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** Calls the RabbitMQ management API with the admin credentials of the test broker. */
  async function management(method: string, path: string, body?: unknown): Promise<Response> {
    const base = new URL(inject('amqpManagementUrl'));
    const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    const res = await fetch(new URL(path, base.origin), {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`management API ${method} ${path} -> ${res.status}: ${await res.text()}`);
    return res;
  }

  /** A new slot (dropped in afterAll) via ensureSlot, as the relay's main does. */
  async function newSlot(): Promise<string> {
    const slot = `relay_test_${hex()}`;
    slots.push(slot);
    await ensureSlot(pool, { slot, publication: PUBLICATION, table: `${TABLE.schema}.${TABLE.name}` });
    return slot;
  }

  function startRelay(slot: string, topology: TopologyConfig): { relay: Relay; metrics: RelayMetrics } {
    const metrics = createRelayMetrics(createRegistry('test'));
    const relay = new Relay({
      databaseUrl: db.url,
      amqpUrl: vhost.amqpUrl,
      topology,
      slot,
      publication: PUBLICATION,
      table: TABLE,
      statusIntervalMs: 100,
      standbyPollMs: 200,
      pool,
      metrics,
      logger,
    });
    relays.push(relay);
    relay.start();
    return { relay, metrics };
  }

  /** Declares the topology and collects (and acknowledges) every message that reaches its queue. */
  async function collect(
    topology: TopologyConfig,
  ): Promise<{ received: ConsumeMessage[]; byId: () => Map<string, ConsumeMessage>; channel: Channel }> {
    const channel = await amqpConnection.createChannel();
    await assertTopology(channel, topology);
    const received: ConsumeMessage[] = [];
    await channel.consume(topology.queue, (message) => {
      if (message) {
        received.push(message);
        channel.ack(message);
      }
    });
    return { received, byId: () => new Map(received.map((m) => [String(m.properties.messageId), m])), channel };
  }

  const addMany = (count: number, offset = 0): Promise<RecordedAddition[]> =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        writer.write(validateAddRequest({ a: String(offset + i), b: '9223372036854770000' })),
      ),
    );

  const slotState = async (slot: string) =>
    (
      await pool.query<{ active: boolean; confirmed: string | null }>(
        'SELECT active, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      )
    ).rows[0];
  const currentLsn = async (): Promise<string> =>
    (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
  /** True when the slot has confirmed everything up to `lsn`. */
  const slotConfirmedPast = async (slot: string, lsn: string): Promise<boolean> =>
    (
      await pool.query<{ ok: boolean }>(
        'SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1',
        [slot, lsn],
      )
    ).rows[0]?.ok === true;

  describe('setup checks', () => {
    it('ensureSlot creates a pgoutput slot, is idempotent, and refuses a slot of another plugin', async () => {
      const slot = await newSlot();
      const { rows } = await pool.query<{ plugin: string; slot_type: string; database: string }>(
        'SELECT plugin, slot_type, database FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      expect(rows).toEqual([{ plugin: 'pgoutput', slot_type: 'logical', database: new URL(db.url).pathname.slice(1) }]);
      // Again (every relay runs it at start): no error, still one slot
      await ensureSlot(pool, { slot, publication: PUBLICATION, table: 'public.outbox' });
      expect((await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount).toBe(1);
      // The migration's publication carries outbox inserts only
      const publication = await pool.query<{
        pubinsert: boolean;
        pubupdate: boolean;
        pubdelete: boolean;
        tables: string[];
      }>(
        `SELECT pubinsert, pubupdate, pubdelete, ARRAY(SELECT tablename::text FROM pg_publication_tables t WHERE t.pubname = p.pubname) AS tables
         FROM pg_publication p WHERE pubname = $1`,
        [PUBLICATION],
      );
      expect(publication.rows).toEqual([{ pubinsert: true, pubupdate: false, pubdelete: false, tables: ['outbox'] }]);

      const other = `relay_test_${hex()}`;
      slots.push(other);
      await pool.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [other]);
      await expect(ensureSlot(pool, { slot: other, publication: PUBLICATION, table: 'public.outbox' })).rejects.toThrow(
        /uses plugin test_decoding, not pgoutput/,
      );
    });

    it('checkReplicationPrerequisites passes for a superuser and a REPLICATION role, and names the fix for a role without it', async () => {
      // Given the test superuser
      await expect(checkReplicationPrerequisites(pool)).resolves.toBeUndefined();

      // Given a login role created without REPLICATION (the default)
      const plain = `sumstream_plain_${hex()}`;
      const replicator = `sumstream_repl_${hex()}`;
      roles.push(plain, replicator);
      await adminQuery(`CREATE ROLE ${plain} LOGIN PASSWORD 'plain-secret'`);
      await adminQuery(`CREATE ROLE ${replicator} LOGIN REPLICATION PASSWORD 'repl-secret'`);
      const connectAs = async (role: string, password: string) => {
        const url = new URL(db.url);
        url.username = role;
        url.password = password;
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        return client;
      };

      // When it is checked while connected as that role
      const plainClient = await connectAs(plain, 'plain-secret');
      try {
        const check = checkReplicationPrerequisites(plainClient);
        // Then the check fails and says what to run
        await expect(check).rejects.toThrow(/lacks the REPLICATION attribute/);
        await expect(check).rejects.toThrow(`ALTER ROLE "${plain}" REPLICATION`);
      } finally {
        await plainClient.end();
      }

      // And a non-superuser role WITH REPLICATION passes
      const replClient = await connectAs(replicator, 'repl-secret');
      try {
        await expect(checkReplicationPrerequisites(replClient)).resolves.toBeUndefined();
      } finally {
        await replClient.end();
      }
    });
  });

  it('publishes each outbox insert with its id, type and payload, confirms the slot after the broker, and resumes after a restart without loss', async () => {
    const slot = await newSlot();
    const topology = uniqueTopology();
    const { received, byId } = await collect(topology);

    // Given a running relay
    const first = startRelay(slot, topology);
    await eventually(() => expect(first.relay.state).toBe('active'), { timeoutMs: 10_000 });
    expect(await gauge(first.metrics.active)).toBe(1);

    // When additions are written through the AdditionWriter
    const batch1 = await addMany(30);
    const lsnAfterBatch1 = await currentLsn();

    // Then each arrives as a message whose message_id and `id` header are the ledger id, typed, with the outbox payload as body
    await eventually(() => expect(batch1.every((r) => byId().has(r.id))).toBe(true), { timeoutMs: 15_000 });
    const { rows: outbox } = await pool.query<{
      id: string;
      aggregatetype: string;
      aggregateid: string;
      type: string;
      payload: unknown;
    }>(
      'SELECT o.id, aggregatetype, aggregateid, type, payload FROM outbox o JOIN additions a USING (id) WHERE o.id = ANY($1::uuid[])',
      [batch1.map((r) => r.id)],
    );
    expect(outbox).toHaveLength(30);
    for (const row of outbox) {
      const message = byId().get(row.id)!;
      expect(message.properties.messageId).toBe(row.id);
      expect(message.properties.headers?.['id']).toBe(row.id);
      expect(message.properties.headers?.['aggregatetype']).toBe(ADDITION_AGGREGATE_TYPE);
      expect(message.properties.headers?.['aggregateid']).toBe(row.id);
      expect(message.properties.type).toBe(ADDITION_EVENT_TYPE);
      expect(message.properties.contentType).toBe('application/json');
      expect(message.properties.deliveryMode).toBe(2); // persistent
      expect(JSON.parse(message.content.toString('utf8'))).toEqual(row.payload);
      expect(message.fields.routingKey).toBe(topology.routingKey);
    }
    // And the amounts survive exactly (beyond 2^53)
    const sample = byId().get(batch1[29]!.id)!;
    expect((JSON.parse(sample.content.toString()) as { amount: string }).amount).toBe(
      (29n + 9_223_372_036_854_770_000n).toString(),
    );

    // And the slot's confirmed position moves past the inserts' commit once the broker confirmed them
    await eventually(async () => expect(await slotConfirmedPast(slot, lsnAfterBatch1)).toBe(true), {
      timeoutMs: 15_000,
    });
    expect(await counter(first.metrics.published)).toBeGreaterThanOrEqual(30);

    // When the relay stops and more additions are written meanwhile
    await first.relay.close();
    expect(first.relay.state).toBe('stopped');
    expect(await gauge(first.metrics.active)).toBe(0);
    await eventually(async () => expect((await slotState(slot))?.active).toBe(false), { timeoutMs: 10_000 });
    const confirmedWhileStopped = (await slotState(slot))!.confirmed;
    const batch2 = await addMany(20, 1_000);
    const lsnAfterBatch2 = await currentLsn();
    await sleep(500);
    // Then nothing of them is published, and the slot holds them (its position did not move)
    expect(batch2.some((r) => byId().has(r.id))).toBe(false);
    expect((await slotState(slot))!.confirmed).toBe(confirmedWhileStopped);
    expect(await slotConfirmedPast(slot, lsnAfterBatch2)).toBe(false);

    // When a relay starts again on the slot
    const second = startRelay(slot, topology);

    // Then the rows written while it was down arrive, and the slot catches up
    await eventually(() => expect(batch2.every((r) => byId().has(r.id))).toBe(true), { timeoutMs: 20_000 });
    await eventually(async () => expect(await slotConfirmedPast(slot, lsnAfterBatch2)).toBe(true), {
      timeoutMs: 15_000,
    });
    // And nothing was lost overall; anything seen twice is a redelivery of the same event, never a new id
    const ids = new Set(received.map((m) => String(m.properties.messageId)));
    expect([...batch1, ...batch2].every((r) => ids.has(r.id))).toBe(true);
    expect(ids.size).toBe(50);
    await second.relay.close();
  });

  it('runs one active relay per slot; the standby takes over when the active one stops', async () => {
    const slot = await newSlot();
    const topology = uniqueTopology();
    const { byId } = await collect(topology);

    // Given two relays on the same slot
    const a = startRelay(slot, topology);
    const b = startRelay(slot, topology);

    // Then exactly one becomes active; the other stays standby (and stays so)
    const states = async () => [a.relay.state, b.relay.state].sort();
    await eventually(async () => expect(await states()).toEqual(['active', 'standby']), { timeoutMs: 10_000 });
    await sleep(1_000);
    expect(await states()).toEqual(['active', 'standby']);
    const [active, standby] = a.relay.state === 'active' ? [a, b] : [b, a];
    expect(await gauge(active.metrics.active)).toBe(1);
    expect(await gauge(standby.metrics.active)).toBe(0);

    // And the active one delivers
    const before = await addMany(10, 2_000);
    await eventually(() => expect(before.every((r) => byId().has(r.id))).toBe(true), { timeoutMs: 15_000 });
    expect(await counter(standby.metrics.published)).toBe(0);

    // When the active relay is closed
    await active.relay.close();
    const closedAt = Date.now();

    // Then the standby takes over within a few seconds and delivers what follows
    await eventually(() => expect(standby.relay.state).toBe('active'), { timeoutMs: 5_000, intervalMs: 50 });
    expect(Date.now() - closedAt).toBeLessThan(5_000);
    expect(await gauge(standby.metrics.active)).toBe(1);
    const after = await addMany(10, 3_000);
    const lsnAfter = await currentLsn();
    await eventually(() => expect(after.every((r) => byId().has(r.id))).toBe(true), { timeoutMs: 15_000 });
    await eventually(async () => expect(await slotConfirmedPast(slot, lsnAfter)).toBe(true), { timeoutMs: 15_000 });
    expect(await counter(standby.metrics.published)).toBeGreaterThanOrEqual(10);
    await standby.relay.close();
  });

  it('does not confirm the slot past events the broker refused, and delivers them once it accepts them', async () => {
    const slot = await newSlot();
    const topology = uniqueTopology();
    // Given a queue that refuses every publish: it already holds one message and a policy caps it at 0 with reject-publish (the broker nacks)
    const setup = await amqpConnection.createConfirmChannel();
    await assertTopology(setup, topology);
    setup.sendToQueue(topology.queue, Buffer.from('{}'), { messageId: 'filler', persistent: true });
    await setup.waitForConfirms();
    await setup.close();
    const policy = `refuse-${hex()}`;
    await management('PUT', `/api/policies/${encodeURIComponent(vhost.vhost)}/${policy}`, {
      pattern: `^${topology.queue.replaceAll('.', '\\.')}$`,
      definition: { 'max-length': 0, overflow: 'reject-publish' },
      'apply-to': 'queues',
      priority: 10,
    });
    await eventually(
      async () => {
        const queue = (await (
          await management(
            'GET',
            `/api/queues/${encodeURIComponent(vhost.vhost)}/${encodeURIComponent(topology.queue)}`,
          )
        ).json()) as { policy?: string };
        expect(queue.policy).toBe(policy);
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    const { relay, metrics } = startRelay(slot, topology);
    await eventually(() => expect(relay.state).toBe('active'), { timeoutMs: 10_000 });

    // When additions are written
    const lsnBefore = await currentLsn();
    const refused = await addMany(5, 4_000);
    const lsnAfter = await currentLsn();

    // Then the relay holds back and keeps retrying (a nack is backpressure, not a failure), and the slot is not confirmed into them
    await eventually(async () => expect(await counter(metrics.publishRejected)).toBeGreaterThanOrEqual(2), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(await gauge(metrics.backpressure)).toBe(1);
    expect(await counter(metrics.reconnects)).toBe(0);
    expect(await counter(metrics.published)).toBe(0);
    expect(await slotConfirmedPast(slot, lsnAfter)).toBe(false);
    const { rows } = await pool.query<{ ok: boolean }>(
      'SELECT confirmed_flush_lsn <= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1',
      [slot, lsnBefore],
    );
    expect(rows[0]?.ok).toBe(true);

    // When the broker accepts again
    await management('DELETE', `/api/policies/${encodeURIComponent(vhost.vhost)}/${policy}`);
    const { byId } = await collect(topology);

    // Then the events arrive, the relay is no longer held back, and the slot moves past them
    await eventually(() => expect(refused.every((r) => byId().has(r.id))).toBe(true), { timeoutMs: 20_000 });
    await eventually(async () => expect(await gauge(metrics.backpressure)).toBe(0), { timeoutMs: 10_000 });
    await eventually(async () => expect(await slotConfirmedPast(slot, lsnAfter)).toBe(true), { timeoutMs: 15_000 });
    await relay.close();
  });

  it('never confirms beyond the end of WAL, so a transaction committing right after a confirmed one survives a relay restart', async () => {
    const slot = await newSlot();
    const topology = uniqueTopology();
    const { byId } = await collect(topology);
    const insertOutbox = (db: pg.ClientBase | pg.Pool, id: string) =>
      db.query(
        `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
         VALUES ($1::uuid, $2, $1::text, $3, jsonb_build_object('id', $1::text, 'a', '1', 'b', '2', 'amount', '3', 'acceptedAt', now()))`,
        [id, ADDITION_AGGREGATE_TYPE, ADDITION_EVENT_TYPE],
      );
    const first = startRelay(slot, topology);
    await eventually(() => expect(first.relay.state).toBe('active'), { timeoutMs: 10_000 });

    // Given a transaction T1 that inserted an outbox row and is still open,
    const open = await pool.connect();
    const late = randomUUID();
    const early = randomUUID();
    try {
      await open.query('BEGIN');
      await insertOutbox(open, late);
      // and T0, which inserts and commits after it: T1's commit record will directly follow T0's
      const t0 = await pool.connect();
      let endOfT0: string;
      try {
        await insertOutbox(t0, early);
        endOfT0 = (await t0.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;
      } finally {
        t0.release();
      }

      // When the relay delivers T0 and confirms it
      await eventually(() => expect(byId().has(early)).toBe(true), { timeoutMs: 15_000 });
      await eventually(async () => expect(await slotConfirmedPast(slot, endOfT0)).toBe(true), { timeoutMs: 15_000 });

      // Then the slot is confirmed up to the end of WAL at most (a position past it would skip T1's commit on restart)
      const { rows } = await pool.query<{ confirmed: string; walEnd: string }>(
        'SELECT confirmed_flush_lsn::text AS confirmed, pg_current_wal_insert_lsn()::text AS "walEnd" FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      const { confirmed, walEnd } = rows[0]!;
      expect(
        (await pool.query<{ ok: boolean }>('SELECT $1::pg_lsn <= $2::pg_lsn AS ok', [confirmed, walEnd])).rows[0]?.ok,
        `confirmed ${confirmed} vs WAL end ${walEnd}`,
      ).toBe(true);

      // When the relay stops, T1 commits, and a relay starts again
      await first.relay.close();
      await open.query('COMMIT');
    } finally {
      await open.query('ROLLBACK').catch(() => undefined); // no-op after COMMIT
      open.release();
    }
    const second = startRelay(slot, topology);

    // Then T1's event is delivered
    await eventually(() => expect(byId().has(late)).toBe(true), { timeoutMs: 15_000 });
    await second.relay.close();
  });
});
