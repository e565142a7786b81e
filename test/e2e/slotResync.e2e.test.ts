import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { runCli } from '../helpers/runCli.js';
import { type Stack, startStack } from '../helpers/startStack.js';

async function slotLostGauge(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^sumstream_relay_slot_lost\{[^}]*\} (\d)/m.exec(text)?.[1] ?? -1);
}

describe('a lost replication slot, end to end: the relay process refuses, `sumstream cdc resync` recovers', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      databaseUrl: inject('databaseUrl'),
      amqpManagementUrl: inject('amqpManagementUrl'),
      env: { RELAY_SLOT_RECHECK_MS: '300' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('alerts and streams nothing while the slot is lost; after the resync the sum is exact, nothing counted twice', async () => {
    // Given a pipeline that applied some additions
    const client = stack.client();
    let expected = 0n;
    for (let i = 1; i <= 20; i++) expected += BigInt((await client.add(i, 1)).sum);
    await stack.waitForSum(expected);

    // When the slot is lost while the relay is down, and Adds keep coming
    await stack.kill('cdc-relay');
    await eventually(() => stack.query('SELECT pg_drop_replication_slot($1)', [stack.slot]), { timeoutMs: 10_000 });
    for (let i = 1; i <= 20; i++) expected += BigInt((await client.add(i, 1000)).sum);
    await stack.start('cdc-relay');

    // Then the relay reports it (readiness with the fix, the gauge), creates no slot, and the sum does not move
    const relayUrl = `http://127.0.0.1:${stack.ports.relayMetrics}`;
    await eventually(async () => expect(await slotLostGauge(stack.ports.relayMetrics)).toBe(1), { timeoutMs: 15_000 });
    const ready = await fetch(`${relayUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain(
      `Replication slot ${stack.slot} was lost: slot ${stack.slot} does not exist although the relay streamed from it before. Nothing is streamed until an operator runs \`sumstream cdc resync\``,
    );
    expect(await stack.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [stack.slot])).toEqual([]);
    expect(await stack.sum()).toBeLessThan(expected);
    expect(stack.logs.filter((l) => l.startsWith('cdc-relay|') && l.includes('was lost')).length).toBe(1);

    // When an operator runs the resync
    const run = await runCli(['cdc', 'resync'], stack.env);

    // Then it says what it did, the sum becomes exact, and the relay streams again by itself
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`slot ${stack.slot}: created`);
    expect(run.stdout).toContain('republished 40 ledger events');
    await stack.waitForSum(expected);
    await eventually(async () => expect(await slotLostGauge(stack.ports.relayMetrics)).toBe(0), { timeoutMs: 15_000 });
    await eventually(async () => expect((await fetch(`${relayUrl}/readyz`)).status).toBe(200), { timeoutMs: 15_000 });
    for (let i = 1; i <= 5; i++) expected += BigInt((await client.add(i, 5000)).sum);
    await stack.waitForSum(expected);
    const [inbox] = await stack.query<{ n: string }>('SELECT count(*)::text AS n FROM processed_events');
    expect(inbox?.n).toBe('45');

    // And a resync that fails says why and exits 1
    const failed = await runCli(['cdc', 'resync'], {
      ...stack.env,
      AMQP_URL: 'amqp://sumstream:sumstream@127.0.0.1:1',
    });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^cdc resync failed: .*run it again; repeating it is safe\./m);
  });
});
