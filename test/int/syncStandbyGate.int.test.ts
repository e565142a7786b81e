/**
 * The relay's synchronous-standby gate (RELAY_AWAIT_SYNC_STANDBY) on a real PostgreSQL of its own
 * (Debian's, for its pg_receivewal) whose synchronous standby is `ghost`: an addition committed
 * locally (its client would still wait) is decoded at once, but the gated relay publishes nothing and
 * does not advance the slot, neither while `ghost` is missing nor with no synchronous standby named
 * at all; once a real WAL receiver named `ghost` (pg_receivewal --synchronous) has flushed the
 * commit, it is published. The ungated relay publishes it at once, which is the hazard the gate
 * closes: a failover would take that addition back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AdditionWriter } from '../../src/add-service/additionWriter.js';
import { validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { createRelayMetrics } from '../../src/cdc-relay/relayMetrics.js';
import { runReplicationSession } from '../../src/cdc-relay/replicationSession.js';
import {
  findPostgresBin,
  freePort,
  type PostgresInstance,
  REPO_ROOT,
  startPostgres,
} from '../../src/dev-stack/index.js';
import type { TopologyConfig } from '../../src/shared/config/commonConfig.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { assertTopology } from '../../src/shared/messaging/assertTopology.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { eventually } from '../helpers/eventually.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';
import { uniqueTopology } from '../helpers/uniqueTopology.js';

const SLOT = 'gate_test';
const PUBLICATION = 'sumstream_outbox';

describe('synchronous-standby gate (RELAY_AWAIT_SYNC_STANDBY)', () => {
  let dir: string;
  let server: PostgresInstance;
  let pool: pg.Pool;
  let vhost: TestVhost;
  let connection: ChannelModel;
  let receiver: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(REPO_ROOT, '.sumstream', 'gate-'));
    // Debian's server, whatever SUMSTREAM_PG_BIN says: pg_receivewal must match its version.
    server = await startPostgres({ dataDir: path.join(dir, 'data'), port: await freePort() });
    // Writers that do not wait for the standby, so the test can commit at all; the WAL is as it would be.
    pool = new pg.Pool({ connectionString: server.url, max: 4, options: '-c synchronous_commit=local' });
    pool.on('error', () => undefined);
    await migrate(pool);
    await pool.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [SLOT]);
    await requireStandby('ghost');
    vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'gate');
    connection = await amqp.connect(vhost.amqpUrl);
  }, 60_000);

  afterAll(async () => {
    receiver?.kill('SIGKILL');
    await connection?.close().catch(() => undefined);
    await vhost?.drop();
    await requireStandby('').catch(() => undefined);
    await pool?.end();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A synchronous standby by that name ('' for none): one that does not exist makes waiting commits hang. */
  async function requireStandby(names: string): Promise<void> {
    await pool.query(`ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
    await pool.query('SELECT pg_reload_conf()');
  }

  async function collect(topology: TopologyConfig): Promise<ConsumeMessage[]> {
    const channel = await connection.createChannel();
    await assertTopology(channel, topology);
    const received: ConsumeMessage[] = [];
    await channel.consume(topology.queue, (m) => {
      if (m) {
        received.push(m);
        channel.ack(m);
      }
    });
    return received;
  }

  function session(topology: TopologyConfig, awaitSyncStandby: boolean) {
    const stop = new AbortController();
    const running = runReplicationSession(
      {
        databaseUrl: server.url,
        amqpUrl: vhost.amqpUrl,
        topology,
        slot: SLOT,
        publication: PUBLICATION,
        table: { schema: 'public', name: 'outbox' },
        statusIntervalMs: 100,
        awaitSyncStandby,
        metrics: createRelayMetrics(createRegistry('test')),
        logger: createLogger('test', 'silent'),
      },
      stop.signal,
    );
    return { stop: () => (stop.abort(), running) };
  }

  const confirmed = async (): Promise<string> =>
    (
      await pool.query<{ lsn: string }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [SLOT],
      )
    ).rows[0]!.lsn;
  const walsenderSentPast = async (lsn: string): Promise<boolean> =>
    (
      await pool.query<{ ok: boolean }>(
        "SELECT bool_or(sent_lsn >= $1::pg_lsn) AS ok FROM pg_stat_replication WHERE application_name = 'sumstream-cdc-relay'",
        [lsn],
      )
    ).rows[0]?.ok === true;

  it('holds a transaction until the synchronous standby has flushed it, and while none is named', async () => {
    const topology = uniqueTopology();
    const received = await collect(topology);
    const relay = session(topology, true);
    const writer = new AdditionWriter(pool);
    const before = await confirmed();
    const added = await writer.write(validateAddRequest({ a: '2', b: '3' }));
    const { rows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    // The walsender has sent the transaction to the relay ...
    await eventually(async () => expect(await walsenderSentPast(rows[0]!.lsn)).toBe(true), { timeoutMs: 10_000 });
    // ... which neither publishes it nor confirms past it while the standby is missing,
    await new Promise((r) => setTimeout(r, 1500));
    expect(received).toHaveLength(0);
    expect(await confirmed()).toBe(before);
    // nor with no synchronous standby named (Patroni empties the list when its standby goes).
    await requireStandby('');
    await new Promise((r) => setTimeout(r, 1500));
    expect(received).toHaveLength(0);

    // A real standby named ghost: a WAL receiver that flushes and reports synchronously.
    await requireStandby('ghost');
    const wal = path.join(dir, 'wal');
    await mkdir(wal, { recursive: true });
    const url = new URL(server.url);
    receiver = spawn(
      path.join(findPostgresBin(), 'pg_receivewal'),
      [
        '-D',
        wal,
        '--synchronous',
        '--no-loop',
        '-d',
        `host=${url.hostname} port=${url.port} user=${url.username} application_name=ghost`,
      ],
      { stdio: 'ignore' },
    );
    await eventually(() => expect(received.map((m) => m.properties.messageId)).toEqual([added.id]), {
      timeoutMs: 15_000,
    });
    await eventually(
      async () =>
        expect(
          (await pool.query('SELECT $1::pg_lsn > $2::pg_lsn AS moved', [await confirmed(), before])).rows[0].moved,
        ).toBe(true),
      { timeoutMs: 10_000 },
    );
    await relay.stop();
    receiver.kill('SIGKILL');
  });

  it('without the gate the same transaction is published at once (the hazard the gate closes)', async () => {
    await requireStandby('nobody');
    const topology = uniqueTopology();
    const received = await collect(topology);
    const relay = session(topology, false);
    const added = await new AdditionWriter(pool).write(validateAddRequest({ a: '4', b: '5' }));
    await eventually(() => expect(received.map((m) => m.properties.messageId)).toContain(added.id), {
      timeoutMs: 10_000,
    });
    await relay.stop();
  });
});
