import type pg from 'pg';

/**
 * Runs a batch `DELETE` again and again until it deletes nothing (or `signal` aborts), so a large
 * prune never holds locks or bloats one transaction. `sql` must delete at most one batch per run
 * (a `LIMIT` in its subquery). Calls `onBatch` with each batch's row count; returns the total.
 */
export async function deleteInBatches(
  pool: Pick<pg.Pool, 'query'>,
  sql: string,
  values: unknown[],
  options: { signal?: AbortSignal; onBatch?: (deleted: number) => void } = {},
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = (await pool.query(sql, values)).rowCount ?? 0;
    total += deleted;
    options.onBatch?.(deleted);
    if (deleted === 0 || options.signal?.aborted) return total;
  }
}
