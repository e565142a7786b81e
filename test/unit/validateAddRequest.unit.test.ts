import { describe, expect, it } from 'vitest';
import { INT64_MAX, INT64_MIN, validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { SumStreamError } from '../../src/shared/errors.js';

const kindOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof SumStreamError ? error.kind : 'other';
  }
  return 'none';
};

describe('validateAddRequest', () => {
  it('accepts int64 operands given as strings and answers a + b', () => {
    expect(validateAddRequest({ a: '2', b: '3' })).toEqual({ a: 2n, b: 3n, sum: 5n, idempotencyKey: undefined });
    expect(validateAddRequest({ a: '-9223372036854775808', b: '9223372036854775807' }).sum).toBe(-1n);
  });

  it('treats absent fields as proto3 zero values', () => {
    expect(validateAddRequest({}).sum).toBe(0n);
  });

  it('refuses a sum that overflows int64 with OUT_OF_RANGE', () => {
    expect(kindOf(() => validateAddRequest({ a: INT64_MAX.toString(), b: '1' }))).toBe('out_of_range');
    expect(kindOf(() => validateAddRequest({ a: INT64_MIN.toString(), b: '-1' }))).toBe('out_of_range');
    expect(() => validateAddRequest({ a: INT64_MAX.toString(), b: '1' })).toThrow(/overflows int64/);
  });

  it('refuses non-integers', () => {
    expect(kindOf(() => validateAddRequest({ a: '1.5', b: '1' }))).toBe('invalid');
    expect(kindOf(() => validateAddRequest({ a: 'x', b: '1' }))).toBe('invalid');
  });

  it('takes the idempotency key from the body or the metadata', () => {
    expect(validateAddRequest({ a: '1', b: '1', idempotency_key: 'k-1' }).idempotencyKey).toBe('k-1');
    expect(validateAddRequest({ a: '1', b: '1' }, 'k-2').idempotencyKey).toBe('k-2');
    expect(validateAddRequest({ a: '1', b: '1', idempotency_key: 'k-3' }, 'k-3').idempotencyKey).toBe('k-3');
  });

  it('refuses an empty metadata key, an oversized key, a key with spaces and two keys that differ', () => {
    expect(() => validateAddRequest({ a: '1', b: '1' }, ' ')).toThrow(/empty/);
    expect(() => validateAddRequest({ a: '1', b: '1', idempotency_key: 'k'.repeat(129) })).toThrow(/limit is 128/);
    expect(validateAddRequest({ a: '1', b: '1', idempotency_key: 'k'.repeat(128) }).idempotencyKey).toHaveLength(128);
    expect(() => validateAddRequest({ a: '1', b: '1', idempotency_key: 'a b' })).toThrow(/printable ASCII/);
    expect(() => validateAddRequest({ a: '1', b: '1', idempotency_key: 'x' }, 'y')).toThrow(/differ/);
  });
});
