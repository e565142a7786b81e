import type pg from 'pg';

export interface SumSnapshot {
  /** Exact decimal integer. */
  sum: string;
  /** Distinct events applied. */
  appliedEvents: string;
}

/** The running sum: the total over all shards, as exact text. */
export async function readSum(db: Pick<pg.Pool, 'query'>): Promise<SumSnapshot> {
  const { rows } = await db.query<{ sum: string; applied_events: string }>(
    'SELECT coalesce(sum(total), 0)::text AS sum, coalesce(sum(applied_events), 0)::text AS applied_events FROM sum_shards',
  );
  return { sum: rows[0]?.sum ?? '0', appliedEvents: rows[0]?.applied_events ?? '0' };
}
