import type pg from 'pg';
import type { SlotLag } from './computeStatus.js';

/**
 * How far each logical replication slot of this database trails the WAL: `pg_current_wal_lsn()`
 * minus its confirmed flush LSN, in bytes. Both CDC paths (the relay's slot, Debezium's) show up.
 * Throws when the role may not read them or the server is a standby; the caller reports "unknown".
 */
export async function readSlotLag(db: Pick<pg.Pool, 'query'>): Promise<SlotLag[]> {
  const { rows } = await db.query<{
    slot_name: string;
    plugin: string | null;
    active: boolean;
    lag_bytes: string | null;
  }>(
    `SELECT slot_name, plugin, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag_bytes
       FROM pg_replication_slots
      WHERE slot_type = 'logical' AND database = current_database()
      ORDER BY slot_name`,
  );
  return rows.map((row) => ({
    slot_name: row.slot_name,
    plugin: row.plugin,
    active: row.active,
    lag_bytes: row.lag_bytes === null ? null : Number(row.lag_bytes),
  }));
}
