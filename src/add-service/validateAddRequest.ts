import { SumStreamError } from '../shared/errors.js';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
/** Longest idempotency key accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;
const KEY_PATTERN = /^[\x21-\x7e]+$/;

/** An Add request as the gRPC layer decodes it (int64 as decimal strings). */
export interface RawAddRequest {
  a?: string | number | null;
  b?: string | number | null;
  idempotency_key?: string | null;
}

export interface AddCommand {
  a: bigint;
  b: bigint;
  sum: bigint;
  idempotencyKey: string | undefined;
}

function toInt64(name: string, value: string | number | null | undefined): bigint {
  if (value === undefined || value === null || value === '') return 0n;
  const text = String(value);
  if (!/^-?\d+$/.test(text))
    throw new SumStreamError('invalid', `${name} must be an integer, got ${JSON.stringify(text)}.`);
  const n = BigInt(text);
  if (n < INT64_MIN || n > INT64_MAX)
    throw new SumStreamError('out_of_range', `${name}=${text} is outside int64 [${INT64_MIN}, ${INT64_MAX}].`);
  return n;
}

/**
 * Validates an Add request. `metadataKey` is the `idempotency-key` metadata entry, if sent:
 * present but blank counts as missing and is refused, as is a body key that differs from it.
 */
export function validateAddRequest(request: RawAddRequest, metadataKey?: string): AddCommand {
  const a = toInt64('a', request.a);
  const b = toInt64('b', request.b);
  const sum = a + b;
  if (sum < INT64_MIN || sum > INT64_MAX) {
    throw new SumStreamError(
      'out_of_range',
      `a + b = ${sum} overflows int64 (max ${INT64_MAX}, min ${INT64_MIN}); send smaller operands.`,
    );
  }
  const bodyKey = request.idempotency_key ?? '';
  if (metadataKey !== undefined && metadataKey.trim() === '') {
    throw new SumStreamError(
      'invalid',
      'The idempotency-key metadata entry is empty; send 1-128 printable ASCII characters or omit it.',
    );
  }
  if (metadataKey !== undefined && bodyKey !== '' && bodyKey !== metadataKey) {
    throw new SumStreamError(
      'invalid',
      'idempotency_key in the request and the idempotency-key metadata differ; send one of them.',
    );
  }
  const key = bodyKey !== '' ? bodyKey : metadataKey;
  if (key !== undefined) {
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new SumStreamError(
        'invalid',
        `idempotency_key is ${key.length} characters long; the limit is ${MAX_IDEMPOTENCY_KEY_LENGTH}.`,
      );
    }
    if (!KEY_PATTERN.test(key)) {
      throw new SumStreamError('invalid', 'idempotency_key must be printable ASCII without spaces (e.g. a UUID).');
    }
  }
  return { a, b, sum, idempotencyKey: key };
}
