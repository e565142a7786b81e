import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/freePort.js';
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
    const [{ lsn }] = (await stack.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
    // Then the relay's slot moves past it without any outbox event to carry
    await eventually(
      async () => {
        const [row] = await stack.query<{ caught_up: boolean }>('SELECT confirmed_flush_lsn >= $2::pg_lsn AS caught_up FROM pg_replication_slots WHERE slot_name = $1', [stack.slot, lsn]);
        expect(row?.caught_up).toBe(true);
      },
      { timeoutMs: 20_000 },
    );
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
    expect(run.stderr).toMatch(/Cannot start: Role 'relay_without_replication' lacks the REPLICATION attribute CDC needs\. Run ALTER ROLE "relay_without_replication" REPLICATION;/);
  });
});
