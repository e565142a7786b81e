import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SumSnapshot } from '../../src/sum-view/readSum.js';
import { WatchPacer, type WatchPacerOptions } from '../../src/sum-view/watchPacer.js';

const snap = (appliedEvents: number, sum = appliedEvents * 10): SumSnapshot => ({
  sum: String(sum),
  appliedEvents: String(appliedEvents),
});

/** A watcher whose buffer accepts `room` more writes before reporting full; records what it got. */
function harness(options: Partial<WatchPacerOptions> = {}) {
  const written: string[] = [];
  const state = { room: Number.POSITIVE_INFINITY, stalled: 0, skipped: 0 };
  const pacer = new WatchPacer({
    write: (snapshot) => {
      written.push(snapshot.appliedEvents);
      state.room--;
      return state.room > 0;
    },
    onStalled: () => state.stalled++,
    onSkipped: () => state.skipped++,
    now: () => Date.now(),
    ...options,
  });
  return { pacer, written, state };
}

describe('WatchPacer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes each newer snapshot at once when there is no interval, and drops older or equal ones', () => {
    const { pacer, written } = harness();
    pacer.offer(snap(1));
    pacer.offer(snap(3));
    pacer.offer(snap(2));
    pacer.offer(snap(3));
    pacer.offer(snap(4));
    expect(written).toEqual(['1', '3', '4']);
    expect(pacer.sent).toBe(3);
    expect(pacer.skipped).toBe(0);
  });

  it('coalesces to at most one write per interval, writing the latest when the interval has passed', () => {
    const { pacer, written, state } = harness({ minIntervalMs: 100 });
    pacer.offer(snap(1));
    expect(written).toEqual(['1']);
    for (let n = 2; n <= 6; n++) pacer.offer(snap(n));
    expect(written).toEqual(['1']);
    vi.advanceTimersByTime(99);
    expect(written).toEqual(['1']);
    vi.advanceTimersByTime(1);
    expect(written).toEqual(['1', '6']);
    expect(state.skipped).toBe(4); // 2, 3, 4, 5 were replaced before they were written
    // Idle for longer than the interval: the next one goes out at once.
    vi.advanceTimersByTime(500);
    pacer.offer(snap(7));
    expect(written).toEqual(['1', '6', '7']);
  });

  it('keeps only the latest snapshot while blocked and writes it on drain', () => {
    const { pacer, written, state } = harness();
    state.room = 1; // the first write fills the buffer
    pacer.offer(snap(1));
    expect(pacer.blocked).toBe(true);
    pacer.offer(snap(2));
    pacer.offer(snap(3));
    pacer.offer(snap(4));
    expect(written).toEqual(['1']);
    state.room = Number.POSITIVE_INFINITY;
    pacer.drained();
    expect(pacer.blocked).toBe(false);
    expect(written).toEqual(['1', '4']);
    expect(state.skipped).toBe(2);
    expect(state.stalled).toBe(0);
  });

  it('gives up a watcher that stays blocked past the stall timeout, once, and writes nothing more to it', () => {
    const { pacer, written, state } = harness({ stallTimeoutMs: 1000 });
    state.room = 1;
    pacer.offer(snap(1));
    pacer.offer(snap(2));
    vi.advanceTimersByTime(999);
    expect(state.stalled).toBe(0);
    vi.advanceTimersByTime(1);
    expect(state.stalled).toBe(1);
    pacer.drained();
    pacer.offer(snap(3));
    vi.advanceTimersByTime(5000);
    expect(written).toEqual(['1']);
    expect(state.stalled).toBe(1);
  });

  it('does not stall a watcher that drains within the bound, and restarts the bound on the next block', () => {
    const { pacer, state } = harness({ stallTimeoutMs: 1000 });
    state.room = 1;
    pacer.offer(snap(1));
    vi.advanceTimersByTime(900);
    state.room = 1;
    pacer.drained();
    pacer.offer(snap(2)); // blocks again
    vi.advanceTimersByTime(900);
    expect(state.stalled).toBe(0);
    vi.advanceTimersByTime(100);
    expect(state.stalled).toBe(1);
  });

  it('skips extra writes (keep-alives) while blocked, and a full buffer on one blocks too', () => {
    const { pacer, written, state } = harness();
    let extras = 0;
    pacer.writeExtra(() => (extras++, false));
    expect(pacer.blocked).toBe(true);
    pacer.writeExtra(() => (extras++, true));
    expect(extras).toBe(1);
    pacer.offer(snap(1));
    expect(written).toEqual([]);
    state.room = Number.POSITIVE_INFINITY;
    pacer.drained();
    expect(written).toEqual(['1']);
  });

  it('starts after what the watcher already has (Last-Event-ID)', () => {
    const { pacer, written } = harness();
    pacer.assume(snap(5));
    pacer.offer(snap(5));
    pacer.offer(snap(4));
    expect(written).toEqual([]);
    pacer.offer(snap(6));
    expect(written).toEqual(['6']);
  });

  it('writes nothing after close, and its timers are gone', () => {
    const { pacer, written, state } = harness({ minIntervalMs: 100, stallTimeoutMs: 100 });
    pacer.offer(snap(1));
    pacer.offer(snap(2));
    pacer.close();
    vi.advanceTimersByTime(1000);
    pacer.offer(snap(3));
    expect(written).toEqual(['1']);
    expect(state.stalled).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('orders by applied events even beyond 2^53', () => {
    const { pacer, written } = harness();
    pacer.offer({ sum: '1', appliedEvents: '9007199254740993' });
    pacer.offer({ sum: '1', appliedEvents: '9007199254740992' });
    pacer.offer({ sum: '2', appliedEvents: '9007199254740994' });
    expect(written).toEqual(['9007199254740993', '9007199254740994']);
  });
});
