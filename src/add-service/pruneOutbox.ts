import type pg from 'pg';

/**
 * Deletes outbox rows older than `retentionSeconds`. CDC reads inserts from the WAL (the slot
 * keeps what it has not confirmed), so the rows themselves are only a short-lived trace; this
 * keeps the table bounded to a few seconds of traffic. Returns the rows deleted.
 */
export async function pruneOutbox(pool: pg.Pool, retentionSeconds: number): Promise<number> {
  const result = await pool.query(
    'DELETE FROM outbox WHERE created_at < clock_timestamp() - make_interval(secs => $1)',
    [retentionSeconds],
  );
  return result.rowCount ?? 0;
}
