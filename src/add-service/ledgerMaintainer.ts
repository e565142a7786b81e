import type pg from 'pg';
import { sleep } from '../shared/backoff.js';
import { deleteInBatches } from '../shared/db/deleteInBatches.js';
import type { Logger } from '../shared/log/createLogger.js';
import type { AddMetrics } from './addMetrics.js';

/** What happens to a ledger partition past the retention: detached (kept as a table, to archive) or dropped. */
export type ExpiredPartitions = 'detach' | 'drop';

/** The maintainer's defaults (LEDGER_* and IDEMPOTENCY_KEY_RETENTION_SECONDS take theirs from here). */
export const LEDGER_MAINTAINER_DEFAULTS = {
  partitionSeconds: 24 * 3600,
  retentionSeconds: 0,
  expired: 'detach' as ExpiredPartitions,
  idempotencyKeyRetentionSeconds: 7 * 24 * 3600,
  pruneBatch: 5_000,
} as const;

export interface LedgerMaintainerOptions {
  pool: pg.Pool;
  /** Time span of one ledger partition. */
  partitionSeconds: number;
  /** Partitions wholly older than this are expired; 0 keeps them all. */
  retentionSeconds: number;
  expired: ExpiredPartitions;
  /** Idempotency keys are answered for this long after their addition; then a retry is a new addition. */
  idempotencyKeyRetentionSeconds: number;
  metrics: Pick<
    AddMetrics,
    | 'ledgerPartitions'
    | 'ledgerPartitionsExpired'
    | 'ledgerDefaultRows'
    | 'ledgerMaintenanceFailures'
    | 'idempotencyKeysPruned'
  >;
  logger: Logger;
}

export interface MaintenanceRound {
  created: number;
  expired: number;
  partitions: number;
  defaultRows: number;
  keysPruned: number;
}

/**
 * Keeps the ledger's state bounded: makes the time partitions ahead of now (`sumstream_maintain_ledger`,
 * migrations/0004), expires those past the retention, and prunes idempotency keys past their window.
 * Runs at start and then several times per partition span (at most every minute).
 */
export class LedgerMaintainer {
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: LedgerMaintainerOptions) {}

  /** Seconds between two rounds: a sixth of a partition, between 1 s and 60 s. */
  get intervalSeconds(): number {
    return Math.min(60, Math.max(1, Math.floor(this.options.partitionSeconds / 6)));
  }

  start(): void {
    this.running = this.loop();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  async maintain(): Promise<MaintenanceRound> {
    const { pool, metrics } = this.options;
    const { rows } = await pool.query<{ created: number; expired: number; partitions: number; default_rows: string }>(
      'SELECT * FROM sumstream_maintain_ledger($1, $2, $3)',
      [this.options.partitionSeconds, this.options.retentionSeconds, this.options.expired],
    );
    const round = rows[0] ?? { created: 0, expired: 0, partitions: 0, default_rows: '0' };
    metrics.ledgerPartitions.set(round.partitions);
    metrics.ledgerPartitionsExpired.inc(round.expired);
    metrics.ledgerDefaultRows.set(Number(round.default_rows));
    const keysPruned = await deleteInBatches(
      pool,
      `DELETE FROM idempotency_keys WHERE idempotency_key = ANY(ARRAY(
         SELECT idempotency_key FROM idempotency_keys
         WHERE accepted_at < clock_timestamp() - make_interval(secs => $1) LIMIT $2))`,
      [this.options.idempotencyKeyRetentionSeconds, LEDGER_MAINTAINER_DEFAULTS.pruneBatch],
      { signal: this.stop.signal },
    );
    metrics.idempotencyKeysPruned.inc(keysPruned);
    return {
      created: round.created,
      expired: round.expired,
      partitions: round.partitions,
      defaultRows: Number(round.default_rows),
      keysPruned,
    };
  }

  private async loop(): Promise<void> {
    const { logger, metrics } = this.options;
    do {
      try {
        const round = await this.maintain();
        if (round.created > 0 || round.expired > 0)
          logger.info({ ...round, expiredAs: this.options.expired }, 'ledger partitions maintained');
        if (round.defaultRows > 0)
          logger.warn(
            { defaultRows: round.defaultRows },
            'ledger rows in the default partition: maintenance fell behind or a clock is far ahead; they move to their partition once it is made',
          );
      } catch (error) {
        metrics.ledgerMaintenanceFailures.inc();
        logger.warn({ err: error }, 'ledger maintenance failed; retrying at the next interval (Adds are not affected)');
      }
    } while (await sleep(this.intervalSeconds * 1000, this.stop.signal));
  }
}
