import { execFileSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { requireTool } from '../../src/dev-stack/index.js';
import type { AdditionClient } from '../helpers/additionClient.js';
import { type Stack, startStack } from '../helpers/startStack.js';

const HEALTH_PROTO = 'node_modules/grpc-health-check/proto/health/v1/health.proto';

/** Sends raw bytes as the Add request body, as a broken or hostile client would. */
function rawAdd(address: string, body: Buffer): Promise<grpc.ServiceError | Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/Addition/Add',
      (x: Buffer) => x,
      (x: Buffer) => x,
      body,
      (error, reply) => {
        client.close();
        resolve(error ?? reply!);
      },
    );
  });
}

describe('gRPC surface of the add-service', () => {
  let stack: Stack;
  let client: AdditionClient;
  let address: string;

  beforeAll(async () => {
    stack = await startStack({
      databaseUrl: inject('databaseUrl'),
      amqpManagementUrl: inject('amqpManagementUrl'),
      services: ['add-service'],
    });
    client = stack.client();
    address = `127.0.0.1:${stack.ports.grpc}`;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers a + b with an operation id, and the same answer for a retried idempotency key', async () => {
    const first = await client.add(40, 2, 'order-17');
    expect(first).toMatchObject({ sum: '42', replayed: false });
    expect(first.operation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await client.add(40, 2, 'order-17')).toEqual({ ...first, replayed: true });
    const metadata = new grpc.Metadata();
    metadata.set('idempotency-key', 'order-17');
    expect(await client.add(40, 2, undefined, metadata)).toEqual({ ...first, replayed: true });
    const [{ count }] = (await stack.query<{ count: string }>(
      "SELECT count(*) FROM additions WHERE idempotency_key = 'order-17'",
    )) as [{ count: string }];
    expect(count).toBe('1');
  });

  it('refuses bad input with a status and a message that says what was wrong, and records nothing', async () => {
    const before = await stack.query<{ count: string }>('SELECT count(*) FROM additions');
    await expect(client.add('9223372036854775807', 1)).rejects.toMatchObject({
      code: grpc.status.OUT_OF_RANGE,
      details: expect.stringMatching(/overflows int64/),
    });
    await expect(client.add(1, 1, 'k'.repeat(129))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/limit is 128/),
    });
    await expect(client.add(1, 2, 'order-17')).rejects.toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
      details: expect.stringMatching(/already used for Add\(40, 2\)/),
    });
    const empty = new grpc.Metadata();
    empty.set('idempotency-key', '');
    await expect(client.add(1, 1, undefined, empty)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/empty/),
    });
    for (const bytes of [[0x08], [0x0f, 0x01], [0x0a, 0x05, 0x01], [0x1a, 0x05, 0x61]]) {
      expect(await rawAdd(address, Buffer.from(bytes))).toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringMatching(/Malformed AddRequest/),
      });
    }
    expect(await stack.query('SELECT count(*) FROM additions')).toEqual(before);
  });

  it('ignores unknown fields, as protobuf requires', async () => {
    // a=2, b=3, then field 15 (varint 1), which this service does not know.
    const reply = await rawAdd(address, Buffer.from([0x08, 0x02, 0x10, 0x03, 0x78, 0x01]));
    expect(Buffer.isBuffer(reply)).toBe(true);
    expect([...(reply as Buffer).subarray(0, 2)]).toEqual([0x08, 0x05]);
  });

  it('serves gRPC health checking', async () => {
    const { grpc: g } = grpc.loadPackageDefinition(
      protoLoader.loadSync(HEALTH_PROTO, { enums: String }),
    ) as unknown as { grpc: { health: { v1: { Health: typeof grpc.Client } } } };
    const health = new g.health.v1.Health(address, grpc.credentials.createInsecure()) as grpc.Client & {
      Check: (...args: unknown[]) => void;
    };
    const check = (service: string) =>
      new Promise((resolve, reject) =>
        health.Check({ service }, (error: Error | null, reply: unknown) => (error ? reject(error) : resolve(reply))),
      );
    expect(await check('')).toEqual({ status: 'SERVING' });
    expect(await check('Addition')).toEqual({ status: 'SERVING' });
    await expect(check('Nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    health.close();
  });

  it('lists and describes the service by reflection with grpcurl (no proto file)', () => {
    // The pinned grpcurl, installed before the tests by scripts/install-test-tools.sh; never here.
    const grpcurl = requireTool('grpcurl', process.env);
    const list = execFileSync(grpcurl, ['-plaintext', address, 'list'], { encoding: 'utf8' });
    expect(list.split('\n')).toContain('Addition');
    const described = execFileSync(grpcurl, ['-plaintext', address, 'describe', 'Addition'], { encoding: 'utf8' });
    expect(described).toMatch(/rpc Add \( \.AddRequest \) returns \( \.AddResponse \)/);
    expect(described).toMatch(/rpc WatchSum \( \.WatchSumRequest \) returns \( stream \.SumUpdate \)/);
    const reply = JSON.parse(
      execFileSync(grpcurl, ['-plaintext', '-d', '{"a": 2, "b": 3}', address, 'Addition/Add'], { encoding: 'utf8' }),
    ) as { sum: string };
    expect(reply.sum).toBe('5');
  });
});
