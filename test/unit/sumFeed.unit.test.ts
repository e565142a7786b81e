import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SumSnapshot } from '../../src/sum-view/readSum.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { SumFeed, type SumSource, type SumWatcher } from '../../src/sum-view/sumFeed.js';

/** An in-memory sum: `commit()` changes it and notifies, as a sum-service commit would; `reads` counts get(). */
class MemorySum implements SumSource {
  applied = 0;
  reads = 0;
  failNext = 0;
  private readonly listeners = new Set<() => void>();
  commit(events = 1): void {
    this.applied += events;
    for (const listener of this.listeners) listener();
  }
  async get(): Promise<SumSnapshot> {
    this.reads++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('connection refused');
    }
    return { sum: String(this.applied * 7), appliedEvents: String(this.applied) };
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

class RecordingWatcher implements SumWatcher {
  got: string[] = [];
  ended = false;
  offer(snapshot: SumSnapshot): void {
    this.got.push(snapshot.appliedEvents);
  }
  end(): void {
    this.ended = true;
  }
}

const logger = createLogger('test', 'silent');

describe('SumFeed', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const feedOver = (source: MemorySum, options: { intervalMs?: number; maxWatchers?: number } = {}) => {
    const counts: number[] = [];
    const feed = new SumFeed({ source, logger, now: () => Date.now(), onWatchers: (n) => counts.push(n), ...options });
    feed.start();
    return { feed, counts };
  };

  it('reads once per change interval for a thousand watchers, and offers every read to each of them', async () => {
    const source = new MemorySum();
    const { feed } = feedOver(source, { intervalMs: 100 });
    const watchers = Array.from({ length: 1000 }, () => new RecordingWatcher());
    for (const watcher of watchers) feed.add(watcher);

    // A burst of 50 commits within one interval: one read at once, one more when the interval has passed.
    for (let i = 0; i < 50; i++) source.commit();
    await vi.advanceTimersByTimeAsync(0);
    expect(source.reads).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(source.reads).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(source.reads).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(source.reads).toBe(2); // nothing changed since
    // The first read saw the first commit; the second, the whole burst.
    for (const watcher of watchers) expect(watcher.got).toEqual(['1', '50']);
    expect(feed.reads).toBe(2);
  });

  it('reads nothing while nobody watches', async () => {
    const source = new MemorySum();
    feedOver(source, { intervalMs: 10 });
    for (let i = 0; i < 20; i++) source.commit();
    await vi.advanceTimersByTimeAsync(1000);
    expect(source.reads).toBe(0);
  });

  it('offers a snapshot only when the sum moved on (a reconnect notification changes nothing)', async () => {
    const source = new MemorySum();
    const { feed } = feedOver(source, { intervalMs: 10 });
    const watcher = new RecordingWatcher();
    feed.add(watcher);
    source.commit();
    await vi.advanceTimersByTimeAsync(50);
    source.commit(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(source.reads).toBe(2);
    expect(watcher.got).toEqual(['1']);
  });

  it('refuses watchers beyond its capacity, counts them, and takes new ones once one leaves', () => {
    const source = new MemorySum();
    const { feed, counts } = feedOver(source, { maxWatchers: 2 });
    const remove = feed.add(new RecordingWatcher());
    expect(remove).toBeDefined();
    expect(feed.add(new RecordingWatcher())).toBeDefined();
    expect(feed.add(new RecordingWatcher())).toBeUndefined();
    remove!();
    remove!();
    expect(feed.add(new RecordingWatcher())).toBeDefined();
    expect(counts).toEqual([1, 2, 1, 2]);
  });

  it('retries a failed read after the interval, keeping the change', async () => {
    const source = new MemorySum();
    const { feed } = feedOver(source, { intervalMs: 100 });
    const watcher = new RecordingWatcher();
    feed.add(watcher);
    source.failNext = 1;
    source.commit();
    await vi.advanceTimersByTimeAsync(0);
    expect(watcher.got).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(watcher.got).toEqual(['1']);
  });

  it('ends every watcher on close and refuses new ones', async () => {
    const source = new MemorySum();
    const { feed, counts } = feedOver(source);
    const watchers = [new RecordingWatcher(), new RecordingWatcher()];
    for (const watcher of watchers) feed.add(watcher);
    feed.close();
    expect(watchers.every((w) => w.ended)).toBe(true);
    expect(feed.add(new RecordingWatcher())).toBeUndefined();
    expect(counts.at(-1)).toBe(0);
    source.commit();
    await vi.advanceTimersByTimeAsync(1000);
    expect(source.reads).toBe(0);
  });
});
