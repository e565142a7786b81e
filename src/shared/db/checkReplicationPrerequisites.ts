import type pg from 'pg';
import { ConfigError } from '../config/ConfigError.js';

/**
 * Refuses to run CDC on a server that cannot do it, with the fix in the message:
 * `wal_level` must be `logical` and the role must have REPLICATION (or be a superuser).
 */
export async function checkReplicationPrerequisites(db: Pick<pg.Pool, 'query'>): Promise<void> {
  const { rows } = await db.query<{ wal_level: string; role: string; can_replicate: boolean }>(
    `SELECT current_setting('wal_level') AS wal_level, current_user AS role,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate`,
  );
  const row = rows[0];
  if (!row) throw new ConfigError('Could not read wal_level and the role from PostgreSQL.');
  if (row.wal_level !== 'logical') {
    throw new ConfigError(
      `PostgreSQL wal_level is '${row.wal_level}'; CDC needs 'logical'. Run ALTER SYSTEM SET wal_level = logical; ` +
        `(or set wal_level = logical in postgresql.conf) and restart PostgreSQL.`,
    );
  }
  if (!row.can_replicate) {
    throw new ConfigError(`Role '${row.role}' lacks the REPLICATION attribute CDC needs. Run ALTER ROLE "${row.role}" REPLICATION; as a superuser, or connect as a role that has it.`);
  }
}
