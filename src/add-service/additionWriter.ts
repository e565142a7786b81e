import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { SumStreamError } from '../shared/errors.js';
import { ADDITION_PAYLOAD_SQL } from '../shared/events/additionEventPayload.js';
import { ADDITION_AGGREGATE_TYPE, ADDITION_EVENT_TYPE } from '../shared/vocabulary.js';
import type { AddCommand } from './validateAddRequest.js';

export interface RecordedAddition {
  /** Event id of the addition (new, or the original one on a replay). */
  id: string;
  sum: bigint;
  /** True when an earlier request with the same idempotency key is being answered again. */
  replayed: boolean;
}

/** The group commit's defaults (ADD_MAX_BATCH and ADD_CONCURRENT_FLUSHES take theirs from here). */
export const ADDITION_WRITER_DEFAULTS = { maxBatchSize: 256, maxConcurrentFlushes: 1 } as const;

export interface AdditionWriterOptions {
  /** Most additions written by one transaction. Default `ADDITION_WRITER_DEFAULTS.maxBatchSize`. */
  maxBatchSize?: number;
  /**
   * Transactions in flight at once (keep below the pool size). Default 1
   * (`ADDITION_WRITER_DEFAULTS.maxConcurrentFlushes`): while one commits, the
   * next batch gathers, so batches grow with the load and the database does the least work per
   * addition. Raise it when the database is far away (round trip much longer than a commit).
   */
  maxConcurrentFlushes?: number;
  /** Called with each flushed batch's size and transaction seconds. */
  onFlush?: (size: number, seconds: number) => void;
}

interface Pending {
  command: AddCommand;
  id: string;
  acceptedAt: Date;
  resolve: (result: RecordedAddition) => void;
  reject: (error: unknown) => void;
}

// One statement, so one implicit transaction: the idempotency keys, the ledger rows and their
// outbox rows commit together or not at all. A key that already exists (idempotency_keys, kept for
// IDEMPOTENCY_KEY_RETENTION_SECONDS) skips its row in all three. The payloads are built by PostgreSQL
// from the ledger rows, and only the ids that were not inserted (replays of a key; usually none) come
// back. Prepared once per connection (named statement).
const INSERT_BATCH = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::timestamptz[])
    AS t(id, a, b, result, idempotency_key, accepted_at)
), keyed AS (
  INSERT INTO idempotency_keys (idempotency_key, addition_id, accepted_at)
  SELECT idempotency_key, id, accepted_at FROM input WHERE idempotency_key IS NOT NULL
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING addition_id
), inserted AS (
  INSERT INTO additions (id, a, b, result, idempotency_key, accepted_at)
  SELECT id, a, b, result, idempotency_key, accepted_at FROM input
  WHERE idempotency_key IS NULL OR id IN (SELECT addition_id FROM keyed)
  RETURNING id, a, b, result, accepted_at
), published AS (
  INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
  SELECT id, '${ADDITION_AGGREGATE_TYPE}', id::text, '${ADDITION_EVENT_TYPE}', ${ADDITION_PAYLOAD_SQL}
  FROM inserted
  RETURNING id
)
SELECT id FROM input WHERE id NOT IN (SELECT id FROM published)`;
const INSERT_BATCH_NAME = 'sumstream_insert_additions';

const SELECT_BY_KEYS = `
SELECT l.id, l.a, l.b, l.result, k.idempotency_key
FROM idempotency_keys k JOIN additions l ON l.id = k.addition_id AND l.accepted_at = k.accepted_at
WHERE k.idempotency_key = ANY($1::text[])`;

/**
 * Writes additions with group commit: requests that arrive while a transaction is in flight
 * are coalesced into the next one (up to `maxBatchSize`), so durable throughput grows with
 * concurrency instead of paying one commit per call.
 */
export class AdditionWriter {
  private readonly queue: Pending[] = [];
  private flushing = 0;
  private readonly maxBatchSize: number;
  private readonly maxConcurrentFlushes: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: AdditionWriterOptions = {},
  ) {
    this.maxBatchSize = options.maxBatchSize ?? ADDITION_WRITER_DEFAULTS.maxBatchSize;
    this.maxConcurrentFlushes = options.maxConcurrentFlushes ?? ADDITION_WRITER_DEFAULTS.maxConcurrentFlushes;
  }

  write(command: AddCommand): Promise<RecordedAddition> {
    return new Promise((resolve, reject) => {
      this.queue.push({ command, id: randomUUID(), acceptedAt: new Date(), resolve, reject });
      this.pump();
    });
  }

  /** Resolves once every queued and in-flight write has settled. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private pump(): void {
    while (this.flushing < this.maxConcurrentFlushes && this.queue.length > 0) {
      const batch = this.takeBatch();
      this.flushing++;
      void this.flush(batch).finally(() => {
        this.flushing--;
        this.pump();
      });
    }
  }

  /** Takes up to maxBatchSize requests, never two with the same idempotency key. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < this.maxBatchSize;) {
      const item = this.queue[i]!;
      const key = item.command.idempotencyKey;
      if (key !== undefined && keys.has(key)) {
        i++;
        continue;
      }
      if (key !== undefined) keys.add(key);
      batch.push(item);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async flush(batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      const notInserted = await this.pool.query<{ id: string }>({
        name: INSERT_BATCH_NAME,
        text: INSERT_BATCH,
        values: [
          batch.map((p) => p.id),
          batch.map((p) => p.command.a.toString()),
          batch.map((p) => p.command.b.toString()),
          batch.map((p) => p.command.sum.toString()),
          batch.map((p) => p.command.idempotencyKey ?? null),
          batch.map((p) => p.acceptedAt.toISOString()),
        ],
      });
      this.options.onFlush?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      const skipped = new Set(notInserted.rows.map((r) => r.id));
      const replays = skipped.size === 0 ? [] : batch.filter((p) => skipped.has(p.id));
      for (const p of batch) if (!skipped.has(p.id)) p.resolve({ id: p.id, sum: p.command.sum, replayed: false });
      if (replays.length > 0) await this.answerReplays(replays);
    } catch (cause) {
      const error = new SumStreamError(
        'unavailable',
        commitMayHaveHappened(cause)
          ? `The addition may or may not have been recorded: the database connection failed while it was being committed (${(cause as Error).message}). Retry it with the same idempotency key: the ledger answers it, never twice.`
          : `The addition was not recorded: ${(cause as Error).message}. Retry it (with an idempotency key to be safe).`,
        { cause },
      );
      for (const p of batch) p.reject(error);
    }
  }

  private async answerReplays(replays: Pending[]): Promise<void> {
    const { rows } = await this.pool.query<{
      id: string;
      a: string;
      b: string;
      result: string;
      idempotency_key: string;
    }>(SELECT_BY_KEYS, [replays.map((p) => p.command.idempotencyKey)]);
    const byKey = new Map(rows.map((r) => [r.idempotency_key, r]));
    for (const p of replays) {
      const row = byKey.get(p.command.idempotencyKey ?? '');
      if (!row) {
        p.reject(
          new SumStreamError(
            'unavailable',
            'The addition was neither recorded nor found by its idempotency key; retry it.',
          ),
        );
      } else if (BigInt(row.a) !== p.command.a || BigInt(row.b) !== p.command.b) {
        p.reject(
          new SumStreamError(
            'conflict',
            `idempotency_key ${JSON.stringify(p.command.idempotencyKey)} was already used for Add(${row.a}, ${row.b}); use a new key for a different addition.`,
          ),
        );
      } else {
        p.resolve({ id: row.id, sum: BigInt(row.result), replayed: true });
      }
    }
  }
}

/**
 * Whether a failed batch insert may have committed anyway: the connection broke or the server ended
 * the session while the statement ran (a crash, a fast shutdown, a failover: PostgreSQL ends sessions
 * that wait for the synchronous standby after their commit is already local). Errors the server
 * raised about the statement itself, or failures to connect at all, mean it did not commit.
 */
export function commitMayHaveHappened(cause: unknown): boolean {
  const { code, message } = (cause ?? {}) as { code?: string; message?: string };
  if (code === '57P01' || code === '57P02' || code?.startsWith('08') === true) return true;
  if (code === 'ECONNRESET' || code === 'EPIPE') return true;
  return /Connection terminated|Query read timeout|connection.*(closed|lost|ended)/i.test(message ?? '');
}
