import type pg from 'pg';
import { ConfigError } from '../config/ConfigError.js';

/** What CDC needs from the server and the role, as the server reports it. */
export interface ReplicationPrerequisites {
  walLevel: string;
  role: string;
  /** The role has REPLICATION or is a superuser. */
  canReplicate: boolean;
}

/** Reads wal_level and whether the connected role may replicate. */
export async function readReplicationPrerequisites(db: Pick<pg.Pool, 'query'>): Promise<ReplicationPrerequisites> {
  const { rows } = await db.query<{ wal_level: string; role: string; can_replicate: boolean }>(
    `SELECT current_setting('wal_level') AS wal_level, current_user AS role,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate`,
  );
  const row = rows[0];
  if (!row) throw new ConfigError('Could not read wal_level and the role from PostgreSQL.');
  return { walLevel: row.wal_level, role: row.role, canReplicate: row.can_replicate };
}

/** What is wrong and how to fix it. */
export interface PrerequisiteProblem {
  problem: string;
  fix: string;
}

/** The problem with wal_level, or undefined when it is `logical`. */
export function walLevelProblem(walLevel: string): PrerequisiteProblem | undefined {
  if (walLevel === 'logical') return undefined;
  return {
    problem: `PostgreSQL wal_level is '${walLevel}'; CDC needs 'logical'.`,
    fix: 'Run ALTER SYSTEM SET wal_level = logical; (or set wal_level = logical in postgresql.conf) and restart PostgreSQL.',
  };
}

/** The problem with the role, or undefined when it may replicate. */
export function replicationRoleProblem(
  prerequisites: Pick<ReplicationPrerequisites, 'role' | 'canReplicate'>,
): PrerequisiteProblem | undefined {
  if (prerequisites.canReplicate) return undefined;
  const { role } = prerequisites;
  return {
    problem: `Role '${role}' lacks the REPLICATION attribute CDC needs.`,
    fix: `Run ALTER ROLE "${role}" REPLICATION; as a superuser, or connect as a role that has it.`,
  };
}

/**
 * Refuses to run CDC on a server that cannot do it, with the fix in the message:
 * `wal_level` must be `logical` and the role must have REPLICATION (or be a superuser).
 */
export async function checkReplicationPrerequisites(db: Pick<pg.Pool, 'query'>): Promise<void> {
  const prerequisites = await readReplicationPrerequisites(db);
  const found = walLevelProblem(prerequisites.walLevel) ?? replicationRoleProblem(prerequisites);
  if (found !== undefined) throw new ConfigError(`${found.problem} ${found.fix}`);
}
