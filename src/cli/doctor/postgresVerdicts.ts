/**
 * The pure decisions of the PostgreSQL checks: what the server reported → OK / WARN / FAIL with
 * the fix. The queries live in checkPostgres.ts.
 */
import { slotWalLimitProblem } from '../../shared/db/checkReplicationPrerequisites.js';
import type { CheckResult } from './doctorReport.js';

type Verdict = Omit<CheckResult, 'group'>;

/** The consumer of the relay's slot, as the fixes name it. */
const RELAY = 'the cdc-relay';

/** SumStream is tested on PostgreSQL 15 (Debian 12's packages, `npm start`) and 16 (the Compose image). */
export const TESTED_MAJOR = 15;

export function versionVerdict(version: string, versionNum: number): Verdict {
  const major = Math.floor(versionNum / 10_000);
  const data = { version, versionNum };
  if (major >= TESTED_MAJOR) return { name: 'version', status: 'OK', detail: `PostgreSQL ${version}`, data };
  if (major >= 10) {
    return {
      name: 'version',
      status: 'WARN',
      detail: `PostgreSQL ${version}: older than ${TESTED_MAJOR}, untested`,
      fix: `SumStream is tested on PostgreSQL ${TESTED_MAJOR} and 16; upgrade the server.`,
      data,
    };
  }
  return {
    name: 'version',
    status: 'FAIL',
    detail: `PostgreSQL ${version} has no pgoutput logical replication`,
    fix: `Use PostgreSQL ${TESTED_MAJOR} or newer.`,
    data,
  };
}

/** `max_slot_wal_keep_size` (MB, -1 unlimited, undefined before PostgreSQL 13): unbounded is a WARN, never a FAIL. */
export function slotWalLimitVerdict(maxSlotWalKeepSizeMb: number | undefined): Verdict {
  const name = 'max_slot_wal_keep_size';
  const data = { maxSlotWalKeepSizeMb: maxSlotWalKeepSizeMb ?? null };
  const problem = slotWalLimitProblem(maxSlotWalKeepSizeMb);
  if (problem !== undefined) return { name, status: 'WARN', detail: problem.problem, fix: problem.fix, data };
  if (maxSlotWalKeepSizeMb === undefined)
    return {
      name,
      status: 'WARN',
      detail: 'not a setting of this server (before PostgreSQL 13): a slot may keep WAL without bound',
      fix: `Upgrade to PostgreSQL ${TESTED_MAJOR} or newer.`,
      data,
    };
  return {
    name,
    status: 'OK',
    detail: `${formatBytes(BigInt(maxSlotWalKeepSizeMb) * 1024n * 1024n)}: a slot that holds more is invalidated (then \`sumstream cdc resync\`)`,
    data,
  };
}

export interface SlotCapacity {
  maxSlots: number;
  /** Slots in the whole cluster (every database). */
  usedSlots: number;
  /** The relay's slot already exists (it needs no new one). */
  slotExists: boolean;
}

export function slotCapacityVerdict(c: SlotCapacity, slot: string): Verdict {
  const free = c.maxSlots - c.usedSlots;
  const detail = `${c.usedSlots} of ${c.maxSlots} slots in use`;
  const data = { ...c, free };
  if (!c.slotExists && free < 1) {
    return {
      name: 'max_replication_slots',
      status: 'FAIL',
      detail: `${detail}: no room for the relay's slot ${slot}`,
      fix: "Raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = 20; then restart PostgreSQL), or drop a slot no longer used (SELECT pg_drop_replication_slot('name')).",
      data,
    };
  }
  return {
    name: 'max_replication_slots',
    status: 'OK',
    detail: `${detail}${c.slotExists ? `, ${slot} among them` : `, room for ${slot}`}`,
    data,
  };
}

export interface SenderCapacity {
  maxSenders: number;
  /** WAL sender processes running now. */
  usedSenders: number;
  /** The relay's slot is being streamed (its WAL sender is among the used ones). */
  slotActive: boolean;
}

export function senderCapacityVerdict(c: SenderCapacity): Verdict {
  const free = c.maxSenders - c.usedSenders;
  const detail = `${c.usedSenders} of ${c.maxSenders} WAL senders in use`;
  const data = { ...c, free };
  if (!c.slotActive && free < 1) {
    return {
      name: 'max_wal_senders',
      status: 'FAIL',
      detail: `${detail}: none left for the relay`,
      fix: 'Raise max_wal_senders (ALTER SYSTEM SET max_wal_senders = 20; then restart PostgreSQL), or stop a replication client.',
      data,
    };
  }
  return {
    name: 'max_wal_senders',
    status: 'OK',
    detail: `${detail}${c.slotActive ? ", the relay's among them" : ', room for the relay'}`,
    data,
  };
}

export interface PublicationState {
  exists: boolean;
  allTables: boolean;
  publishesInsert: boolean;
  coversTable: boolean;
}

export function publicationVerdict(p: PublicationState, publication: string, table: string): Verdict {
  const name = `publication ${publication}`;
  const data = { ...p, table };
  if (!p.exists) {
    return {
      name,
      status: 'FAIL',
      detail: 'missing: the relay and Debezium Server stream nothing without it',
      fix: `Run \`npx sumstream migrate\` (migration 0001 creates it) or, if the migrations are recorded already, CREATE PUBLICATION ${publication} FOR TABLE ${table} WITH (publish = 'insert');`,
      data,
    };
  }
  if (!p.coversTable) {
    return {
      name,
      status: 'FAIL',
      detail: `does not cover ${table}`,
      fix: `ALTER PUBLICATION ${publication} ADD TABLE ${table};`,
      data,
    };
  }
  if (!p.publishesInsert) {
    return {
      name,
      status: 'FAIL',
      detail: 'does not publish inserts',
      fix: `ALTER PUBLICATION ${publication} SET (publish = 'insert');`,
      data,
    };
  }
  return { name, status: 'OK', detail: `publishes inserts of ${p.allTables ? 'all tables' : table}`, data };
}

export interface SlotState {
  name: string;
  plugin: string | null;
  /** Database the slot belongs to. */
  database: string | null;
  active: boolean;
  /** `pg_replication_slots.wal_status` (reserved, extended, unreserved, lost). */
  walStatus: string | null;
  /** Bytes of WAL between the server's current LSN and what the slot's consumer confirmed. */
  lagBytes: bigint | null;
}

/** The relay's configured slot: it must exist (after the relay's first start), be streamed, and keep up. */
export function relaySlotVerdict(
  slot: SlotState | undefined,
  slotName: string,
  currentDatabase: string,
  maxLagBytes: bigint,
): Verdict {
  const name = `slot ${slotName}`;
  if (!slot) {
    return {
      name,
      status: 'WARN',
      detail: 'does not exist yet (the cdc-relay creates it at its first start)',
      fix: 'Start the cdc-relay (`npx sumstream up`). With SUMSTREAM_CDC=debezium it is sumstream_debezium instead (listed below when present).',
      data: { exists: false },
    };
  }
  return slotVerdict(slot, currentDatabase, maxLagBytes, RELAY);
}

/** Any slot in this database: streamed or holding WAL, and how far behind. */
export function slotVerdict(
  slot: SlotState,
  currentDatabase: string,
  maxLagBytes: bigint,
  consumer = 'its consumer',
): Verdict {
  const name = `slot ${slot.name}`;
  const data = {
    exists: true,
    active: slot.active,
    plugin: slot.plugin,
    database: slot.database,
    walStatus: slot.walStatus,
    lagBytes: slot.lagBytes,
  };
  const lag = slot.lagBytes === null ? 'lag unknown' : `lag ${formatBytes(slot.lagBytes)}`;
  if (slot.walStatus === 'lost') {
    return {
      name,
      status: 'FAIL',
      detail: `invalidated (wal_status lost): the WAL it needed was removed`,
      fix:
        consumer === RELAY
          ? 'Events in that WAL were never streamed, and the relay streams nothing until `npx sumstream cdc resync` replaces the slot and republishes every ledger event (the inbox skips what was applied).'
          : `Events in that WAL were never streamed. Drop it (SELECT pg_drop_replication_slot('${slot.name}')), restart ${consumer} to create it again, then run \`npm run republish\` (the inbox skips what was applied).`,
      data,
    };
  }
  if (slot.database !== currentDatabase) {
    return {
      name,
      status: 'FAIL',
      detail: `belongs to database ${slot.database ?? '(none: a physical slot)'}, not ${currentDatabase}: the relay cannot stream this database's outbox from it`,
      fix: `Set RELAY_SLOT to a name of this database's own (the relay creates it), or drop that slot if nothing uses it: SELECT pg_drop_replication_slot('${slot.name}');`,
      data,
    };
  }
  if (slot.plugin !== 'pgoutput') {
    return {
      name,
      status: 'FAIL',
      detail: `uses the ${slot.plugin ?? '(none)'} plugin; the relay reads pgoutput`,
      fix: `Drop it (SELECT pg_drop_replication_slot('${slot.name}')) so the relay creates it with pgoutput, or set RELAY_SLOT to another name.`,
      data,
    };
  }
  if (!slot.active) {
    return {
      name,
      status: 'WARN',
      detail: `inactive, ${lag}: nothing streams from it, so it holds WAL`,
      fix: `Start ${consumer} (\`npx sumstream up\`), or drop the slot if nothing uses it any more: SELECT pg_drop_replication_slot('${slot.name}');`,
      data,
    };
  }
  if (slot.lagBytes !== null && slot.lagBytes > maxLagBytes) {
    return {
      name,
      status: 'WARN',
      detail: `active, ${lag} (over ${formatBytes(maxLagBytes)})`,
      fix: `${consumer} is behind: check RabbitMQ (publisher confirms wait on it) and its log; sumstream_relay_slot_lag_bytes shows the trend.`,
      data,
    };
  }
  return { name, status: 'OK', detail: `active, ${lag}`, data };
}

export function migrationsVerdict(files: string[], applied: string[] | undefined): Verdict {
  const name = 'migrations';
  if (applied === undefined) {
    return {
      name,
      status: 'FAIL',
      detail: 'none applied (no sumstream_migrations table)',
      fix: 'Run `npx sumstream migrate` (or start any SumStream process with SUMSTREAM_MIGRATE=true, the default).',
      data: { files, applied: [] },
    };
  }
  const pending = files.filter((file) => !applied.includes(file));
  const unknown = applied.filter((file) => !files.includes(file));
  const data = { files, applied, pending, unknown };
  if (pending.length > 0) {
    return {
      name,
      status: 'FAIL',
      detail: `${pending.length} pending: ${pending.join(', ')}`,
      fix: 'Run `npx sumstream migrate`.',
      data,
    };
  }
  if (unknown.length > 0) {
    return {
      name,
      status: 'WARN',
      detail: `all ${files.length} applied, and ${unknown.length} this checkout does not have: ${unknown.join(', ')}`,
      fix: 'The database was migrated by a newer SumStream; update this checkout.',
      data,
    };
  }
  return { name, status: 'OK', detail: `all ${files.length} applied (${files.at(-1) ?? 'none'} last)`, data };
}

/** 0 B, 12.3 KiB, 4.0 MiB, 1.2 GiB. */
export function formatBytes(bytes: bigint): string {
  if (bytes < 1024n) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = Number(bytes) / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
