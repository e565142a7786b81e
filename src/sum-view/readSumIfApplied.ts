import type pg from 'pg';
import type { SumSnapshot } from './readSum.js';

// One statement, so one snapshot: an event id found in the inbox here is counted in the sum read
// here (the inbox row and the sum change commit in one transaction).
const READ_SUM_IF_APPLIED = `
SELECT coalesce((SELECT array_agg(event_id) FROM processed_events WHERE event_id = ANY($1::text[])), '{}') AS applied,
       coalesce(sum(total), 0)::text AS sum,
       coalesce(sum(applied_events), 0)::text AS applied_events
FROM sum_shards`;

export interface SumIfApplied {
  /** The ids among those asked for that are in the inbox, i.e. counted in `snapshot`. */
  applied: Set<string>;
  /** The sum in the same snapshot of the database. */
  snapshot: SumSnapshot;
}

/** Which of `eventIds` are applied, and the sum that provably includes them, in one statement. */
export async function readSumIfApplied(db: Pick<pg.Pool, 'query'>, eventIds: readonly string[]): Promise<SumIfApplied> {
  const { rows } = await db.query<{ applied: string[]; sum: string; applied_events: string }>(READ_SUM_IF_APPLIED, [
    eventIds,
  ]);
  const row = rows[0];
  return {
    applied: new Set(row?.applied ?? []),
    snapshot: { sum: row?.sum ?? '0', appliedEvents: row?.applied_events ?? '0' },
  };
}
