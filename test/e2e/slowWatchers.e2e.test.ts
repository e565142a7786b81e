import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AdditionClient } from '../helpers/additionClient.js';
import { eventually } from '../helpers/eventually.js';
import { watchGrpc } from '../helpers/grpcWatcher.js';
import { metricValue } from '../helpers/metricValue.js';
import { openSse, sumOfEvent } from '../helpers/sseClient.js';
import { type Stack, startStack } from '../helpers/startStack.js';

/**
 * A client that sends `GET /sum/stream` and never reads. Python, because it can shrink its
 * receive buffer and segment size before connecting: on loopback (64 KiB segments) a Node socket
 * lets the kernels buffer megabytes of events before the server's res.write() reports a full
 * buffer; with these options some 40 KB do. The server side is the same either way.
 */
const NEVER_READS = `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /sum/stream HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
print("sent", flush=True)
sys.stdin.read()
`;

const hasPython = spawnSync('python3', ['-c', 'import socket; socket.TCP_MAXSEG'], { encoding: 'utf8' }).status === 0;

describe('a watcher that stops reading slows nobody', () => {
  let stack: Stack;
  let clients: AdditionClient[];
  let added = 0n;

  /** Adds until `done()` (bounded): each Add is its own apply transaction here, so each is a new sum for the watchers. */
  async function addUntil(done: () => Promise<boolean>): Promise<number> {
    for (let round = 1; round <= 40; round++) {
      const totals = await Promise.all(
        clients.map(async (client) => {
          let total = 0n;
          for (let n = 0; n < 25; n++) total += BigInt((await client.add(n + 1, round)).sum);
          return total;
        }),
      );
      added += totals.reduce((x, y) => x + y, 0n);
      if (await done()) return round;
    }
    throw new Error('the blocked watcher was never dropped');
  }

  beforeAll(async () => {
    stack = await startStack({
      databaseUrl: inject('databaseUrl'),
      amqpManagementUrl: inject('amqpManagementUrl'),
      // Every commit a new sum, every sum an update (1 ms apart at most), and a stuck watcher dropped after 1 s.
      env: { CONSUMER_MAX_BATCH: '1', WATCH_INTERVAL_MS: '1', WATCH_STALL_TIMEOUT_MS: '1000' },
    });
    clients = Array.from({ length: 10 }, () => stack.client());
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('drops a paused gRPC watcher (its own channel), while the others and the Adds go on to the final sum', async () => {
    // Given a watcher that reads and one that stops reading after its first message
    const reader = watchGrpc(clients[0]!);
    // A small flow-control window, so the server's writes fill up after about a thousand updates, not after tens of thousands.
    const slowChannel = new AdditionClient(`127.0.0.1:${stack.ports.grpc}`, undefined, undefined, {
      'grpc-node.flow_control_window': 1024,
    });
    const paused = watchGrpc(slowChannel);
    paused.call.on('data', () => paused.call.pause());
    await eventually(() => expect(reader.updates.length * paused.updates.length).toBeGreaterThan(0));

    // When the sum changes over and over
    const rounds = await addUntil(
      async () =>
        (await metricValue(stack.ports.addMetrics, 'sumstream_watchers_dropped_total', { transport: 'grpc' })) >= 1,
    );

    // Then every Add is applied and the reading watcher sees the final sum
    const expected = added;
    await stack.waitForSum(expected);
    await eventually(() => expect(reader.updates.at(-1)?.sum).toBe(expected));
    // And the paused one was dropped: values were skipped for it, it is no longer counted, and when it reads
    // again it finds what was buffered and a status that says why
    expect(
      await metricValue(stack.ports.addMetrics, 'sumstream_watch_updates_skipped_total', { transport: 'grpc' }),
    ).toBeGreaterThan(0);
    expect(await metricValue(stack.ports.addMetrics, 'sumstream_watchers', { transport: 'grpc' })).toBe(1);
    paused.call.removeAllListeners('data');
    paused.call.on('data', (update: { sum: string; applied_events: string }) =>
      paused.updates.push({ sum: BigInt(update.sum), appliedEvents: BigInt(update.applied_events) }),
    );
    paused.call.resume();
    const status = await paused.ended;
    expect(status).toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: expect.stringMatching(/read nothing for WATCH_STALL_TIMEOUT_MS=1000 ms/),
    });
    expect(paused.updates.at(-1)!.sum).toBeLessThan(expected);
    expect(reader.updates.length).toBeGreaterThan(paused.updates.length);
    console.info(
      `paused gRPC watcher dropped after ${rounds} rounds of 250 Adds; it got ${paused.updates.length} updates, the reader ${reader.updates.length}, final sum ${expected}`,
    );
    reader.call.cancel();
    slowChannel.close();
  });

  it('drops an SSE client that never reads, while the others and the Adds go on to the final sum', async (context) => {
    if (!hasPython) return context.skip('python3 is needed for a socket with a small receive buffer');
    // Given a watcher that reads and a client that never reads
    const reader = await openSse(`http://127.0.0.1:${stack.ports.sum}/sum/stream`);
    let blocked: ChildProcess | undefined;
    try {
      blocked = spawn('python3', ['-c', NEVER_READS, String(stack.ports.sum)], { stdio: ['pipe', 'pipe', 'inherit'] });
      await new Promise((resolve) => blocked!.stdout!.once('data', resolve));
      await eventually(async () =>
        expect(await metricValue(stack.ports.sum, 'sumstream_watchers', { transport: 'sse' })).toBe(2),
      );

      // When the sum changes over and over
      const rounds = await addUntil(
        async () => (await metricValue(stack.ports.sum, 'sumstream_watchers_dropped_total', { transport: 'sse' })) >= 1,
      );

      // Then every Add is applied and the reader sees the final sum, through every value it was sent in order
      const expected = added;
      await stack.waitForSum(expected);
      await eventually(() => expect(sumOfEvent(reader.events.at(-1)!).sum).toBe(expected));
      const seen = reader.events.map(sumOfEvent);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.appliedEvents).toBeGreaterThan(seen[i - 1]!.appliedEvents);
      // And the client that never read was dropped (values skipped first), so only the reader is counted
      expect(
        await metricValue(stack.ports.sum, 'sumstream_watch_updates_skipped_total', { transport: 'sse' }),
      ).toBeGreaterThan(0);
      expect(await metricValue(stack.ports.sum, 'sumstream_watchers', { transport: 'sse' })).toBe(1);
      console.info(
        `SSE client that never read dropped after ${rounds} rounds of 250 Adds; the reader got ${seen.length} events, final sum ${expected}`,
      );
    } finally {
      reader.close();
      blocked?.stdin?.end();
      blocked?.kill();
    }
  });
});
