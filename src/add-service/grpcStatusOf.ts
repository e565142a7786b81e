import { status } from '@grpc/grpc-js';
import { type FailureKind, SumStreamError } from '../shared/errors.js';

const STATUS_BY_KIND: Record<FailureKind, status> = {
  invalid: status.INVALID_ARGUMENT,
  out_of_range: status.OUT_OF_RANGE,
  conflict: status.ALREADY_EXISTS,
  unavailable: status.UNAVAILABLE,
  unauthenticated: status.UNAUTHENTICATED,
  rate_limited: status.RESOURCE_EXHAUSTED,
  timeout: status.DEADLINE_EXCEEDED,
};

/** Maps a failure to the gRPC status and message a client sees; unknown errors become INTERNAL. */
export function grpcStatusOf(error: unknown): { code: status; details: string } {
  if (error instanceof SumStreamError) return { code: STATUS_BY_KIND[error.kind], details: error.message };
  return { code: status.INTERNAL, details: 'Internal error; see the add-service log.' };
}
