import * as grpc from '@grpc/grpc-js';
import type { AdditionClient, SumReply } from './additionClient.js';

export interface SumUpdate {
  sum: bigint;
  appliedEvents: bigint;
}

/** One WatchSum call as a test sees it: every update in order, and how it ended. */
export interface GrpcWatcher {
  call: grpc.ClientReadableStream<SumReply>;
  updates: SumUpdate[];
  /** Settles with the error status, or null when the server ended the call with OK. */
  ended: Promise<grpc.ServiceError | null>;
}

export function watchGrpc(client: AdditionClient, minIntervalMs = 0, metadata?: grpc.Metadata): GrpcWatcher {
  const call = client.watchSum(minIntervalMs, metadata);
  const updates: SumUpdate[] = [];
  const ended = new Promise<grpc.ServiceError | null>((resolve) => {
    call.on('error', (error: grpc.ServiceError) => resolve(error));
    call.on('end', () => resolve(null));
  });
  call.on('data', (update: SumReply) =>
    updates.push({ sum: BigInt(update.sum), appliedEvents: BigInt(update.applied_events) }),
  );
  return { call, updates, ended };
}
