import * as grpc from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { HealthImplementation } from 'grpc-health-check';
import { SumStreamError } from '../shared/errors.js';
import type { Logger } from '../shared/log/createLogger.js';
import type { SumFeed } from '../sum-view/sumFeed.js';
import { readTokenOf } from '../sum-view/readToken.js';
import type { AddMetrics } from './addMetrics.js';
import { checkAddRequestWire } from './checkAddRequestWire.js';
import { createReflectionService } from './createReflectionService.js';
import type { RecordedAddition } from './additionWriter.js';
import { grpcStatusOf } from './grpcStatusOf.js';
import { serveWatchSum, type WatchSumRequest } from './serveWatchSum.js';
import { type AddCommand, type RawAddRequest, validateAddRequest } from './validateAddRequest.js';

export interface AdditionHandlers {
  record(command: AddCommand): Promise<RecordedAddition>;
  readSum(): Promise<{ sum: string; appliedEvents: string }>;
  /** The sum once the addition of read token `after` is applied (a malformed token: `invalid`; not applied in time: `timeout`). */
  readSumAfter(
    after: string,
    timeoutMs: number | undefined,
    signal: AbortSignal,
  ): Promise<{ sum: string; appliedEvents: string }>;
}

export interface WatchOptions {
  feed: SumFeed;
  /** The server's own interval, ms (`WATCH_INTERVAL_MS`). */
  intervalMs: number;
  /** Ms a blocked watcher is kept (`WATCH_STALL_TIMEOUT_MS`). */
  stallTimeoutMs: number;
}

interface GetSumRequest {
  after?: string;
  timeout_ms?: number;
}

export interface GrpcServerOptions {
  packageDefinition: PackageDefinition;
  handlers: AdditionHandlers;
  metrics: AddMetrics;
  logger: Logger;
  /** The live sum WatchSum serves. */
  watch: WatchOptions;
  /** Largest request accepted, in bytes. Default 4096. */
  maxRequestBytes?: number;
  /** Checks the `authorization` metadata of Add and GetSum. Default: everything passes. */
  authorize?: (authorization: string | undefined) => boolean;
  /** Admits one Add, or refuses it as over the rate limit. Default: unlimited. */
  admit?: () => boolean;
}

const MALFORMED = Symbol('malformed');
type MaybeMalformed = RawAddRequest & { [MALFORMED]?: string };

/**
 * The `Addition` service plus gRPC health checking and server reflection. Undecodable
 * request bytes are answered INVALID_ARGUMENT (grpc-js alone would say INTERNAL).
 */
export function createGrpcServer(options: GrpcServerOptions): { server: grpc.Server; health: HealthImplementation } {
  const { packageDefinition, handlers, metrics, logger } = options;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxRequestBytes ?? 4096,
    'grpc.keepalive_permit_without_calls': 1,
  });
  const service = packageDefinition['Addition'] as grpc.ServiceDefinition;
  const add = service['Add'] as grpc.MethodDefinition<RawAddRequest, unknown>;
  const tolerantService: grpc.ServiceDefinition = {
    ...service,
    Add: {
      ...add,
      requestDeserialize: (bytes: Buffer): MaybeMalformed => {
        const problem = checkAddRequestWire(bytes);
        if (problem !== undefined) return { [MALFORMED]: problem };
        try {
          return add.requestDeserialize(bytes);
        } catch (error) {
          return { [MALFORMED]: (error as Error).message };
        }
      },
    },
  };

  const observe = (method: string, started: bigint, code: grpc.status) => {
    metrics.grpc.observe([method], grpc.status[code], Number(process.hrtime.bigint() - started) / 1e9);
  };
  const fail = (method: string, started: bigint, callback: grpc.sendUnaryData<unknown>, error: unknown) => {
    const { code, details } = grpcStatusOf(error);
    if (code === grpc.status.INTERNAL || code === grpc.status.UNAVAILABLE)
      logger.error({ err: error, method }, 'request failed');
    observe(method, started, code);
    callback({ code, details });
  };

  const authorize = options.authorize ?? (() => true);
  const admit = options.admit ?? (() => true);
  const unauthenticated = () =>
    new SumStreamError(
      'unauthenticated',
      'Missing or invalid bearer token: send the metadata entry "authorization: Bearer <token>".',
    );
  const hasToken = (metadata: grpc.Metadata) => {
    const value = metadata.get('authorization')[0];
    return authorize(value === undefined ? undefined : String(value));
  };
  /** Refuses the call (and answers) when it lacks a valid token; true when it may proceed. */
  const authorized = (
    method: string,
    started: bigint,
    call: grpc.ServerUnaryCall<unknown, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ): boolean => {
    if (hasToken(call.metadata)) return true;
    fail(method, started, callback, unauthenticated());
    return false;
  };

  server.addService(tolerantService, {
    Add: (call: grpc.ServerUnaryCall<MaybeMalformed, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      if (!authorized('Add', started, call, callback)) return;
      if (!admit()) {
        fail(
          'Add',
          started,
          callback,
          new SumStreamError(
            'rate_limited',
            'This add-service is over its rate limit (ADD_RATE_LIMIT); retry with backoff.',
          ),
        );
        return;
      }
      const malformed = call.request[MALFORMED];
      if (malformed !== undefined) {
        observe('Add', started, grpc.status.INVALID_ARGUMENT);
        callback({
          code: grpc.status.INVALID_ARGUMENT,
          details: `Malformed AddRequest: ${malformed}. Send a protobuf AddRequest { int64 a = 1; int64 b = 2; }.`,
        });
        return;
      }
      let command: AddCommand;
      try {
        const metadataKey = call.metadata.get('idempotency-key')[0];
        command = validateAddRequest(call.request, metadataKey === undefined ? undefined : String(metadataKey));
      } catch (error) {
        fail('Add', started, callback, error);
        return;
      }
      handlers.record(command).then(
        (recorded) => {
          if (recorded.replayed) metrics.idempotentReplays.inc();
          else metrics.accepted.inc();
          logger.debug({ eventId: recorded.id, replayed: recorded.replayed }, 'addition recorded');
          observe('Add', started, grpc.status.OK);
          callback(null, {
            sum: recorded.sum.toString(),
            operation_id: recorded.id,
            replayed: recorded.replayed,
            read_token: readTokenOf(recorded.id),
          });
        },
        (error: unknown) => fail('Add', started, callback, error),
      );
    },
    GetSum: (call: grpc.ServerUnaryCall<GetSumRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      if (!authorized('GetSum', started, call, callback)) return;
      const after = call.request?.after ?? '';
      let reading: Promise<{ sum: string; appliedEvents: string }>;
      if (after === '') {
        reading = handlers.readSum();
      } else {
        const cancelled = new AbortController();
        call.once('cancelled', () => cancelled.abort());
        reading = handlers.readSumAfter(after, call.request.timeout_ms || undefined, cancelled.signal);
      }
      reading.then(
        ({ sum, appliedEvents }) => {
          observe('GetSum', started, grpc.status.OK);
          callback(null, { sum, applied_events: appliedEvents });
        },
        (error: unknown) => fail('GetSum', started, callback, error),
      );
    },
    WatchSum: (call: grpc.ServerWritableStream<WatchSumRequest, unknown>) => {
      // Streams are counted by the status they end with; their duration is the watcher's, not a latency.
      const onEnd = (code: grpc.status) => metrics.grpc.count(['WatchSum'], grpc.status[code]);
      if (!hasToken(call.metadata)) {
        const { code, details } = grpcStatusOf(unauthenticated());
        onEnd(code);
        call.emit('error', { code, details });
        return;
      }
      serveWatchSum(call, { ...options.watch, metrics: metrics.watch, logger, onEnd });
    },
  });

  const health = new HealthImplementation({ '': 'SERVING', Addition: 'SERVING' });
  health.addToServer(server);
  createReflectionService(packageDefinition).addToServer(server);
  return { server, health };
}

/** Binds with the given credentials (default insecure) and resolves with the bound port. */
export function bindGrpc(
  server: grpc.Server,
  host: string,
  port: number,
  credentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });
}

/** TLS server credentials from PEM files; with a client CA, clients must present a certificate it signed. */
export function tlsCredentials(pem: {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer | undefined;
}): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    pem.clientCa ?? null,
    [{ cert_chain: pem.cert, private_key: pem.key }],
    pem.clientCa !== undefined,
  );
}
