import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { loadAdditionProto } from '../../src/shared/grpc/loadAdditionProto.js';

export interface AddReply {
  sum: string;
  operation_id: string;
  replayed: boolean;
  read_token: string;
}

export interface SumReply {
  sum: string;
  applied_events: string;
}

/** A typed promise client of SumStream's own proto (one HTTP/2 channel per instance). */
export class AdditionClient {
  private readonly client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  constructor(
    address: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    private readonly token?: string,
    channelOptions?: grpc.ChannelOptions,
  ) {
    const { Addition } = grpc.loadPackageDefinition(loadAdditionProto()) as unknown as { Addition: typeof grpc.Client };
    this.client = new Addition(address, credentials, channelOptions) as AdditionClient['client'];
  }

  add(
    a: bigint | number | string,
    b: bigint | number | string,
    idempotencyKey?: string,
    metadata?: grpc.Metadata,
  ): Promise<AddReply> {
    return this.call('Add', { a: String(a), b: String(b), idempotency_key: idempotencyKey ?? '' }, metadata);
  }

  getSum(): Promise<SumReply> {
    return this.call('GetSum', {});
  }

  /** GetSum{after, timeout_ms}: the sum once the addition of that read token is applied. */
  getSumAfter(after: string, timeoutMs = 0): Promise<SumReply> {
    return this.call('GetSum', { after, timeout_ms: timeoutMs });
  }

  /** WatchSum: a server stream of SumUpdate ({sum, applied_events}). */
  watchSum(minIntervalMs = 0, metadata = new grpc.Metadata()): grpc.ClientReadableStream<SumReply> {
    if (this.token !== undefined && metadata.get('authorization').length === 0)
      metadata.set('authorization', `Bearer ${this.token}`);
    return (
      this.client['WatchSum'] as (request: unknown, metadata: grpc.Metadata) => grpc.ClientReadableStream<SumReply>
    )({ min_interval_ms: minIntervalMs }, metadata);
  }

  call<T>(method: string, request: unknown, metadata = new grpc.Metadata()): Promise<T> {
    if (this.token !== undefined && metadata.get('authorization').length === 0)
      metadata.set('authorization', `Bearer ${this.token}`);
    return new Promise((resolve, reject) => {
      this.client[method]!(
        request,
        metadata,
        { deadline: Date.now() + 10_000 },
        (error: grpc.ServiceError | null, reply: T) => (error ? reject(error) : resolve(reply)),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** A client built exactly as a user of the original would: from the original int32 proto, default options. */
export function originalProtoClient(address: string): {
  add(a: number, b: number): Promise<{ sum: number }>;
  close(): void;
} {
  const path = fileURLToPath(new URL('../fixtures/original-addition.proto', import.meta.url));
  const { Addition } = grpc.loadPackageDefinition(protoLoader.loadSync(path)) as unknown as {
    Addition: typeof grpc.Client;
  };
  const client = new Addition(address, grpc.credentials.createInsecure()) as grpc.Client &
    Record<string, (...args: unknown[]) => unknown>;
  return {
    add: (a, b) =>
      new Promise((resolve, reject) =>
        client['Add']!({ a, b }, (error: Error | null, reply: { sum: number }) =>
          error ? reject(error) : resolve(reply),
        ),
      ),
    close: () => client.close(),
  };
}
