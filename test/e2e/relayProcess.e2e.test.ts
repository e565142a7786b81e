import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../../src/dev-stack/index.js';
import { type Stack, startStack } from '../helpers/startStack.js';

async function relayActive(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^sumstream_relay_active\{[^}]*\} (\d)/m.exec(text)?.[1] ?? -1);
}

describe('cdc-relay as a process', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('keeps a second instance as a standby that takes over when the active one is killed -9', async () => {
    // Given an active relay and a standby on the same slot
    const standbyPort = await freePort();
    await stack.start('cdc-relay', { name: 'standby', env: { RELAY_METRICS_PORT: String(standbyPort) } });
    await eventually(async () => expect(await relayActive(standbyPort)).toBe(0));
    expect(await relayActive(stack.ports.relayMetrics)).toBe(1);

    const client = stack.client();
    let expected = 0n;
    for (let i = 1; i <= 50; i++) expected += BigInt((await client.add(i, i)).sum);
    await stack.waitForSum(expected);

    // When the active relay dies while Adds keep coming
    await stack.kill('cdc-relay');
    for (let i = 1; i <= 50; i++) expected += BigInt((await client.add(i, 1000)).sum);

    // Then the standby becomes active and delivers everything
    await eventually(async () => expect(await relayActive(standbyPort)).toBe(1), { timeoutMs: 15_000 });
    await stack.waitForSum(expected);
    expect(stack.logs.some((line) => line.startsWith('standby|') && line.includes('leader lock acquired'))).toBe(true);
  });

  it('confirms WAL it has no events in, so an idle slot does not hold WAL back', async () => {
    // Given traffic on a table that is not in the publication
    await stack.query('CREATE TABLE IF NOT EXISTS unrelated (n int)');
    await stack.query('INSERT INTO unrelated SELECT generate_series(1, 1000)');
    const [{ lsn }] = (await stack.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [
      { lsn: string },
    ];
    // Then the relay's slot moves past it without any outbox event to carry
    await eventually(
      async () => {
        const [row] = await stack.query<{ caught_up: boolean }>(
          'SELECT confirmed_flush_lsn >= $2::pg_lsn AS caught_up FROM pg_replication_slots WHERE slot_name = $1',
          [stack.slot, lsn],
        );
        expect(row?.caught_up).toBe(true);
      },
      { timeoutMs: 20_000 },
    );
  });

  it('reconnects after PostgreSQL drops the replication connection and after RabbitMQ drops every connection', async () => {
    const client = stack.client();
    let expected = await stack.sum();
    // When the walsender serving the relay is terminated
    const killed = await stack.query<{ pid: number }>(
      'SELECT pg_terminate_backend(active_pid) AS pid FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL',
      [stack.slot],
    );
    expect(killed).toHaveLength(1);
    for (let i = 0; i < 20; i++) expected += BigInt((await client.add(i, 7)).sum);
    await stack.waitForSum(expected, 30_000);

    // When RabbitMQ closes every connection of this stack's vhost (relay and consumer alike)
    const management = new URL(inject('amqpManagementUrl'));
    const auth = `Basic ${Buffer.from(`${decodeURIComponent(management.username)}:${decodeURIComponent(management.password)}`).toString('base64')}`;
    const vhost = decodeURIComponent(new URL(stack.amqpUrl).pathname.slice(1));
    const connections = await eventually(async () => {
      const list = (await (
        await fetch(new URL(`/api/vhosts/${encodeURIComponent(vhost)}/connections`, management.origin), {
          headers: { authorization: auth },
        })
      ).json()) as { name: string }[];
      expect(list.length).toBeGreaterThanOrEqual(2);
      return list;
    });
    for (const { name } of connections) {
      await fetch(new URL(`/api/connections/${encodeURIComponent(name)}`, management.origin), {
        method: 'DELETE',
        headers: { authorization: auth },
      });
    }
    for (let i = 0; i < 20; i++) expected += BigInt((await client.add(i, 11)).sum);
    // Then both come back on their own and nothing is lost or doubled
    await stack.waitForSum(expected, 30_000);
    expect(stack.logs.some((line) => line.includes('replication session failed; reconnecting'))).toBe(true);
  });

  it('refuses to start, saying how to fix it, when its role lacks REPLICATION', async () => {
    await stack.query('DROP ROLE IF EXISTS relay_without_replication');
    await stack.query("CREATE ROLE relay_without_replication LOGIN PASSWORD 'pw' NOREPLICATION");
    const url = new URL(stack.databaseUrl);
    url.username = 'relay_without_replication';
    url.password = 'pw';
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cdc-relay/main.ts'], {
      env: { ...stack.env, DATABASE_URL: url.toString(), RELAY_METRICS_PORT: String(await freePort()) },
      encoding: 'utf8',
      timeout: 30_000,
    });
    await stack.query('DROP ROLE relay_without_replication');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /Cannot start: Role 'relay_without_replication' lacks the REPLICATION attribute CDC needs\. Run ALTER ROLE "relay_without_replication" REPLICATION;/,
    );
  });
});
