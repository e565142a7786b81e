import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { backoffMs, sleep } from '../shared/backoff.js';
import type { SumSnapshot } from './readSum.js';
import type { Logger } from '../shared/log/createLogger.js';
import { SUM_CHANGED_CHANNEL } from '../shared/vocabulary.js';

export interface SumCacheOptions {
  databaseUrl: string;
  /** Reads the sum from PostgreSQL. */
  read: () => Promise<SumSnapshot>;
  logger: Logger;
  /** `application_name` of the LISTEN connection. Default `sumstream-sum-service`. */
  applicationName?: string;
  /**
   * While the LISTEN connection is down, change listeners are called this often (ms), so that
   * whoever follows the sum re-reads it instead of waiting for a notification that cannot
   * come. Default 1000.
   */
  disconnectedPollMs?: number;
}

/**
 * Serves the sum from memory without ever showing one older than the last commit it has been
 * told of. Every commit that changes the sum (by any sum-service instance) sends a NOTIFY; each
 * notification, and each local commit, raises the wanted version. A read whose cached version
 * is behind waits for one refresh, shared by every reader waiting at that moment, so the
 * database sees at most one read per burst of commits instead of one per request. While the
 * LISTEN connection is down, notifications could be missed, so every read goes to the database.
 *
 * `onChange` listeners hear of every possible change (a notification, a local commit, a
 * reconnect, and a periodic tick while disconnected): the sum feed and the read-after waiter
 * build on them.
 */
export class SumCache {
  private cached: SumSnapshot | undefined;
  private cachedVersion = -1;
  private wanted = 0;
  private refreshing: Promise<SumSnapshot> | undefined;
  private listening = false;
  private client: pg.Client | undefined;
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();
  private poller: NodeJS.Timeout | undefined;
  /**
   * Payload by which this process's own commits are notified (see applyEvents): those arrive
   * through changed() already, so their notification would only cause a second read.
   */
  readonly origin = randomUUID();

  constructor(private readonly options: SumCacheOptions) {}

  /** Starts listening (reconnecting in the background); resolves after the first attempt. */
  async start(): Promise<void> {
    let first: () => void = () => undefined;
    const firstAttempt = new Promise<void>((resolve) => (first = resolve));
    this.running = this.listen(() => first());
    this.poller = setInterval(() => {
      if (!this.listening) this.bump();
    }, this.options.disconnectedPollMs ?? 1000);
    this.poller.unref();
    await firstAttempt;
  }

  async close(): Promise<void> {
    this.stop.abort();
    clearInterval(this.poller);
    await this.client?.end().catch(() => undefined);
    await this.running;
  }

  /** A commit of this process changed the sum. */
  changed(): void {
    this.bump();
  }

  /** Calls `listener` after anything that may have changed the sum; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The cached sum when it is known to be current (no change heard of since it was read), else undefined: then use get(). */
  peek(): SumSnapshot | undefined {
    return this.listening && this.cachedVersion >= this.wanted ? this.cached : undefined;
  }

  async get(): Promise<SumSnapshot> {
    if (!this.listening) return this.options.read();
    if (this.cached && this.cachedVersion >= this.wanted) return this.cached;
    return this.refresh();
  }

  private bump(): void {
    this.wanted++;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.options.logger.error({ err: error }, 'sum change listener failed');
      }
    }
  }

  private refresh(): Promise<SumSnapshot> {
    if (this.refreshing) {
      // A refresh started before the newest change may be too old for this reader: chain one more.
      const target = this.wanted;
      return this.refreshing.then(() => (this.cachedVersion >= target && this.cached ? this.cached : this.refresh()));
    }
    const target = this.wanted;
    this.refreshing = this.options.read().then(
      (snapshot) => {
        this.refreshing = undefined;
        if (target > this.cachedVersion) {
          this.cached = snapshot;
          this.cachedVersion = target;
        }
        return snapshot;
      },
      (error: unknown) => {
        this.refreshing = undefined;
        throw error;
      },
    );
    return this.refreshing;
  }

  private async listen(afterFirstAttempt: () => void): Promise<void> {
    const applicationName = this.options.applicationName ?? 'sumstream-sum-service';
    for (let attempt = 0; !this.stop.signal.aborted; attempt++) {
      const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: applicationName });
      const ended = new Promise<void>((resolve) => {
        client.on('error', () => resolve());
        client.once('end', () => resolve());
      });
      try {
        await client.connect();
        client.on('notification', (notification) => {
          if (notification.payload !== this.origin) this.bump();
        });
        await client.query(`LISTEN ${SUM_CHANGED_CHANNEL}`);
        this.client = client;
        this.listening = true;
        this.bump(); // anything committed before LISTEN took effect
        attempt = 0;
        afterFirstAttempt();
        await ended;
      } catch (error) {
        afterFirstAttempt();
        if (!this.stop.signal.aborted)
          this.options.logger.warn(
            { err: error },
            'sum notifications unavailable; reading the sum from PostgreSQL per request',
          );
      }
      this.listening = false;
      await client.end().catch(() => undefined);
      if (!this.stop.signal.aborted) await sleep(backoffMs(attempt, 200, 5_000), this.stop.signal);
    }
  }
}
