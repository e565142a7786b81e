import pg from 'pg';
import type { ReplicationConfig } from '../../shared/config/replicationConfig.js';
import {
  readReplicationPrerequisites,
  replicationRoleProblem,
  walLevelProblem,
} from '../../shared/db/checkReplicationPrerequisites.js';
import { migrationFiles } from '../../shared/db/migrate.js';
import { redactUrl } from '../../shared/log/createLogger.js';
import { connectionErrorReason } from '../connectionErrorReason.js';
import type { CheckResult } from './doctorReport.js';
import {
  migrationsVerdict,
  publicationVerdict,
  relaySlotVerdict,
  slotWalLimitVerdict,
  senderCapacityVerdict,
  type SlotState,
  slotCapacityVerdict,
  slotVerdict,
  versionVerdict,
} from './postgresVerdicts.js';

export interface CheckPostgresOptions extends ReplicationConfig {
  databaseUrl: string;
  /** A slot further behind than this is a WARN. */
  maxSlotLagBytes: bigint;
  /** Connect timeout, ms. Default 5000. */
  timeoutMs?: number;
}

/**
 * The PostgreSQL side of `sumstream doctor`, read-only: reachable, version, wal_level, the role's
 * REPLICATION, slot and WAL sender capacity, the publication, the slots of this database with
 * their lag, and the migrations. When the server cannot be reached, that is the only result.
 */
export async function checkPostgres(options: CheckPostgresOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (verdict: Omit<CheckResult, 'group'>): void => {
    results.push({ group: 'PostgreSQL', ...verdict });
  };
  const timeoutMs = options.timeoutMs ?? 5_000;
  const client = new pg.Client({
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'sumstream-doctor',
    statement_timeout: 10_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    add({
      name: 'reachable',
      status: 'FAIL',
      detail: `Cannot reach PostgreSQL at ${redactUrl(options.databaseUrl)}: ${connectionErrorReason(error)}`,
      fix: 'Start the stack with `npx sumstream up` or set DATABASE_URL.',
    });
    await client.end().catch(() => undefined);
    return results;
  }
  try {
    const server = (
      await client.query<{ version: string; num: number; db: string; role: string }>(
        `SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num,
                current_database() AS db, current_user AS role`,
      )
    ).rows[0]!;
    add({ name: 'reachable', status: 'OK', detail: `database ${server.db} as role ${server.role}` });
    add(versionVerdict(server.version, server.num));

    const prerequisites = await readReplicationPrerequisites(client);
    const walProblem = walLevelProblem(prerequisites.walLevel);
    add(
      walProblem === undefined
        ? { name: 'wal_level', status: 'OK', detail: 'logical' }
        : { name: 'wal_level', status: 'FAIL', detail: walProblem.problem, fix: walProblem.fix },
    );
    const roleProblem = replicationRoleProblem(prerequisites);
    add(
      roleProblem === undefined
        ? { name: 'REPLICATION role', status: 'OK', detail: `role ${prerequisites.role} may replicate` }
        : {
            name: 'REPLICATION role',
            status: 'FAIL',
            detail: roleProblem.problem,
            fix: `${roleProblem.fix} (If the relay connects as another role, run doctor with its DATABASE_URL.)`,
          },
    );
    add(slotWalLimitVerdict(prerequisites.maxSlotWalKeepSizeMb));

    const slots = (
      await client.query<{
        name: string;
        plugin: string | null;
        database: string | null;
        active: boolean;
        wal_status: string | null;
        lag_bytes: string | null;
      }>(
        `SELECT slot_name AS name, plugin, database, active, wal_status,
                CASE WHEN pg_is_in_recovery() OR confirmed_flush_lsn IS NULL THEN NULL
                     ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text END AS lag_bytes
           FROM pg_replication_slots
          WHERE database = current_database() OR slot_name = $1
          ORDER BY slot_name`,
        [options.slot],
      )
    ).rows.map((row): SlotState => ({
      name: row.name,
      plugin: row.plugin,
      database: row.database,
      active: row.active,
      walStatus: row.wal_status,
      lagBytes: row.lag_bytes === null ? null : BigInt(row.lag_bytes.replace(/\..*$/, '')),
    }));
    const relaySlot = slots.find((slot) => slot.name === options.slot);

    const capacity = (
      await client.query<{ max_slots: number; used_slots: number; max_senders: number; used_senders: number }>(
        `SELECT current_setting('max_replication_slots')::int AS max_slots, (SELECT count(*) FROM pg_replication_slots)::int AS used_slots,
                current_setting('max_wal_senders')::int AS max_senders,
                (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int AS used_senders`,
      )
    ).rows[0]!;
    add(
      slotCapacityVerdict(
        { maxSlots: capacity.max_slots, usedSlots: capacity.used_slots, slotExists: relaySlot !== undefined },
        options.slot,
      ),
    );
    add(
      senderCapacityVerdict({
        maxSenders: capacity.max_senders,
        usedSenders: capacity.used_senders,
        slotActive: relaySlot?.active ?? false,
      }),
    );

    const table = `${options.table.schema}.${options.table.name}`;
    const publication = (
      await client.query<{ all_tables: boolean; insert: boolean; covers: boolean }>(
        `SELECT puballtables AS all_tables, pubinsert AS insert,
                puballtables OR EXISTS (SELECT 1 FROM pg_publication_tables t WHERE t.pubname = p.pubname AND t.schemaname = $2 AND t.tablename = $3) AS covers
           FROM pg_publication p WHERE pubname = $1`,
        [options.publication, options.table.schema, options.table.name],
      )
    ).rows[0];
    add(
      publicationVerdict(
        {
          exists: publication !== undefined,
          allTables: publication?.all_tables ?? false,
          publishesInsert: publication?.insert ?? false,
          coversTable: publication?.covers ?? false,
        },
        options.publication,
        table,
      ),
    );

    add(relaySlotVerdict(relaySlot, options.slot, server.db, options.maxSlotLagBytes));
    for (const slot of slots)
      if (slot.name !== options.slot) add(slotVerdict(slot, server.db, options.maxSlotLagBytes));

    const hasTable = (await client.query<{ t: string | null }>(`SELECT to_regclass('sumstream_migrations')::text AS t`))
      .rows[0]?.t;
    const applied = hasTable
      ? (await client.query<{ name: string }>('SELECT name FROM sumstream_migrations ORDER BY name')).rows.map(
          (row) => row.name,
        )
      : undefined;
    add(migrationsVerdict(await migrationFiles(), applied));
  } catch (error) {
    add({
      name: 'queries',
      status: 'FAIL',
      detail: `a check failed: ${(error as Error).message}`,
      fix: 'Run doctor as a role that can read pg_replication_slots, pg_publication and sumstream_migrations (the schema owner).',
    });
  } finally {
    await client.end().catch(() => undefined);
  }
  return results;
}
