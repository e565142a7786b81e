import type pg from 'pg';
import { type ApplicableEvent, SUM_CHANGED_CHANNEL } from '../shared/vocabulary.js';

export interface ApplyResult {
  /** Events newly added to the sum. */
  applied: ApplicableEvent[];
  /** Events already in the inbox (or repeated within the batch): skipped. */
  duplicates: number;
}

/** Shards of the sum (see migrations/0002). */
export const SUM_SHARDS = 16;

// One statement, so one transaction: the inbox rows and the sum change commit together.
// ON CONFLICT DO NOTHING skips events applied before; RETURNING tells which were new.
const APPLY_BATCH = `
WITH fresh AS (
  INSERT INTO processed_events (event_id, amount)
  SELECT * FROM unnest($1::text[], $2::numeric[])
  ON CONFLICT (event_id) DO NOTHING
  RETURNING event_id, amount
), bump AS (
  UPDATE sum_shards
  SET total = total + (SELECT coalesce(sum(amount), 0) FROM fresh),
      applied_events = applied_events + (SELECT count(*) FROM fresh)
  WHERE shard = $3 AND EXISTS (SELECT 1 FROM fresh)
  RETURNING pg_notify('${SUM_CHANGED_CHANNEL}', $4::text)
)
SELECT event_id FROM fresh, (SELECT count(*) FROM bump) AS b`;

/**
 * Applies a batch of events to the sum exactly once, in one transaction: records each event
 * id in the inbox and adds the new ones' amounts to one shard of the sum. The commit notifies
 * SUM_CHANGED_CHANNEL with `origin` as payload, so that a SumCache can tell its own commits
 * (which it hears of at once) from those of other processes.
 */
export async function applyEvents(
  db: Pick<pg.Pool, 'query'>,
  events: readonly ApplicableEvent[],
  shard: number,
  origin = '',
): Promise<ApplyResult> {
  const unique = new Map<string, ApplicableEvent>();
  for (const event of events) if (!unique.has(event.eventId)) unique.set(event.eventId, event);
  if (unique.size === 0) return { applied: [], duplicates: events.length };
  const batch = [...unique.values()].sort((x, y) => (x.eventId < y.eventId ? -1 : 1)); // one lock order for all: no deadlocks between overlapping batches
  const { rows } = await db.query<{ event_id: string }>(APPLY_BATCH, [
    batch.map((e) => e.eventId),
    batch.map((e) => e.amount.toString()),
    shard % SUM_SHARDS,
    origin,
  ]);
  const fresh = new Set(rows.map((r) => r.event_id));
  const applied = batch.filter((e) => fresh.has(e.eventId));
  return { applied, duplicates: events.length - applied.length };
}
