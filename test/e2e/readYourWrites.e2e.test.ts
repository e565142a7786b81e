import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AdditionClient } from '../helpers/additionClient.js';
import { freePort } from '../../src/dev-stack/index.js';
import { type Stack, startStack } from '../helpers/startStack.js';

interface Trial {
  eventId: string;
  path: 'rest' | 'grpc';
  sum: bigint;
  /** gRPC answers it too. */
  appliedEvents?: bigint;
}

/**
 * The committed states of the sum, rebuilt from the inbox: one sum-service applies batches one
 * transaction after another, so the states are prefixes of the batches in transaction-id order.
 * With only positive amounts their totals strictly increase, so a total names one state.
 */
async function committedStates(
  stack: Stack,
): Promise<{ stateOfTotal: Map<bigint, { index: number; events: bigint }>; batchOfEvent: Map<string, number> }> {
  const rows = await stack.query<{ event_id: string; amount: string; tx: string }>(
    'SELECT event_id, amount::text, xmin::text AS tx FROM processed_events',
  );
  const batches = new Map<bigint, { amount: bigint; ids: string[] }>();
  for (const row of rows) {
    const batch = batches.get(BigInt(row.tx)) ?? { amount: 0n, ids: [] };
    batch.amount += BigInt(row.amount);
    batch.ids.push(row.event_id);
    batches.set(BigInt(row.tx), batch);
  }
  const stateOfTotal = new Map<bigint, { index: number; events: bigint }>([[0n, { index: -1, events: 0n }]]);
  const batchOfEvent = new Map<string, number>();
  let total = 0n;
  let events = 0n;
  [...batches.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .forEach(([, batch], index) => {
      total += batch.amount;
      events += BigInt(batch.ids.length);
      stateOfTotal.set(total, { index, events });
      for (const id of batch.ids) batchOfEvent.set(id, index);
    });
  return { stateOfTotal, batchOfEvent };
}

describe('read your writes: GET /sum?after= and GetSum{after}', () => {
  let stack: Stack;
  let clients: AdditionClient[];
  let base: string;

  beforeAll(async () => {
    stack = await startStack({
      databaseUrl: inject('databaseUrl'),
      amqpManagementUrl: inject('amqpManagementUrl'),
      env: { READ_AFTER_TIMEOUT_MS: '20000' },
    });
    clients = Array.from({ length: 10 }, () => stack.client());
    base = `http://127.0.0.1:${stack.ports.sum}`;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 1,000 reads after an Add (half REST, half gRPC, 50 at a time) with a sum that includes that Add', async () => {
    // Given 50 concurrent callers, each adding a positive amount and at once reading after its token
    const trials: Trial[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async (_, worker) => {
        const client = clients[worker % clients.length]!;
        for (let n = 0; n < 20; n++) {
          const reply = await client.add(1 + Math.floor(Math.random() * 1000), 1 + Math.floor(Math.random() * 1000));
          expect(reply.read_token).not.toBe('');
          if ((worker + n) % 2 === 0) {
            const res = await fetch(`${base}/sum?after=${encodeURIComponent(reply.read_token)}`);
            const text = await res.text();
            expect(res.status, text).toBe(200);
            const match = /^\{"sum":(\d+)\}$/.exec(text);
            expect(match, text).not.toBeNull();
            trials.push({ eventId: reply.operation_id, path: 'rest', sum: BigInt(match![1]!) });
          } else {
            const answer = await client.getSumAfter(reply.read_token);
            trials.push({
              eventId: reply.operation_id,
              path: 'grpc',
              sum: BigInt(answer.sum),
              appliedEvents: BigInt(answer.applied_events),
            });
          }
        }
      }),
    );
    expect(trials).toHaveLength(1000);

    // Then every answer is a committed state of the sum that contains the caller's own event
    const { stateOfTotal, batchOfEvent } = await committedStates(stack);
    expect(batchOfEvent.size).toBe(1000);
    const problems: string[] = [];
    for (const trial of trials) {
      const state = stateOfTotal.get(trial.sum);
      const own = batchOfEvent.get(trial.eventId);
      if (!state) problems.push(`${trial.path}: ${trial.sum} is no committed total`);
      else if (own === undefined || own > state.index)
        problems.push(`${trial.path}: ${trial.sum} (state ${state.index}) lacks ${trial.eventId} (batch ${own})`);
      else if (trial.appliedEvents !== undefined && trial.appliedEvents !== state.events)
        problems.push(`${trial.path}: applied_events ${trial.appliedEvents}, state has ${state.events}`);
    }
    expect(problems.slice(0, 10)).toEqual([]);
    console.info(
      `1,000 reads after an Add (${trials.filter((t) => t.path === 'rest').length} REST, ${trials.filter((t) => t.path === 'grpc').length} gRPC) each included its own Add; ${stateOfTotal.size - 1} committed states`,
    );
  });

  it('keeps plain GET /sum and GetSum as they were', async () => {
    const sum = await stack.sum();
    expect(BigInt((await clients[0]!.getSum()).sum)).toBeGreaterThanOrEqual(sum);
    const res = await fetch(`${base}/sum`);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toMatch(/^\{"sum":\d+\}$/);
  });

  it('refuses a malformed token or timeout: 400 problem JSON, INVALID_ARGUMENT', async () => {
    for (const query of ['after=not-a-token', 'after=', `after=${randomUUID()}&timeout_ms=soon`, 'timeout_ms=100']) {
      const res = await fetch(`${base}/sum?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = (await res.json()) as { title: string; detail: string };
      expect(body.title).toBe('Bad Request');
      expect(body.detail).toMatch(/read token|timeout_ms/);
    }
    await expect(clients[0]!.getSumAfter('not-a-token')).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(
        /Malformed read token "not-a-token": pass the read_token of an AddResponse unchanged/,
      ),
    });
  });

  it('never answers a stale sum: an addition the pipeline has not applied gets 504 / DEADLINE_EXCEEDED, then the sum once applied', async () => {
    // Given the relay is stopped, so a new addition is recorded but not applied
    await stack.kill('cdc-relay', 'SIGTERM');
    const client = clients[0]!;
    const reply = await client.add(40, 2);
    // When reading after it with a short wait
    const res = await fetch(`${base}/sum?after=${reply.read_token}&timeout_ms=500`);
    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as { title: string; status: number; detail: string };
    expect(problem).toMatchObject({ title: 'Not applied yet', status: 504 });
    expect(problem.detail).toMatch(
      new RegExp(`read token ${reply.read_token} is not applied yet after waiting 500 ms.*cdc-relay is active`),
    );
    await expect(client.getSumAfter(reply.read_token, 500)).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
      details: expect.stringMatching(
        /is not applied yet after waiting 500 ms.*cdc-relay is active and the sum-service is consuming/,
      ),
    });
    // Then, with the relay back, the same reads answer a sum that includes it
    const before = await stack.sum();
    const waiting = fetch(`${base}/sum?after=${reply.read_token}`);
    const waitingGrpc = client.getSumAfter(reply.read_token);
    await stack.start('cdc-relay');
    const after = await waiting;
    expect(after.status).toBe(200);
    expect(await after.text()).toBe(`{"sum":${before + 42n}}`);
    expect((await waitingGrpc).sum).toBe(String(before + 42n));
  });

  it('waits at most READ_AFTER_TIMEOUT_MS, whatever the request asks', async () => {
    const sumPort = await freePort();
    await stack.start('sum-service', {
      name: 'short-wait',
      env: { SUM_PORT: String(sumPort), READ_AFTER_TIMEOUT_MS: '300' },
    });
    const res = await fetch(`http://127.0.0.1:${sumPort}/sum?after=${randomUUID()}&timeout_ms=600000`);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/after waiting 300 ms/);
    await stack.kill('short-wait', 'SIGTERM');
  });

  it('labels read-after requests apart from GET /sum in the metrics', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^sumstream_http_requests_total\{[^}]*route="\/sum\?after"[^}]*status="200"[^}]*\} \d+/m);
    expect(metrics).toMatch(/^sumstream_http_requests_total\{[^}]*route="\/sum\?after"[^}]*status="504"[^}]*\} \d+/m);
  });
});
