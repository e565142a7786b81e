import pg from 'pg';
import { parseLsn } from './lsn.js';

/**
 * How far the WAL is safe from a failover: the flush position of the synchronous standby. With none
 * (none configured, or none connected) nothing is safe and the relay publishes nothing: Patroni
 * empties `synchronous_standby_names` whenever its standby goes, and a primary that restarted after a
 * crash may do so while another node is being promoted; what it then commits is lost with it.
 *
 * Logical decoding sends a transaction once it is flushed on the primary, before the synchronous
 * standby has it: its client is still waiting for the commit, but the relay could already publish
 * it. If the primary dies then, the standby is promoted without that transaction and the sum would
 * count an addition the ledger does not have. PostgreSQL 17 makes the walsender wait itself
 * (`synchronized_standby_slots`); on older servers the relay asks, through this gate, before it
 * publishes. See docs/postgres-ha.md.
 */
export class SyncStandbyGate {
  private readonly client: pg.Client;
  private safe = 0n;

  constructor(databaseUrl: string) {
    this.client = new pg.Client({
      connectionString: databaseUrl,
      application_name: 'sumstream-cdc-relay-gate',
      query_timeout: 5000,
    });
    this.client.on('error', () => undefined);
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  /** Commits ending at or before this LSN may be published. */
  get safeLsn(): bigint {
    return this.safe;
  }

  /** Asks the server again; returns the new safe LSN. */
  async refresh(): Promise<bigint> {
    const { rows } = await this.client.query<{ names: string; flushed: string | null }>(
      `SELECT current_setting('synchronous_standby_names') AS names,
              (SELECT max(flush_lsn) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))::text AS flushed`,
    );
    const row = rows[0]!;
    this.safe = row.names.trim() === '' || row.flushed === null ? 0n : parseLsn(row.flushed);
    return this.safe;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
