import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import amqp from 'amqplib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { INT64_MAX, INT64_MIN } from '../../src/add-service/validateAddRequest.js';
import { decodeEvent } from '../../src/sum-service/decodeEvent.js';
import { eventually } from '../helpers/eventually.js';
import { type Stack, startStack } from '../helpers/startStack.js';

/** Statuses a well-behaved add-service may answer to arbitrary input. */
const CLEAN_GRPC = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.OUT_OF_RANGE,
  grpc.status.RESOURCE_EXHAUSTED,
]);

function rawAdd(client: grpc.Client, body: Buffer): Promise<{ code: grpc.status; reply?: Buffer }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/Addition/Add',
      (x: Buffer) => x,
      (x: Buffer) => x,
      body,
      (error, reply) => resolve(error ? { code: error.code } : { code: grpc.status.OK, reply: reply! }),
    );
  });
}

/** Sends one raw HTTP/1.1 request and returns the status line's code (0 when the server closed without answering). */
function rawHttp(port: number, request: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.on('error', () => undefined);
    socket.write(request); // no half-close: a server may drop a client that hung up before its answer
  });
}

describe('fuzzing every input of a running stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const alive = () => {
    for (const [name, child] of stack.processes) expect(child.exitCode, `${name} exited`).toBeNull();
  };

  it('gRPC: random request bytes and random operands get OK or a clear client error, never a crash', async () => {
    const client = new grpc.Client(`127.0.0.1:${stack.ports.grpc}`, grpc.credentials.createInsecure());
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        cases++;
        const { code } = await rawAdd(client, Buffer.from(bytes));
        expect(CLEAN_GRPC.has(code), `status ${grpc.status[code]} for ${Buffer.from(bytes).toString('hex')}`).toBe(
          true,
        );
      }),
      { numRuns: 400 },
    );
    const typed = stack.client();
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
        fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
        fc.option(fc.string({ maxLength: 150 })),
        async (a, b, key) => {
          cases++;
          const keyIsValid = key === null || key === '' || (key.length <= 128 && /^[\x21-\x7e]+$/.test(key));
          const overflow = a + b > INT64_MAX || a + b < INT64_MIN;
          const outcome = await typed.add(a, b, key ?? undefined).then(
            (reply) => ({ code: grpc.status.OK, sum: reply.sum }),
            (error: grpc.ServiceError) => ({ code: error.code, sum: undefined }),
          );
          if (overflow) expect(outcome.code).toBe(grpc.status.OUT_OF_RANGE);
          else if (!keyIsValid) expect(outcome.code).toBe(grpc.status.INVALID_ARGUMENT);
          else if (outcome.code !== grpc.status.ALREADY_EXISTS)
            expect(outcome).toEqual({ code: grpc.status.OK, sum: (a + b).toString() });
        },
      ),
      { numRuns: 300 },
    );
    client.close();
    alive();
    console.info(`gRPC fuzz: ${cases} cases, 0 crashes`);
  });

  it('REST: random methods, paths, headers and bodies get an HTTP answer (never a crash or a 500)', async () => {
    let cases = 0;
    const statuses = new Map<number, number>();
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT'),
          token,
        ),
        fc.oneof(
          fc.constantFrom(
            '/sum',
            '/metrics',
            '/healthz',
            '/readyz',
            '/',
            '/sum/',
            '/sum?x=1',
            '//sum',
            '/%00',
            '/..%2f..',
          ),
          fc.webPath(),
        ),
        fc.array(
          fc.tuple(
            token,
            fc.string({ maxLength: 40 }).map((v) => v.replace(/[\r\n]/g, '')),
          ),
          { maxLength: 5 },
        ),
        fc.string({ maxLength: 300 }),
        async (method, path, headers, body) => {
          cases++;
          const head = [
            `${method} ${path.startsWith('/') ? path : `/${path}`} HTTP/1.1`,
            'Host: 127.0.0.1',
            ...headers.map(([k, v]) => `${k}: ${v}`),
            `Content-Length: ${Buffer.byteLength(body)}`,
            'Connection: close',
          ];
          const status = await rawHttp(stack.ports.sum, `${head.join('\r\n')}\r\n\r\n${body}`);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect(status, `${method} ${path}`).toBeGreaterThanOrEqual(200);
          expect(status).not.toBe(500);
        },
      ),
      { numRuns: 400 },
    );
    alive();
    console.info(`REST fuzz: ${cases} cases, 0 crashes; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  });

  it('queue: random bytes and random JSON change the sum only as the decoder says, and dead-letter the rest', async () => {
    const connection = await amqp.connect(stack.amqpUrl);
    const channel = await connection.createConfirmChannel();
    const before = await stack.sum();
    const deadBefore = (await channel.checkQueue('addition.dead-letter')).messageCount;
    let cases = 0;
    let expectedDelta = 0n;
    let expectedDead = 0;
    const seen = new Set<string>();
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
      fc.json().map((j) => Buffer.from(j)),
      fc
        .record(
          {
            id: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
            amount: fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.double(), fc.string()),
          },
          { requiredKeys: [] },
        )
        .map((o) => Buffer.from(JSON.stringify(o))),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.option(fc.uuid()), async (content, messageId) => {
        cases++;
        // The model: what the consumer must do with this message.
        const decoded = decodeEvent(content, { messageId: messageId ?? undefined });
        if (decoded.kind === 'apply' && !seen.has(decoded.event.eventId)) {
          seen.add(decoded.event.eventId);
          expectedDelta += decoded.event.amount;
        }
        if (decoded.kind === 'dead-letter') expectedDead++;
        channel.publish('amq.topic', 'addition', content, { messageId: messageId ?? undefined });
      }),
      { numRuns: 500 },
    );
    await channel.waitForConfirms();
    await eventually(
      async () =>
        expect((await channel.checkQueue('addition.dead-letter')).messageCount - deadBefore).toBe(expectedDead),
      { timeoutMs: 30_000 },
    );
    await eventually(async () => expect(await stack.sum()).toBe(before + expectedDelta), { timeoutMs: 30_000 });
    expect((await channel.checkQueue('addition')).messageCount).toBe(0);
    await connection.close();
    alive();
    console.info(
      `queue fuzz: ${cases} messages, ${expectedDead} dead-lettered with a reason, ${seen.size} valid by chance, 0 crashes; sum moved by exactly ${expectedDelta}`,
    );
  });
});
