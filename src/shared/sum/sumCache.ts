import pg from 'pg';
import { backoffMs, sleep } from '../shared/backoff.js';
import type { SumSnapshot } from '../shared/db/readSum.js';
import type { Logger } from '../shared/log/createLogger.js';
import { SUM_CHANGED_CHANNEL } from './applyEvents.js';

export interface SumCacheOptions {
  databaseUrl: string;
  /** Reads the sum from PostgreSQL. */
  read: () => Promise<SumSnapshot>;
  logger: Logger;
}

/**
 * Serves the sum from memory without ever showing one older than the last commit it has been
 * told of. Every commit that changes the sum (by any sum-service instance) sends a NOTIFY; each
 * notification, and each local commit, raises the wanted version. A read whose cached version
 * is behind waits for one refresh, shared by every reader waiting at that moment, so the
 * database sees at most one read per burst of commits instead of one per request. While the
 * LISTEN connection is down, notifications could be missed, so every read goes to the database.
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

  constructor(private readonly options: SumCacheOptions) {}

  /** Starts listening (reconnecting in the background); resolves after the first attempt. */
  async start(): Promise<void> {
    let first: () => void = () => undefined;
    const firstAttempt = new Promise<void>((resolve) => (first = resolve));
    this.running = this.listen(() => first());
    await firstAttempt;
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.client?.end().catch(() => undefined);
    await this.running;
  }

  /** A commit of this process changed the sum. */
  changed(): void {
    this.wanted++;
  }

  async get(): Promise<SumSnapshot> {
    if (!this.listening) return this.options.read();
    if (this.cached && this.cachedVersion >= this.wanted) return this.cached;
    return this.refresh();
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
    for (let attempt = 0; !this.stop.signal.aborted; attempt++) {
      const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: 'sumstream-sum-service' });
      const ended = new Promise<void>((resolve) => {
        client.on('error', () => resolve());
        client.once('end', () => resolve());
      });
      try {
        await client.connect();
        client.on('notification', () => this.wanted++);
        await client.query(`LISTEN ${SUM_CHANGED_CHANNEL}`);
        this.client = client;
        this.wanted++; // anything committed before LISTEN took effect
        this.listening = true;
        attempt = 0;
        afterFirstAttempt();
        await ended;
      } catch (error) {
        afterFirstAttempt();
        if (!this.stop.signal.aborted) this.options.logger.warn({ err: error }, 'sum notifications unavailable; reading the sum from PostgreSQL per request');
      }
      this.listening = false;
      await client.end().catch(() => undefined);
      if (!this.stop.signal.aborted) await sleep(backoffMs(attempt, 200, 5_000), this.stop.signal);
    }
  }
}
