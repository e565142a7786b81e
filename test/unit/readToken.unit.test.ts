import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SumStreamError } from '../../src/shared/errors.js';
import { eventIdOfReadToken, readAfterWaitMs, readTokenOf } from '../../src/sum-view/readToken.js';

describe('read tokens', () => {
  it('round-trips an event id through its read token', () => {
    const id = randomUUID();
    expect(eventIdOfReadToken(readTokenOf(id))).toBe(id);
    expect(eventIdOfReadToken(id.toUpperCase())).toBe(id);
  });

  it('refuses a malformed token as invalid, saying what to send', () => {
    for (const token of [
      '',
      'abc',
      `${randomUUID()}x`,
      ' '.repeat(3),
      'x'.repeat(500),
      "'; DROP TABLE processed_events; --",
    ]) {
      expect(() => eventIdOfReadToken(token)).toThrow(SumStreamError);
      try {
        eventIdOfReadToken(token);
      } catch (error) {
        expect((error as SumStreamError).kind).toBe('invalid');
        expect((error as Error).message).toMatch(
          /^Malformed read token .*: pass the read_token of an AddResponse unchanged\.$/,
        );
        expect((error as Error).message.length).toBeLessThan(200);
      }
    }
  });

  it('lets a request lower the wait, never raise it; 0 means the server limit', () => {
    expect(readAfterWaitMs(undefined, 5000)).toBe(5000);
    expect(readAfterWaitMs(0, 5000)).toBe(5000);
    expect(readAfterWaitMs(250, 5000)).toBe(250);
    expect(readAfterWaitMs(60_000, 5000)).toBe(5000);
  });
});
