/**
 * Patroni's configuration for one PostgreSQL node of the cluster, as data (written as JSON, which
 * Patroni reads as YAML). Pure. What each setting is for: docs/postgres-ha.md.
 */
import { POSTGRES_DEFAULTS } from '../postgresInstance.js';
import { type ClusterHost, type ClusterPlan, HOST_PORTS, hostsOf } from './clusterPlan.js';

/** Patroni's scope (the cluster's name in etcd) and the passwords of its roles: a dev cluster on a private bridge. */
export const PATRONI_CLUSTER = {
  scope: 'sumstream',
  superuser: { username: 'postgres', password: 'postgres' },
  replication: { username: 'replicator', password: 'replicator' },
} as const;

/**
 * Failure detection: the leader key lives `ttl` seconds; Patroni runs its loop every `loopWait` and
 * gives etcd `retryTimeout` before it demotes a primary it cannot confirm (ttl >= loopWait + 2 * retryTimeout).
 */
export const PATRONI_DEFAULTS = { ttl: 10, loopWait: 1, retryTimeout: 4 } as const;

export interface PatroniNodeOptions {
  plan: ClusterPlan;
  host: ClusterHost;
  /** Folder of this node: data/, run/, pgpass. */
  dir: string;
  /** PostgreSQL bin folder (pg_ctl, initdb, pg_basebackup, pg_rewind). */
  binDir: string;
  /** More PostgreSQL settings for every node. */
  parameters?: Readonly<Record<string, string | number>>;
}

export function patroniConfig(options: PatroniNodeOptions): Record<string, unknown> {
  const { plan, host } = options;
  const net = `${plan.net}.0/24`;
  return {
    scope: PATRONI_CLUSTER.scope,
    namespace: '/sumstream/',
    name: host.name,
    log: { level: 'INFO', format: '%(asctime)s %(levelname)s: %(message)s' },
    restapi: {
      listen: `${host.address}:${HOST_PORTS.patroni}`,
      connect_address: `${host.address}:${HOST_PORTS.patroni}`,
    },
    etcd3: { hosts: hostsOf(plan, 'etcd').map((h) => `${h.address}:${HOST_PORTS.etcdClient}`) },
    bootstrap: {
      dcs: {
        ttl: PATRONI_DEFAULTS.ttl,
        loop_wait: PATRONI_DEFAULTS.loopWait,
        retry_timeout: PATRONI_DEFAULTS.retryTimeout,
        // A primary whose postgres crashed is failed over at once, not restarted in place for 5 minutes.
        primary_start_timeout: 0,
        master_start_timeout: 0,
        // Only a synchronous standby may be promoted, and a commit returns once one has flushed it.
        synchronous_mode: true,
        synchronous_node_count: 1,
        maximum_lag_on_failover: 1048576,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: 'logical',
            max_wal_senders: 10,
            max_replication_slots: 10,
            max_connections: 300,
            // Needed for logical slots on standbys (Patroni advances them there) and for pg_rewind.
            hot_standby_feedback: 'on',
            wal_log_hints: 'on',
            synchronous_commit: 'on',
            // As on the single primary (clusterStack.ts): a vanished client is dropped within seconds.
            tcp_keepalives_idle: 2,
            tcp_keepalives_interval: 1,
            tcp_keepalives_count: 3,
            tcp_user_timeout: 3000,
            wal_sender_timeout: '5s',
            // As `npm start`'s server: a slot nobody streams from is invalidated at this bound, not left to fill the disk.
            max_slot_wal_keep_size: POSTGRES_DEFAULTS.maxSlotWalKeepSize,
            ...options.parameters,
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { 'auth-host': 'scram-sha-256' }, 'data-checksums'],
    },
    postgresql: {
      listen: `${host.address}:${HOST_PORTS.postgres}`,
      connect_address: `${host.address}:${HOST_PORTS.postgres}`,
      data_dir: `${options.dir}/data`,
      bin_dir: options.binDir,
      pgpass: `${options.dir}/pgpass`,
      authentication: {
        superuser: PATRONI_CLUSTER.superuser,
        replication: PATRONI_CLUSTER.replication,
      },
      parameters: { unix_socket_directories: `${options.dir}/run` },
      pg_hba: [
        'local all all trust',
        `host replication ${PATRONI_CLUSTER.replication.username} ${net} scram-sha-256`,
        `host replication all ${net} scram-sha-256`,
        `host all all ${net} scram-sha-256`,
        'host all all 127.0.0.1/32 scram-sha-256',
      ],
      // A node that cannot rewind onto the new timeline is cloned again instead of staying down.
      remove_data_directory_on_rewind_failure: true,
      remove_data_directory_on_diverged_timelines: true,
    },
  };
}

/** The dynamic configuration that makes the outbox slot permanent: Patroni keeps it on every node. */
export function permanentSlot(slot: string): Record<string, unknown> {
  return { slots: { [slot]: { type: 'logical', database: 'sumstream', plugin: 'pgoutput' } } };
}
