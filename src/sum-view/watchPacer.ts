import type { SumSnapshot } from './readSum.js';

export const WATCH_PACER_DEFAULTS = { stallTimeoutMs: 10_000 } as const;

export interface WatchPacerOptions {
  /** Writes one snapshot to the watcher; false when its buffer is full (call `drained()` on 'drain'). */
  write: (snapshot: SumSnapshot) => boolean;
  /** Called once when the watcher stayed blocked (no 'drain') for `stallTimeoutMs`: disconnect it. */
  onStalled: () => void;
  /** Called for each snapshot replaced before it was written (an intermediate value skipped). */
  onSkipped?: () => void;
  /** Least ms between two writes to this watcher. Default 0: every snapshot offered, as it comes. */
  minIntervalMs?: number;
  /** Ms a watcher may stay blocked before `onStalled`. Default `WATCH_PACER_DEFAULTS.stallTimeoutMs`. */
  stallTimeoutMs?: number;
  /** Clock in ms. Default `performance.now()`. */
  now?: () => number;
}

/** Applied-events count of a snapshot: the sum's version (every commit that changes the sum raises it). */
function versionOf(snapshot: SumSnapshot): bigint {
  return BigInt(snapshot.appliedEvents);
}

/**
 * What one watcher is sent, and when: the pure part of a live sum stream.
 *
 * - Only newer snapshots go out (by applied-events count); an older or equal one is dropped.
 * - At most one write per `minIntervalMs`; snapshots offered in between replace each other, so the
 *   watcher gets the latest when its interval has passed (intermediate values skipped).
 * - When a write reports a full buffer the watcher is blocked: nothing more is written until
 *   `drained()`; only the latest snapshot is kept pending and written then. A watcher blocked for
 *   `stallTimeoutMs` is given up (`onStalled`), so a client that stops reading holds a bounded
 *   buffer and never slows the feed or the other watchers.
 */
export class WatchPacer {
  private readonly minIntervalMs: number;
  private readonly stallTimeoutMs: number;
  private readonly now: () => number;
  private last: SumSnapshot | undefined;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private pending: SumSnapshot | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private isBlocked = false;
  private closed = false;
  /** Snapshots written. */
  sent = 0;
  /** Snapshots replaced before they were written. */
  skipped = 0;

  constructor(private readonly options: WatchPacerOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 0;
    this.stallTimeoutMs = options.stallTimeoutMs ?? WATCH_PACER_DEFAULTS.stallTimeoutMs;
    this.now = options.now ?? (() => performance.now());
  }

  /** True while the watcher's buffer is full (between a write that returned false and `drained()`). */
  get blocked(): boolean {
    return this.isBlocked;
  }

  /** The newest snapshot written or pending. */
  get latest(): SumSnapshot | undefined {
    return this.pending ?? this.last;
  }

  /** The watcher already has `snapshot` (e.g. its Last-Event-ID says so): only newer ones will be written. */
  assume(snapshot: SumSnapshot): void {
    if (!this.last || versionOf(snapshot) > versionOf(this.last)) this.last = snapshot;
  }

  /** A new snapshot of the sum: written now, later (interval, blocked), or replaced by a newer one. */
  offer(snapshot: SumSnapshot): void {
    if (this.closed) return;
    const newest = this.latest;
    if (newest && versionOf(snapshot) <= versionOf(newest)) return;
    if (this.pending) {
      this.skipped++;
      this.options.onSkipped?.();
    }
    this.pending = snapshot;
    this.flush();
  }

  /** Writes something other than a snapshot (e.g. a keep-alive comment) unless blocked; a full buffer blocks as a snapshot would. */
  writeExtra(write: () => boolean): void {
    if (this.closed || this.isBlocked) return;
    if (!write()) this.block();
  }

  /** The watcher's buffer has room again ('drain'). */
  drained(): void {
    if (this.closed || !this.isBlocked) return;
    this.isBlocked = false;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.flush();
  }

  /** Stops every timer; nothing more is written. */
  close(): void {
    this.closed = true;
    clearTimeout(this.intervalTimer);
    clearTimeout(this.stallTimer);
    this.pending = undefined;
  }

  private flush(): void {
    if (this.closed || this.isBlocked || !this.pending || this.intervalTimer) return;
    const wait = this.lastWriteAt + this.minIntervalMs - this.now();
    if (wait > 0) {
      this.intervalTimer = setTimeout(() => {
        this.intervalTimer = undefined;
        this.flush();
      }, wait);
      return;
    }
    const snapshot = this.pending;
    this.pending = undefined;
    this.last = snapshot;
    this.lastWriteAt = this.now();
    this.sent++;
    if (!this.options.write(snapshot)) this.block();
  }

  private block(): void {
    if (this.isBlocked || this.closed) return;
    this.isBlocked = true;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.closed || !this.isBlocked) return;
      this.close();
      this.options.onStalled();
    }, this.stallTimeoutMs);
  }
}
