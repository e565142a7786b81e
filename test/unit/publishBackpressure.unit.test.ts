import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PublishBackpressure } from '../../src/cdc-relay/publishBackpressure.js';

interface Item {
  seq: number;
}

function setup() {
  const published: number[] = [];
  const events: string[] = [];
  const backpressure = new PublishBackpressure<Item>({
    publish: (item) => published.push(item.seq),
    onStart: () => events.push('start'),
    onEnd: (heldMs) => events.push(`end ${heldMs}`),
    retryBaseMs: 100,
    retryMaxMs: 400,
  });
  return { backpressure, published, events };
}

describe('PublishBackpressure', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('starts an episode at the first refusal, retries the oldest refused event alone, then the rest in order', () => {
    const { backpressure, published, events } = setup();
    // Given events 1..5 in flight, of which RabbitMQ refuses 3, 5 and 4 (confirms may come out of order)
    backpressure.confirmed(1); // not part of an episode: ignored
    backpressure.refused({ seq: 3 });
    expect(backpressure.holding).toBe(true);
    expect(events).toEqual(['start']);
    backpressure.refused({ seq: 5 });
    backpressure.refused({ seq: 4 });
    expect(events).toEqual(['start']); // one episode
    // And the stream hands over event 6 meanwhile
    backpressure.hold({ seq: 6 });
    expect(published).toEqual([]);

    // When the backoff passes: only the oldest is published again
    vi.advanceTimersByTime(100);
    expect(published).toEqual([3]);
    // And refused again: retried after a longer wait
    backpressure.refused({ seq: 3 });
    vi.advanceTimersByTime(99);
    expect(published).toEqual([3]);
    vi.advanceTimersByTime(101);
    expect(published).toEqual([3, 3]);

    // When the retry is confirmed: every other waiting event follows, in stream order
    backpressure.confirmed(3);
    expect(published).toEqual([3, 3, 4, 5, 6]);
    expect(backpressure.holding).toBe(true);
    // And an event handed over now goes straight out
    backpressure.hold({ seq: 7 });
    expect(published).toEqual([3, 3, 4, 5, 6, 7]);

    // Then the episode ends once each of them is confirmed, and says how long it lasted
    for (const seq of [5, 4, 7]) backpressure.confirmed(seq);
    expect(backpressure.holding).toBe(true);
    vi.advanceTimersByTime(50);
    backpressure.confirmed(6);
    expect(backpressure.holding).toBe(false);
    expect(events).toEqual(['start', 'end 350']);
  });

  it('falls back to one retry at a time when a flushed event is refused again', () => {
    const { backpressure, published } = setup();
    backpressure.refused({ seq: 1 });
    backpressure.refused({ seq: 2 });
    backpressure.refused({ seq: 3 });
    vi.advanceTimersByTime(100);
    backpressure.confirmed(1);
    expect(published).toEqual([1, 2, 3]);
    // When 3 is refused, 2 still in flight
    backpressure.refused({ seq: 3 });
    backpressure.hold({ seq: 4 });
    expect(published).toEqual([1, 2, 3]); // 4 waits behind 3
    backpressure.confirmed(2);
    vi.advanceTimersByTime(400);
    expect(published).toEqual([1, 2, 3, 3]);
    backpressure.confirmed(3);
    expect(published).toEqual([1, 2, 3, 3, 4]);
    backpressure.confirmed(4);
    expect(backpressure.holding).toBe(false);
  });

  it('retries nothing after close', () => {
    const { backpressure, published } = setup();
    backpressure.refused({ seq: 1 });
    backpressure.close();
    vi.advanceTimersByTime(10_000);
    expect(published).toEqual([]);
  });
});
