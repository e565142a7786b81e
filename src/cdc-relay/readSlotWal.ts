import type pg from 'pg';

/**
 * How much WAL the relay's slot holds back and how close that is to the server's bound
 * (`max_slot_wal_keep_size`), past which PostgreSQL invalidates the slot at its next checkpoint.
 * Bytes; the slot's fields are undefined while the slot does not exist.
 */
export interface SlotWal {
  /** `max_slot_wal_keep_size` in bytes, or -1 when unlimited (or the server has no such setting, before 13). */
  limitBytes: number;
  /** Between the server's current position and the slot's `confirmed_flush_lsn`. */
  lagBytes?: number;
  /** Kept on disk for the slot: the server's current position minus its `restart_lsn`; 0 once invalidated. */
  retainedBytes?: number;
  /**
   * `safe_wal_size`: what may still be written before the slot is invalidated. At or below 0 the slot is
   * past the bound (`wal_status` unreserved) and the next checkpoint invalidates it; 0 once it is
   * invalidated; +Inf without a bound.
   */
  safeBytes?: number;
}

/** A row of the query below: numbers as text (bigint and numeric), NULL where PostgreSQL has none. */
export interface SlotWalRow {
  limit_mb: string | null;
  wal_status: string | null;
  lag: string | null;
  retained: string | null;
  safe: string | null;
}

const SLOT_WAL = `
SELECT (SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS limit_mb,
       s.wal_status,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::text AS lag,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::text AS retained,
       s.safe_wal_size::text AS safe
FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`;

/** Reads the slot's WAL figures (see `SlotWal`); needs PostgreSQL 13+ for the bound and `safe_wal_size`. */
export async function readSlotWal(db: Pick<pg.Pool, 'query'>, slot: string): Promise<SlotWal> {
  const { rows } = await db.query<SlotWalRow>(SLOT_WAL, [slot]);
  return slotWalFromRow(rows[0]);
}

/** `SlotWal` from the query's row (pure): PostgreSQL's NULLs become what they mean. */
export function slotWalFromRow(row: SlotWalRow | undefined): SlotWal {
  const limitMb = row?.limit_mb == null ? -1 : Number(row.limit_mb);
  const limitBytes = limitMb < 0 ? -1 : limitMb * 1024 * 1024;
  if (!row?.wal_status) return { limitBytes };
  const lost = row.wal_status === 'lost';
  const wal: SlotWal = {
    limitBytes,
    // NULL while restart_lsn is: an invalidated slot keeps nothing.
    retainedBytes: row.retained == null ? 0 : Number(row.retained),
    // NULL for an invalidated slot (nothing left) and when there is no bound (no end).
    safeBytes: row.safe != null ? Number(row.safe) : lost || limitBytes >= 0 ? 0 : Infinity,
  };
  if (row.lag != null) wal.lagBytes = Number(row.lag);
  return wal;
}
