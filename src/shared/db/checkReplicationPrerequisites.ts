import type pg from 'pg';
import { ConfigError } from '../config/ConfigError.js';

/** What CDC needs from the server and the role, as the server reports it. */
export interface ReplicationPrerequisites {
  walLevel: string;
  role: string;
  /** The role has REPLICATION or is a superuser. */
  canReplicate: boolean;
  /** `max_slot_wal_keep_size` in MB, -1 for unlimited; undefined when the server has no such setting (before 13). */
  maxSlotWalKeepSizeMb?: number | undefined;
}

/** Reads wal_level, whether the connected role may replicate, and the bound on a slot's WAL. */
export async function readReplicationPrerequisites(db: Pick<pg.Pool, 'query'>): Promise<ReplicationPrerequisites> {
  const { rows } = await db.query<{
    wal_level: string;
    role: string;
    can_replicate: boolean;
    max_slot_wal_keep_size_mb?: number | null;
  }>(
    `SELECT current_setting('wal_level') AS wal_level, current_user AS role,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate,
            (SELECT setting::int FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS max_slot_wal_keep_size_mb`,
  );
  const row = rows[0];
  if (!row) throw new ConfigError('Could not read wal_level and the role from PostgreSQL.');
  return {
    walLevel: row.wal_level,
    role: row.role,
    canReplicate: row.can_replicate,
    maxSlotWalKeepSizeMb: row.max_slot_wal_keep_size_mb ?? undefined,
  };
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
 * The problem with an unbounded slot (`max_slot_wal_keep_size` -1, PostgreSQL's default), or undefined
 * when it is bounded (or the server is too old to say). A warning, not a refusal: CDC works, but a
 * slot whose consumer stops keeps WAL until the disk is full.
 */
export function slotWalLimitProblem(maxSlotWalKeepSizeMb: number | undefined): PrerequisiteProblem | undefined {
  if (maxSlotWalKeepSizeMb === undefined || maxSlotWalKeepSizeMb >= 0) return undefined;
  return {
    problem:
      'PostgreSQL max_slot_wal_keep_size is -1 (unlimited): a replication slot whose consumer stops keeps WAL until the disk is full.',
    fix: "Bound it below what the WAL disk can spare: ALTER SYSTEM SET max_slot_wal_keep_size = '4GB'; SELECT pg_reload_conf(); (no restart). At the bound PostgreSQL invalidates the slot and the relay waits for `sumstream cdc resync` (docs/operations.md, \"WAL: the slot's bound\").",
  };
}

/**
 * Refuses to run CDC on a server that cannot do it, with the fix in the message:
 * `wal_level` must be `logical` and the role must have REPLICATION (or be a superuser).
 * What CDC survives but should not run with (an unbounded slot) goes to `warn`.
 */
export async function checkReplicationPrerequisites(
  db: Pick<pg.Pool, 'query'>,
  warn: (problem: PrerequisiteProblem) => void = () => undefined,
): Promise<void> {
  const prerequisites = await readReplicationPrerequisites(db);
  const found = walLevelProblem(prerequisites.walLevel) ?? replicationRoleProblem(prerequisites);
  if (found !== undefined) throw new ConfigError(`${found.problem} ${found.fix}`);
  const unbounded = slotWalLimitProblem(prerequisites.maxSlotWalKeepSizeMb);
  if (unbounded !== undefined) warn(unbounded);
}
