import { UsageError } from './cliErrors.js';

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;

/**
 * A decimal int64 argument, exactly (as a bigint: a JS number would round past 2^53).
 * Throws UsageError naming the argument, what was found and the accepted range.
 */
export function parseInt64(text: string, name: string): bigint {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) {
    throw new UsageError(`${name} must be a whole number (int64), e.g. 42 or -7; got ${JSON.stringify(text)}.`);
  }
  const value = BigInt(trimmed);
  if (value < MIN || value > MAX) {
    throw new UsageError(`${name} ${trimmed} is outside int64 [${MIN}, ${MAX}]; Add takes 64-bit integers.`);
  }
  return value;
}

/** A whole number in [min, max] for a flag such as --count; throws UsageError otherwise. */
export function parseIntInRange(text: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}; got ${JSON.stringify(text)}.`);
  }
  return Number(text);
}
