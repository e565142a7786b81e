import type pg from 'pg';
import { sleep } from '../shared/backoff.js';
import { deleteInBatches } from '../shared/db/deleteInBatches.js';
import type { Logger } from '../shared/log/createLogger.js';
import { INBOX_HORIZON_LOCK_KEY } from './applyEvents.js';
import type { SumMetrics } from './sumMetrics.js';

/** The pruner's defaults (INBOX_RETENTION_SECONDS and INBOX_PRUNE_* take theirs from here). */
export const INBOX_PRUNER_DEFAULTS = {
  retentionSeconds: 7 * 24 * 3600,
  intervalSeconds: 60,
  batchSize: 5_000,
} as const;

export interface InboxPrunerOptions {
  pool: pg.Pool;
  /** Inbox rows are kept this long after their event was accepted; 0 keeps them forever. */
  retentionSeconds: number;
  /** Seconds between two prune rounds. Default `INBOX_PRUNER_DEFAULTS.intervalSeconds`. */
  intervalSeconds?: number;
  /** Rows deleted per statement. Default `INBOX_PRUNER_DEFAULTS.batchSize`. */
  batchSize?: number;
  metrics: Pick<SumMetrics, 'inboxPruned' | 'inboxPruneFailures' | 'inboxHorizon' | 'inboxRetention'>;
  logger: Logger;
}

/**
 * Keeps the inbox bounded: every interval it moves the deduplication horizon to now minus the
 * retention, then deletes the inbox rows of events accepted before it, in batches. Moving the horizon
 * takes the horizon lock exclusively, so it waits for the apply transactions in flight and every later
 * one sees the new horizon (and refuses older events) before any row behind it is deleted.
 */
export class InboxPruner {
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: InboxPrunerOptions) {
    options.metrics.inboxRetention.set(options.retentionSeconds);
  }

  start(): void {
    if (this.options.retentionSeconds > 0) this.running = this.loop();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  /** One round: moves the horizon, deletes the rows behind it. Returns the horizon and the rows deleted. */
  async prune(): Promise<{ horizon: Date; pruned: number }> {
    const { pool, metrics } = this.options;
    const horizon = await this.moveHorizon();
    metrics.inboxHorizon.set(horizon.getTime() / 1000);
    const pruned = await deleteInBatches(
      pool,
      `DELETE FROM processed_events WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM processed_events WHERE event_at < $1 LIMIT $2))`,
      [horizon, this.options.batchSize ?? INBOX_PRUNER_DEFAULTS.batchSize],
      { signal: this.stop.signal, onBatch: (deleted) => metrics.inboxPruned.inc(deleted) },
    );
    return { horizon, pruned };
  }

  private async moveHorizon(): Promise<Date> {
    const client = await this.options.pool.connect();
    try {
      await client.query(
        `BEGIN; SET LOCAL lock_timeout = '5s'; SELECT pg_advisory_xact_lock(${INBOX_HORIZON_LOCK_KEY})`,
      );
      const { rows } = await client.query<{ horizon: Date }>(
        `UPDATE inbox_horizon SET horizon = greatest(horizon, clock_timestamp() - make_interval(secs => $1))
         RETURNING horizon`,
        [this.options.retentionSeconds],
      );
      await client.query('COMMIT');
      const horizon = rows[0]?.horizon;
      if (!horizon) throw new Error('inbox_horizon has no row: run the migrations (npm run migrate).');
      return horizon;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async loop(): Promise<void> {
    const { logger, metrics } = this.options;
    const intervalMs = (this.options.intervalSeconds ?? INBOX_PRUNER_DEFAULTS.intervalSeconds) * 1000;
    do {
      try {
        const { horizon, pruned } = await this.prune();
        if (pruned > 0) logger.info({ horizon, pruned }, 'inbox pruned behind the deduplication horizon');
      } catch (error) {
        metrics.inboxPruneFailures.inc();
        logger.warn({ err: error }, 'inbox prune failed; retrying at the next interval');
      }
    } while (await sleep(intervalMs, this.stop.signal));
  }
}
