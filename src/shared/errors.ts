/** The small typed set of failures that edges map to gRPC and HTTP statuses. */
export type FailureKind =
  'invalid' | 'out_of_range' | 'conflict' | 'unavailable' | 'unauthenticated' | 'rate_limited' | 'timeout';

export class SumStreamError extends Error {
  override name = 'SumStreamError';
  constructor(
    readonly kind: FailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
