/**
 * The cluster's topology, as data: which hosts exist, their addresses on the private bridge, what
 * runs on each and on which port. Pure, so the tests, `cluster status` and the chaos harness all
 * read the same picture.
 *
 *   root namespace (this machine)        bridge sumstream0, <net>.1/24, no forwarding, no NAT
 *     HAProxy   127.0.0.1:50051 (gRPC), 127.0.0.1:4000 (REST), 127.0.0.1:8404 (stats)
 *     Prometheus 127.0.0.1:9090
 *   sumstream-pg          <net>.10   PostgreSQL :5432
 *   sumstream-rabbit-1..3 <net>.11-13 RabbitMQ :5672, management :15672, metrics :15692
 *   sumstream-add-1..N    <net>.21-  add-service gRPC :50051, metrics :3001
 *   sumstream-relay-1..2  <net>.31-32 cdc-relay metrics :3002 (one active, one standby)
 *   sumstream-sum-1..N    <net>.41-  sum-service :4000
 *
 * With `pgHa` (docs/postgres-ha.md) PostgreSQL is three Patroni nodes instead of `pg`, with etcd as
 * their store, and every process reaches the primary through HAProxy on the bridge:
 *   HAProxy   <net>.1:5432 (the primary, by Patroni's /primary), <net>.1:5433 (the replicas)
 *   sumstream-etcd-1..3   <net>.51-53 etcd :2379, peers :2380
 *   sumstream-pg-1..3     <net>.61-63 PostgreSQL :5432, Patroni REST API :8008
 */
import { PORT_KNOBS } from '../../shared/config/portKnobs.js';
import type { ServiceName } from '../serviceProcess.js';

export type HostRole = 'postgres' | 'etcd' | 'rabbitmq' | ServiceName;

export interface ClusterHost {
  /** Host name, also its namespace's: `sumstream-add-1`. */
  ns: string;
  /** Short name used in messages and logs: `add-1`. */
  name: string;
  role: HostRole;
  address: string;
}

export interface ClusterPlanOptions {
  /** First three octets of the private /24, e.g. `10.211.0`. */
  net: string;
  addReplicas: number;
  sumReplicas: number;
  /** Loopback address the load balancer and Prometheus listen on. */
  lbHost: string;
  /** PostgreSQL as a Patroni cluster (primary, synchronous standby, replica) on etcd. */
  pgHa: boolean;
}

export const CLUSTER_DEFAULTS = {
  net: '10.211.0',
  addReplicas: 2,
  sumReplicas: 2,
  lbHost: '127.0.0.1',
  pgHa: false,
} as const;

/** Ports inside the hosts (each host is a namespace of its own, so every one can use the usual ports). */
export const HOST_PORTS = {
  postgres: 5432,
  patroni: 8008,
  etcdClient: 2379,
  etcdPeer: 2380,
  amqp: 5672,
  management: 15672,
  rabbitPrometheus: 15692,
  rabbitDist: 25672,
  grpc: PORT_KNOBS.grpcPort.default,
  addMetrics: PORT_KNOBS.addMetricsPort.default,
  relayMetrics: PORT_KNOBS.relayMetricsPort.default,
  sum: PORT_KNOBS.sumPort.default,
} as const;

/** Ports on this machine's loopback: the load balancer's are the single-node stack's, so every client works unchanged. */
export const LB_PORTS = {
  grpc: PORT_KNOBS.grpcPort.default,
  rest: PORT_KNOBS.sumPort.default,
  stats: 8404,
  prometheus: 9090,
} as const;

/** Ports of the load balancer's PostgreSQL side, on the bridge (<net>.1): the members reach it there. */
export const PG_LB_PORTS = { primary: 5432, replicas: 5433 } as const;

export const BRIDGE = 'sumstream0';
export const NS_PREFIX = 'sumstream-';
export const RABBIT_NODES = 3;
export const RELAYS = 2;
export const PG_NODES = 3;
export const ETCD_NODES = 3;

export interface ClusterPlan extends ClusterPlanOptions {
  bridge: string;
  gateway: string;
  hosts: ClusterHost[];
}

export function clusterPlan(input: Partial<ClusterPlanOptions> = {}): ClusterPlan {
  const options = { ...CLUSTER_DEFAULTS, ...input };
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(options.net))
    throw new Error(`cluster network must be three octets such as 10.211.0, got ${options.net}`);
  if (options.addReplicas < 1 || options.addReplicas > 9 || options.sumReplicas < 1 || options.sumReplicas > 9)
    throw new Error('cluster replicas must be between 1 and 9');
  const host = (role: HostRole, name: string, last: number): ClusterHost => ({
    ns: `${NS_PREFIX}${name}`,
    name,
    role,
    address: `${options.net}.${last}`,
  });
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  return {
    ...options,
    bridge: BRIDGE,
    gateway: `${options.net}.1`,
    hosts: [
      ...(options.pgHa
        ? [
            ...range(ETCD_NODES).map((i) => host('etcd', `etcd-${i}`, 50 + i)),
            ...range(PG_NODES).map((i) => host('postgres', `pg-${i}`, 60 + i)),
          ]
        : [host('postgres', 'pg', 10)]),
      ...range(RABBIT_NODES).map((i) => host('rabbitmq', `rabbit-${i}`, 10 + i)),
      ...range(options.addReplicas).map((i) => host('add-service', `add-${i}`, 20 + i)),
      ...range(RELAYS).map((i) => host('cdc-relay', `relay-${i}`, 30 + i)),
      ...range(options.sumReplicas).map((i) => host('sum-service', `sum-${i}`, 40 + i)),
    ],
  };
}

export function hostsOf(plan: ClusterPlan, role: HostRole): ClusterHost[] {
  return plan.hosts.filter((h) => h.role === role);
}

/** `rabbit@<address>`: long node names by address, so no name resolution is needed between hosts. */
export function rabbitNodeName(host: ClusterHost): string {
  return `rabbit@${host.address}`;
}

/** The URLs every SumStream process is given: the database, and every broker node (client-side failover). */
export function clusterUrls(plan: ClusterPlan): { databaseUrl: string; amqpUrl: string } {
  const pg = hostsOf(plan, 'postgres')[0]!;
  return {
    // With Patroni, the primary is whichever node HAProxy's /primary check finds.
    databaseUrl: plan.pgHa
      ? `postgres://sumstream:sumstream@${plan.gateway}:${PG_LB_PORTS.primary}/sumstream`
      : `postgres://sumstream:sumstream@${pg.address}:${HOST_PORTS.postgres}/sumstream`,
    // A 5 s heartbeat: a cut-off node is noticed in ~10 s, not RabbitMQ's default 60 s.
    amqpUrl: hostsOf(plan, 'rabbitmq')
      .map((h) => `amqp://sumstream:sumstream@${h.address}:${HOST_PORTS.amqp}?heartbeat=5`)
      .join(','),
  };
}

/** The readiness URL of a SumStream host, reached from the root namespace. */
export function probeUrl(host: ClusterHost): string {
  const port =
    host.role === 'add-service'
      ? HOST_PORTS.addMetrics
      : host.role === 'cdc-relay'
        ? HOST_PORTS.relayMetrics
        : host.role === 'sum-service'
          ? HOST_PORTS.sum
          : HOST_PORTS.management;
  return `http://${host.address}:${port}/readyz`;
}

export function metricsUrl(host: ClusterHost): string {
  return probeUrl(host).replace(/\/readyz$/, '/metrics');
}
