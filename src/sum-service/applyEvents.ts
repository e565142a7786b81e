import type pg from 'pg';
import { type ApplicableEvent, SUM_CHANGED_CHANNEL } from '../shared/vocabulary.js';

export interface ApplyResult {
  /** Events newly added to the sum. */
  applied: ApplicableEvent[];
  /** Events already in the inbox (or repeated within the batch): skipped. */
  duplicates: number;
  /**
   * Events older than the inbox's deduplication horizon: their inbox rows may have been pruned, so
   * whether they were applied can no longer be told. Not applied; the caller dead-letters them.
   */
  refused: ApplicableEvent[];
}

/** Shards of the sum (see migrations/0002). */
export const SUM_SHARDS = 16;

/**
 * Advisory lock key guarding the inbox horizon: every apply transaction holds it shared, the pruner
 * takes it exclusive only to move the horizon (inboxPruner.ts). So no apply can check an event against
 * inbox rows that a concurrent prune is deleting.
 */
export const INBOX_HORIZON_LOCK_KEY = 7_301_122_005;

// One statement after the lock: the inbox rows and the sum change commit together. Events before the
// horizon are not inserted (and reported as refused); ON CONFLICT DO NOTHING skips events applied
// before; RETURNING tells which were new.
const APPLY_BATCH = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::numeric[], $3::timestamptz[]) AS t(event_id, amount, event_at)
), horizon AS (
  SELECT horizon FROM inbox_horizon
), fresh AS (
  INSERT INTO processed_events (event_id, amount, event_at)
  SELECT i.event_id, i.amount, i.event_at FROM input i, horizon h
  WHERE i.event_at IS NULL OR i.event_at >= h.horizon
  ON CONFLICT (event_id) DO NOTHING
  RETURNING event_id, amount
), bump AS (
  UPDATE sum_shards
  SET total = total + (SELECT coalesce(sum(amount), 0) FROM fresh),
      applied_events = applied_events + (SELECT count(*) FROM fresh)
  WHERE shard = $4 AND EXISTS (SELECT 1 FROM fresh)
  RETURNING pg_notify('${SUM_CHANGED_CHANNEL}', $5::text)
)
SELECT event_id, false AS refused FROM fresh, (SELECT count(*) FROM bump) AS b
UNION ALL
SELECT i.event_id, true FROM input i, horizon h WHERE i.event_at < h.horizon`;

/**
 * Applies a batch of events to the sum exactly once, in one transaction: records each event
 * id in the inbox and adds the new ones' amounts to one shard of the sum. Events older than the
 * inbox horizon are refused, not applied. The commit notifies SUM_CHANGED_CHANNEL with `origin` as
 * payload, so that a SumCache can tell its own commits (which it hears of at once) from those of
 * other processes.
 */
export async function applyEvents(
  pool: Pick<pg.Pool, 'connect'>,
  events: readonly ApplicableEvent[],
  shard: number,
  origin = '',
): Promise<ApplyResult> {
  const unique = new Map<string, ApplicableEvent>();
  for (const event of events) if (!unique.has(event.eventId)) unique.set(event.eventId, event);
  if (unique.size === 0) return { applied: [], duplicates: events.length, refused: [] };
  const batch = [...unique.values()].sort((x, y) => (x.eventId < y.eventId ? -1 : 1)); // one lock order for all: no deadlocks between overlapping batches
  const client = await pool.connect();
  let rows: { event_id: string; refused: boolean }[];
  try {
    // The lock comes before the statement, so the statement's snapshot sees any horizon moved before it.
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock_shared(${INBOX_HORIZON_LOCK_KEY})`);
    ({ rows } = await client.query<{ event_id: string; refused: boolean }>(APPLY_BATCH, [
      batch.map((e) => e.eventId),
      batch.map((e) => e.amount.toString()),
      batch.map((e) => (e.positionMs === undefined ? null : new Date(e.positionMs).toISOString())),
      shard % SUM_SHARDS,
      origin,
    ]));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(true); // a broken session is not handed out again
    throw error;
  }
  client.release();
  const fresh = new Set(rows.filter((r) => !r.refused).map((r) => r.event_id));
  const beyond = new Set(rows.filter((r) => r.refused).map((r) => r.event_id));
  const applied = batch.filter((e) => fresh.has(e.eventId));
  const refused = batch.filter((e) => beyond.has(e.eventId));
  return { applied, duplicates: events.length - applied.length - refused.length, refused };
}
