import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ServiceName } from '../../src/dev-stack/index.js';
import { type Stack, startStack } from '../helpers/startStack.js';

/** Exit code and how long a process took to exit after SIGTERM. */
async function terminate(stack: Stack, name: ServiceName): Promise<{ code: number | null; ms: number }> {
  const child = stack.processes.get(name)!;
  const started = Date.now();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await exited;
  return { code, ms: Date.now() - started };
}

describe('graceful shutdown under load', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('SIGTERM to each process under load exits 0 within 10 s, and nothing acknowledged is lost or doubled', async () => {
    // Given 20 clients adding continuously, each Add with an idempotency key and retried until acknowledged
    let running = true;
    let acknowledged = 0n;
    let count = 0;
    let unavailable = 0;
    const clients = Array.from({ length: 20 }, () => stack.client());
    const load = Promise.all(
      clients.map(async (client, i) => {
        while (running) {
          const key = randomUUID();
          for (;;) {
            try {
              // Await first: `x += await f()` would read x before the await and lose concurrent updates.
              const reply = await client.add(i + 1, count % 97, key);
              acknowledged += BigInt(reply.sum);
              count++;
              break;
            } catch (error) {
              const code = (error as grpc.ServiceError).code;
              if (
                code !== grpc.status.UNAVAILABLE &&
                code !== grpc.status.DEADLINE_EXCEEDED &&
                code !== grpc.status.CANCELLED
              )
                throw error;
              unavailable++;
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        }
      }),
    );
    const exits: Record<string, { code: number | null; ms: number }> = {};
    // When each process in turn is sent SIGTERM mid-load and started again
    for (const service of ['sum-service', 'cdc-relay', 'add-service'] as const) {
      await new Promise((r) => setTimeout(r, 1000));
      exits[service] = await terminate(stack, service);
      await stack.start(service);
    }
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await load;

    // Then each exited cleanly and quickly
    for (const [service, exit] of Object.entries(exits)) {
      expect(exit.code, service).toBe(0);
      expect(exit.ms, service).toBeLessThan(10_000);
    }
    // And the sum is exactly what was acknowledged: every ledger row applied once
    await stack.waitForSum(acknowledged, 60_000);
    const [row] = await stack.query<{ ledger: string; applied: string }>(
      'SELECT (SELECT count(*) FROM additions) AS ledger, (SELECT count(*) FROM processed_events) AS applied',
    );
    expect(row).toEqual({ ledger: String(count), applied: String(count) });
    console.info(
      `graceful shutdown: ${count} Adds acknowledged (${unavailable} retried after UNAVAILABLE); exits ${JSON.stringify(exits)}; sum ${acknowledged}`,
    );
  });
});
