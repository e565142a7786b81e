import { describe, expect, it } from 'vitest';
import { formatRetry, formatSumEvent, KEEPALIVE_COMMENT, parseLastEventId } from '../../src/sum-service/sseEvents.js';

describe('GET /sum/stream events', () => {
  it('writes id, event and data with the sum as an exact JSON integer', () => {
    const sum = (2n ** 63n - 1n) * 3n;
    expect(formatSumEvent({ sum: String(sum), appliedEvents: '3' })).toBe(
      `id: 3\nevent: sum\ndata: {"sum":${sum},"applied_events":3}\n\n`,
    );
    expect(formatSumEvent({ sum: '-12', appliedEvents: '0' })).toBe(
      'id: 0\nevent: sum\ndata: {"sum":-12,"applied_events":0}\n\n',
    );
  });

  it('writes the retry hint and the keep-alive comment as complete blocks', () => {
    expect(formatRetry(1500)).toBe('retry: 1500\n\n');
    expect(KEEPALIVE_COMMENT).toBe(': keepalive\n\n');
  });

  it('reads Last-Event-ID as an applied-events count, ignoring anything else', () => {
    expect(parseLastEventId('42')).toBe(42n);
    expect(parseLastEventId(' 9007199254740993 ')).toBe(9007199254740993n);
    expect(parseLastEventId(['7', '8'])).toBe(7n);
    for (const value of [undefined, null, '', 'abc', '-1', '1.5', '1e3', '9'.repeat(31)])
      expect(parseLastEventId(value)).toBeUndefined();
  });
});
