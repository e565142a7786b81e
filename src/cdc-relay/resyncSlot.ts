import type { ConfirmChannel } from 'amqplib';
import type pg from 'pg';
import type { TopologyConfig } from '../shared/config/commonConfig.js';
import { ensureSlot } from './ensureSlot.js';
import { type RepublishOptions, republishLedger } from './republishLedger.js';
import { currentTimeline, type SlotGuardOptions } from './slotGuard.js';

export interface ResyncResult {
  slot: string;
  /** False when the slot existed already (kept as it is). */
  slotCreated: boolean;
  /** Ledger events published again. */
  published: number;
  /** The reason the slot was marked lost, if it was. */
  clearedReason: string | null;
  /** The timeline the marker now records. */
  timeline: number;
}

/**
 * Recovers from a lost slot: (a) makes sure the publication and the slot exist (an existing slot is
 * kept, unless PostgreSQL invalidated it), (b) then publishes every ledger event again with its original id (the sum-service's inbox
 * drops those it applied), (c) clears the marker's lost reason and records the current timeline, so
 * the relays stream again. In that order, every event is in the ledger read by (b) or in the slot
 * made by (a): creating a logical slot waits for running transactions.
 */
export async function resyncSlot(
  pool: pg.Pool,
  channel: ConfirmChannel,
  topology: TopologyConfig,
  options: Omit<SlotGuardOptions, 'databaseUrl'> & Pick<RepublishOptions, 'onProgress' | 'onRefused'>,
): Promise<ResyncResult> {
  const exists = async () =>
    ((await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [options.slot])).rowCount ?? 0) > 0;
  // A slot PostgreSQL invalidated cannot stream again: it is replaced.
  await pool.query(
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND wal_status = 'lost'`,
    [options.slot],
  );
  const existed = await exists();
  await ensureSlot(pool, {
    slot: options.slot,
    publication: options.publication,
    table: `${options.table.schema}.${options.table.name}`,
  });
  const { rows } = await pool.query<{ lost_reason: string | null }>(
    'SELECT lost_reason FROM cdc_slots WHERE slot_name = $1',
    [options.slot],
  );
  const published = await republishLedger(pool, channel, topology, {
    onProgress: options.onProgress,
    onRefused: options.onRefused,
  });
  // The slot must still be there: one dropped during the republish would lose what came after it.
  if (!(await exists()))
    throw new Error(`Replication slot ${options.slot} disappeared during the resync; run it again.`);
  const timeline = await currentTimeline(pool);
  await pool.query(
    `INSERT INTO cdc_slots (slot_name, timeline) VALUES ($1, $2)
     ON CONFLICT (slot_name) DO UPDATE SET timeline = EXCLUDED.timeline, lost_reason = NULL, updated_at = now()`,
    [options.slot, timeline],
  );
  return {
    slot: options.slot,
    slotCreated: !existed,
    published,
    clearedReason: rows[0]?.lost_reason ?? null,
    timeline,
  };
}
