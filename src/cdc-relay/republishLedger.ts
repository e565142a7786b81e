import type { ConfirmChannel } from 'amqplib';
import type pg from 'pg';
import { backoffMs, sleep } from '../shared/backoff.js';
import type { TopologyConfig } from '../shared/config/commonConfig.js';
import { additionEventPayload } from '../shared/events/additionEventPayload.js';
import { ADDITION_AGGREGATE_TYPE, ADDITION_EVENT_TYPE } from '../shared/vocabulary.js';
import { publishOutcome } from './publishOutboxEvent.js';

interface LedgerRow {
  id: string;
  a: string;
  b: string;
  result: string;
  accepted_at: Date;
}

export interface RepublishOptions {
  /** Rows read and published per round trip. Default 1000. */
  pageSize?: number;
  /** Called after each confirmed page with the running count. */
  onProgress?: (published: number) => void;
  /** Called when RabbitMQ refused events of a page (the queue is at its length bound) before they are retried. */
  onRefused?: (refused: number) => void;
}

/**
 * Publishes the event of every ledger row again, in ledger order, with the original event ids
 * and publisher confirms. Recovery and audit tool: the sum-service's inbox makes it a no-op for
 * events already applied, and applies any that were lost downstream. Rows accepted before the inbox's
 * deduplication horizon are skipped: the sum-service would refuse them (their inbox rows may be gone).
 */
export async function republishLedger(
  pool: pg.Pool,
  channel: ConfirmChannel,
  topology: TopologyConfig,
  options: RepublishOptions = {},
): Promise<number> {
  const pageSize = options.pageSize ?? 1000;
  let published = 0;
  let after: { acceptedAt: Date; id: string } | undefined;
  for (;;) {
    const { rows } = await pool.query<LedgerRow>(
      `SELECT id, a, b, result, accepted_at FROM additions
       WHERE accepted_at >= (SELECT horizon FROM inbox_horizon)
         AND ($1::timestamptz IS NULL OR (accepted_at, id) > ($1::timestamptz, $2::uuid))
       ORDER BY accepted_at, id LIMIT $3`,
      [after?.acceptedAt ?? null, after?.id ?? null, pageSize],
    );
    if (rows.length === 0) return published;
    await publishPage(channel, topology, rows, options.onRefused);
    published += rows.length;
    options.onProgress?.(published);
    const last = rows[rows.length - 1]!;
    after = { acceptedAt: last.accepted_at, id: last.id };
  }
}

/**
 * Publishes one page and waits for RabbitMQ's answer to each event. Events it refuses (a nack: the
 * queue is at its length bound) are published again with backoff until it takes them, so a ledger
 * larger than the room in the queue is republished as fast as the consumers drain it.
 */
async function publishPage(
  channel: ConfirmChannel,
  topology: TopologyConfig,
  rows: LedgerRow[],
  onRefused: ((refused: number) => void) | undefined,
): Promise<void> {
  let pending = rows;
  for (let attempt = 0; pending.length > 0; attempt++) {
    const outcomes = await Promise.all(pending.map((row) => publishRow(channel, topology, row)));
    const failed = outcomes.find((o): o is Error => o instanceof Error);
    if (failed) throw failed;
    pending = pending.filter((_, i) => outcomes[i] === 'refused');
    if (pending.length > 0) {
      onRefused?.(pending.length);
      await sleep(backoffMs(attempt, 100, 2_000));
    }
  }
}

function publishRow(channel: ConfirmChannel, topology: TopologyConfig, row: LedgerRow) {
  const payload = additionEventPayload({
    id: row.id,
    a: BigInt(row.a),
    b: BigInt(row.b),
    result: BigInt(row.result),
    acceptedAt: row.accepted_at,
  });
  return new Promise<ReturnType<typeof publishOutcome>>((resolve) =>
    channel.publish(
      topology.exchange,
      topology.routingKey,
      Buffer.from(JSON.stringify(payload)),
      {
        persistent: true,
        messageId: row.id,
        type: ADDITION_EVENT_TYPE,
        contentType: 'application/json',
        headers: {
          id: row.id,
          aggregatetype: ADDITION_AGGREGATE_TYPE,
          aggregateid: row.id,
          'x-sumstream-republished': true,
        },
      },
      (error: unknown) => resolve(publishOutcome(error)),
    ),
  );
}
