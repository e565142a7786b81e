import type { SumSnapshot } from './readSum.js';
import type { Logger } from '../shared/log/createLogger.js';

/** One client following the sum, as the feed sees it. */
export interface SumWatcher {
  /** A newer snapshot of the sum; must not block (see WatchPacer). */
  offer(snapshot: SumSnapshot): void;
  /** The process is shutting down: end the stream cleanly. */
  end(): void;
}

/** Where the feed learns of changes and reads the sum: a SumCache. */
export interface SumSource {
  get(): Promise<SumSnapshot>;
  onChange(listener: () => void): () => void;
}

export const SUM_FEED_DEFAULTS = { intervalMs: 100, maxWatchers: 10_000 } as const;

export interface SumFeedOptions {
  source: SumSource;
  logger: Logger;
  /** Least ms between two reads of the sum for the watchers (`WATCH_INTERVAL_MS`). Default `SUM_FEED_DEFAULTS.intervalMs`. */
  intervalMs?: number;
  /** Watchers this process serves at most (`WATCH_MAX_CLIENTS`). Default `SUM_FEED_DEFAULTS.maxWatchers`. */
  maxWatchers?: number;
  /** Called with the number of watchers whenever it changes. */
  onWatchers?: (count: number) => void;
  /** Clock in ms. Default `performance.now()`. */
  now?: () => number;
}

/**
 * The live sum of one process, fanned out to every watcher: after a change notification it reads
 * the sum at most once per `intervalMs`, whatever the number of watchers, and offers the snapshot
 * to each of them. Watchers decide what to write and when (WatchPacer); the feed never waits
 * for one.
 */
export class SumFeed {
  private readonly intervalMs: number;
  private readonly maxWatchers: number;
  private readonly now: () => number;
  private readonly watchers = new Set<SumWatcher>();
  private unsubscribe: (() => void) | undefined;
  private changedSinceRead = false;
  private reading = false;
  private timer: NodeJS.Timeout | undefined;
  private lastReadAt = Number.NEGATIVE_INFINITY;
  private published: bigint = -1n;
  private closed = false;
  /** Reads of the sum made for the watchers. */
  reads = 0;

  constructor(private readonly options: SumFeedOptions) {
    this.intervalMs = options.intervalMs ?? SUM_FEED_DEFAULTS.intervalMs;
    this.maxWatchers = options.maxWatchers ?? SUM_FEED_DEFAULTS.maxWatchers;
    this.now = options.now ?? (() => performance.now());
  }

  /** Starts following change notifications. */
  start(): void {
    this.unsubscribe = this.options.source.onChange(() => this.changed());
  }

  get capacity(): number {
    return this.maxWatchers;
  }

  /** Adds a watcher; returns its removal, or undefined when the process already serves `maxWatchers` or is closing. */
  add(watcher: SumWatcher): (() => void) | undefined {
    if (this.closed || this.watchers.size >= this.maxWatchers) return undefined;
    this.watchers.add(watcher);
    this.options.onWatchers?.(this.watchers.size);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.watchers.delete(watcher);
      this.options.onWatchers?.(this.watchers.size);
    };
  }

  /** The sum now (shared with every concurrent reader), for a watcher's first message. */
  current(): Promise<SumSnapshot> {
    return this.options.source.get();
  }

  /** Ends every watcher's stream and refuses new ones. */
  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    clearTimeout(this.timer);
    for (const watcher of [...this.watchers]) {
      try {
        watcher.end();
      } catch (error) {
        this.options.logger.warn({ err: error }, 'ending a sum watcher failed');
      }
    }
    this.watchers.clear();
    this.options.onWatchers?.(0);
  }

  private changed(): void {
    if (this.closed) return;
    this.changedSinceRead = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.reading || this.timer || !this.changedSinceRead) return;
    // With no watchers there is nobody to read for; the next watcher reads the current sum itself.
    if (this.watchers.size === 0) {
      this.changedSinceRead = false;
      return;
    }
    const wait = this.lastReadAt + this.intervalMs - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
      return;
    }
    void this.read();
  }

  private async read(): Promise<void> {
    this.reading = true;
    this.changedSinceRead = false;
    this.lastReadAt = this.now();
    this.reads++;
    try {
      const snapshot = await this.options.source.get();
      const version = BigInt(snapshot.appliedEvents);
      if (version > this.published && !this.closed) {
        this.published = version;
        for (const watcher of this.watchers) {
          try {
            watcher.offer(snapshot);
          } catch (error) {
            this.options.logger.warn({ err: error }, 'offering the sum to a watcher failed');
          }
        }
      }
    } catch (error) {
      // Try again after the interval: the change is still unseen.
      this.changedSinceRead = true;
      this.options.logger.warn({ err: error }, 'cannot read the sum for watchers; retrying');
    } finally {
      this.reading = false;
      this.schedule();
    }
  }
}
