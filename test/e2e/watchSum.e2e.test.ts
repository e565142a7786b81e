import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AdditionClient } from '../helpers/additionClient.js';
import { eventually } from '../helpers/eventually.js';
import { freePorts } from '../../src/dev-stack/index.js';
import { type GrpcWatcher, watchGrpc } from '../helpers/grpcWatcher.js';
import { metricValue } from '../helpers/metricValue.js';
import { openSse, type SseStream, sumOfEvent } from '../helpers/sseClient.js';
import { type Stack, startStack } from '../helpers/startStack.js';

/** Adds `rounds` × clients positive and negative operands; resolves with their total. */
async function burst(clients: AdditionClient[], rounds: number): Promise<bigint> {
  const totals = await Promise.all(
    clients.map(async (client, i) => {
      let total = 0n;
      for (let n = 0; n < rounds; n++) {
        const a = BigInt(Math.floor(Math.random() * 2000) - 1000);
        const b = BigInt(i * 1000 + n);
        await client.add(a, b);
        total += a + b;
      }
      return total;
    }),
  );
  return totals.reduce((x, y) => x + y, 0n);
}

const lastSse = (stream: SseStream) => {
  const event = stream.events.at(-1);
  return event ? sumOfEvent(event) : undefined;
};

/** Every update newer than the one before, and each SSE id the applied-events count. */
function expectOrdered(sequence: { sum: bigint; appliedEvents: bigint }[], ids?: (string | undefined)[]): void {
  for (let i = 1; i < sequence.length; i++)
    expect(sequence[i]!.appliedEvents).toBeGreaterThan(sequence[i - 1]!.appliedEvents);
  ids?.forEach((id, i) => expect(id).toBe(String(sequence[i]!.appliedEvents)));
}

describe('live sum: WatchSum (gRPC) and GET /sum/stream (Server-Sent Events)', () => {
  let stack: Stack;
  let base: string;
  let clients: AdditionClient[];

  beforeAll(async () => {
    stack = await startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') });
    base = `http://127.0.0.1:${stack.ports.sum}`;
    clients = Array.from({ length: 20 }, () => stack.client());
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('brings 1,000 SSE and 1,000 gRPC watchers the current sum at once, then the final sum after a burst of 1,000 Adds', async () => {
    // Given a sum that is not zero
    const initial = await burst(clients.slice(0, 2), 5);
    await stack.waitForSum(initial);
    const [applied] = (await stack.query<{ n: string }>('SELECT count(*)::text AS n FROM processed_events')) as [
      { n: string },
    ];

    // When 1,000 SSE watchers connect to the sum-service and 1,000 gRPC watchers (10 channels) to the add-service
    const sse: SseStream[] = [];
    for (let i = 0; i < 10; i++)
      sse.push(...(await Promise.all(Array.from({ length: 100 }, () => openSse(`${base}/sum/stream`)))));
    const channels = Array.from({ length: 10 }, () => stack.client());
    const watchers: GrpcWatcher[] = Array.from({ length: 1000 }, (_, i) => watchGrpc(channels[i % 10]!));

    // Then each gets the current sum first, without any change happening
    await eventually(
      () => expect(sse.every((s) => s.events.length > 0) && watchers.every((w) => w.updates.length > 0)).toBe(true),
      { timeoutMs: 30_000 },
    );
    for (const stream of sse) {
      expect(stream.status).toBe(200);
      expect(sumOfEvent(stream.events[0]!)).toEqual({ sum: initial, appliedEvents: BigInt(applied.n) });
    }
    for (const watcher of watchers)
      expect(watcher.updates[0]).toEqual({ sum: initial, appliedEvents: BigInt(applied.n) });
    expect(await metricValue(stack.ports.sum, 'sumstream_watchers', { transport: 'sse' })).toBe(1000);
    expect(await metricValue(stack.ports.addMetrics, 'sumstream_watchers', { transport: 'grpc' })).toBe(1000);

    // When 20 clients add 1,000 times
    const expected = initial + (await burst(clients, 50));
    await stack.waitForSum(expected);

    // Then every watcher ends on the final sum, having seen only ever newer values
    await eventually(
      () => {
        expect(sse.filter((s) => lastSse(s)?.sum !== expected)).toHaveLength(0);
        expect(watchers.filter((w) => w.updates.at(-1)?.sum !== expected)).toHaveLength(0);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    for (const stream of sse)
      expectOrdered(
        stream.events.map(sumOfEvent),
        stream.events.map((e) => e.id),
      );
    for (const watcher of watchers) expectOrdered(watcher.updates);
    const sent = await metricValue(stack.ports.sum, 'sumstream_watch_updates_sent_total', { transport: 'sse' });
    const sentGrpc = await metricValue(stack.ports.addMetrics, 'sumstream_watch_updates_sent_total', {
      transport: 'grpc',
    });
    expect(sent).toBe(sse.reduce((n, s) => n + s.events.length, 0));
    expect(sentGrpc).toBe(watchers.reduce((n, w) => n + w.updates.length, 0));
    console.info(
      `1,000 SSE watchers: ${(sent / 1000).toFixed(1)} updates each; 1,000 gRPC watchers: ${(sentGrpc / 1000).toFixed(1)} each; final sum ${expected}`,
    );

    // And leaving is counted
    for (const stream of sse) stream.close();
    for (const watcher of watchers) watcher.call.cancel();
    await eventually(async () => {
      expect(await metricValue(stack.ports.sum, 'sumstream_watchers', { transport: 'sse' })).toBe(0);
      expect(await metricValue(stack.ports.addMetrics, 'sumstream_watchers', { transport: 'grpc' })).toBe(0);
    });
    for (const channel of channels) channel.close();
  });

  it('speaks Server-Sent Events: headers, retry hint, id = applied events, Last-Event-ID as header or query, HEAD', async () => {
    const current = await stack.sum();
    const stream = await openSse(`${base}/sum/stream`);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.headers['cache-control']).toBe('no-store');
    await eventually(() => expect(stream.events).toHaveLength(1));
    expect(stream.retry).toBeGreaterThan(0);
    const first = stream.events[0]!;
    expect(first.event).toBe('sum');
    expect(first.data).toBe(`{"sum":${current},"applied_events":${first.id}}`);
    stream.close();

    // A client that already has the current value gets nothing until the sum changes...
    const resumed = await openSse(`${base}/sum/stream`, { 'last-event-id': first.id! });
    const resumedByQuery = await openSse(`${base}/sum/stream?lastEventId=${first.id}`);
    // ...one that has another value gets the current one at once.
    const behind = await openSse(`${base}/sum/stream`, { 'last-event-id': '1' });
    await eventually(() => expect(behind.events).toHaveLength(1));
    expect(sumOfEvent(behind.events[0]!).sum).toBe(current);
    expect(resumed.events).toHaveLength(0);
    expect(resumedByQuery.events).toHaveLength(0);
    await clients[0]!.add(5, 6);
    await eventually(() => expect([resumed, resumedByQuery].map((s) => s.events.length)).toEqual([1, 1]));
    for (const s of [resumed, resumedByQuery])
      expect(sumOfEvent(s.events[0]!)).toEqual({ sum: current + 11n, appliedEvents: BigInt(first.id!) + 1n });
    for (const s of [resumed, resumedByQuery, behind]) s.close();

    const head = await fetch(`${base}/sum/stream`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/event-stream');
  });

  it('writes to a gRPC watcher no more often than its min_interval_ms', async () => {
    // One hour between messages: after the first, nothing during this test, whatever happens.
    const patient = watchGrpc(clients[0]!, 3_600_000);
    const eager = watchGrpc(clients[1]!);
    await eventually(() => expect(patient.updates.length * eager.updates.length).toBeGreaterThan(0));
    const expected = (await stack.sum()) + (await burst(clients.slice(0, 4), 5));
    await eventually(() => expect(eager.updates.at(-1)?.sum).toBe(expected));
    expect(patient.updates).toHaveLength(1);
    patient.call.cancel();
    eager.call.cancel();
  });

  it('refuses watchers beyond WATCH_MAX_CLIENTS (503 problem JSON, RESOURCE_EXHAUSTED), asks WatchSum for the bearer token, and keeps idle streams alive', async () => {
    const [sumPort, grpcPort, metricsPort] = (await freePorts(3)) as [number, number, number];
    const token = 'watch-token-0123456789';
    const limits = { WATCH_MAX_CLIENTS: '1', WATCH_HEARTBEAT_MS: '1000' };
    await stack.start('sum-service', { name: 'small-sum', env: { ...limits, SUM_PORT: String(sumPort) } });
    await stack.start('add-service', {
      name: 'small-add',
      env: { ...limits, GRPC_PORT: String(grpcPort), ADD_METRICS_PORT: String(metricsPort), ADD_AUTH_TOKENS: token },
    });

    const one = await openSse(`http://127.0.0.1:${sumPort}/sum/stream`);
    const two = await openSse(`http://127.0.0.1:${sumPort}/sum/stream`);
    await two.closed;
    expect(two.status).toBe(503);
    expect(two.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(two.events[0]!.data)).toMatchObject({
      status: 503,
      detail: expect.stringMatching(/WATCH_MAX_CLIENTS=1/),
    });
    // The one admitted stays open, idle, with keep-alive comments.
    await eventually(() => expect(one.comments).toContain('keepalive'), { timeoutMs: 10_000 });
    one.close();

    const anonymous = watchGrpc(new AdditionClient(`127.0.0.1:${grpcPort}`));
    expect(await anonymous.ended).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const client = new AdditionClient(`127.0.0.1:${grpcPort}`, undefined, token);
    const first = watchGrpc(client);
    await eventually(() => expect(first.updates).toHaveLength(1));
    const second = watchGrpc(client);
    expect(await second.ended).toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: expect.stringMatching(/WATCH_MAX_CLIENTS=1/),
    });
    first.call.cancel();
    client.close();
    await stack.kill('small-sum', 'SIGTERM');
    await stack.kill('small-add', 'SIGTERM');
  });

  it('ends every stream cleanly at shutdown (SSE response ended, gRPC UNAVAILABLE) and the processes exit 0', async () => {
    const sse = await Promise.all(Array.from({ length: 5 }, () => openSse(`${base}/sum/stream`)));
    const watchers = Array.from({ length: 5 }, (_, i) => watchGrpc(clients[i]!));
    await eventually(() =>
      expect(sse.every((s) => s.events.length > 0) && watchers.every((w) => w.updates.length > 0)).toBe(true),
    );

    const sumService = stack.processes.get('sum-service')!;
    const sumExit = new Promise<number | null>((resolve) => sumService.once('exit', (code) => resolve(code)));
    sumService.kill('SIGTERM');
    await Promise.all(sse.map((s) => s.closed));
    expect(await sumExit).toBe(0);

    const addService = stack.processes.get('add-service')!;
    const addExit = new Promise<number | null>((resolve) => addService.once('exit', (code) => resolve(code)));
    addService.kill('SIGTERM');
    for (const watcher of watchers)
      expect(await watcher.ended).toMatchObject({
        code: grpc.status.UNAVAILABLE,
        details: expect.stringMatching(/shutting down; watch again/),
      });
    expect(await addExit).toBe(0);
    expect(stack.logs.filter((line) => /part did not close cleanly/.test(line))).toEqual([]);
  });
});
