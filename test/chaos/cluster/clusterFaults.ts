/**
 * The faults of a cluster chaos run: broker node kills (the quorum queue's leader among them), real
 * partitions (nftables rules inside the namespaces, dropping packets both ways), replica and relay
 * kills, and rolling restarts. Each returns once the cluster is healthy again, with what it measured.
 */
import {
  activeRelay,
  type ClusterHost,
  type ClusterStack,
  cutFrom,
  healPartition,
  hostsOf,
  metricsUrl,
  queueStatus,
  sleep,
} from '../../../src/dev-stack/index.js';
import { type Rng, intBetween } from '../prng.js';
import { QUEUE } from '../storeChecks.js';

export const CLUSTER_FAULT_KINDS = [
  'kill-broker-node',
  'kill-broker-leader',
  'partition-broker-node',
  'split-broker-minority',
  'partition-sum-from-broker',
  'partition-relay-from-postgres',
  'partition-relay-from-broker',
  'kill-add-service',
  'kill-sum-service',
  'kill-active-relay',
  'rolling-restart-services',
  'rolling-restart-brokers',
] as const;

/**
 * The faults of PostgreSQL under Patroni (`--pg-ha`): four ways to lose the primary (a failover
 * each), a primary cut from its standbys, a standby killed, and a slot lost before a failover
 * (the relay must refuse it; the harness then runs `sumstream cdc resync`).
 */
export const PG_HA_FAULT_KINDS = [
  'kill-primary-postgres',
  'kill-primary-host',
  'switchover',
  'partition-primary-from-etcd',
  'partition-primary-from-standbys',
  'kill-sync-standby',
  'lose-slot-then-failover',
] as const;
/** The kinds after which another node is primary. */
export const FAILOVER_KINDS: readonly string[] = [
  'kill-primary-postgres',
  'kill-primary-host',
  'switchover',
  'partition-primary-from-etcd',
  'lose-slot-then-failover',
];
export type PgHaFaultKind = (typeof PG_HA_FAULT_KINDS)[number];
export type ClusterFaultKind = (typeof CLUSTER_FAULT_KINDS)[number] | PgHaFaultKind;

export const PG_HA_FAULT_WEIGHTS: Record<PgHaFaultKind, number> = {
  'kill-primary-postgres': 2,
  'kill-primary-host': 2,
  switchover: 2,
  'partition-primary-from-etcd': 2,
  'partition-primary-from-standbys': 0.7,
  'kill-sync-standby': 0.7,
  'lose-slot-then-failover': 0.5,
};

/** Relative frequency; the rolling restarts take the longest, so they come less often. */
export const CLUSTER_FAULT_WEIGHTS: Record<(typeof CLUSTER_FAULT_KINDS)[number], number> = {
  'kill-broker-node': 2,
  'kill-broker-leader': 2,
  'partition-broker-node': 2,
  'split-broker-minority': 1.5,
  'partition-sum-from-broker': 1.5,
  'partition-relay-from-postgres': 1.5,
  'partition-relay-from-broker': 1.5,
  'kill-add-service': 2,
  'kill-sum-service': 2,
  'kill-active-relay': 2,
  'rolling-restart-services': 0.7,
  'rolling-restart-brokers': 0.7,
};

export interface ClusterFaultContext {
  stack: ClusterStack;
  rng: Rng;
  /** How long a killed process stays down, ms. */
  downMs: number;
  /** How long a partition holds, ms. */
  holdMs: number;
  /** A fresh keyed Add through the load balancer: was it acknowledged, and its id. */
  probe?: () => Promise<{ ok: boolean; id: string }>;
  /** Whether the sum-service applied that event. */
  applied?: (id: string) => Promise<boolean>;
  /** `sumstream cdc resync`, for a lost slot. */
  resync?: () => Promise<void>;
}

export interface ClusterFaultResult {
  detail: string;
  /** From the fault until a standby relay led the slot (relay faults). */
  takeoverMs?: number;
  /** From the kill until another node led the quorum queue (leader kill). */
  electionMs?: number;
  /** From the fault until an Add was accepted by the new primary (writes refused -> accepted). */
  failoverMs?: number;
  /** From then until that Add was applied to the sum (the relay resumed on the new primary). */
  catchUpMs?: number;
  /** Broker nodes the harness had to restart, as a liveness probe would, with why. */
  repairs: string[];
}

const HEALTHY_TIMEOUT_MS = 120_000;

export async function injectClusterFault(
  kind: ClusterFaultKind,
  ctx: ClusterFaultContext,
): Promise<ClusterFaultResult> {
  const repairs: string[] = [];
  const result = await inject(kind, ctx, repairs);
  return { ...result, repairs };
}

async function inject(
  kind: ClusterFaultKind,
  ctx: ClusterFaultContext,
  repairs: string[],
): Promise<Omit<ClusterFaultResult, 'repairs'>> {
  const { stack, rng } = ctx;
  const waitHealthy = (s: ClusterStack) => waitClusterHealthy(s, repairs);
  const pick = <T>(items: readonly T[]): T => items[intBetween(rng, 0, items.length - 1)]!;
  const brokers = hostsOf(stack.plan, 'rabbitmq');
  const addresses = (hosts: readonly ClusterHost[]) => hosts.map((h) => h.address);
  const pg = hostsOf(stack.plan, 'postgres');
  switch (kind) {
    case 'kill-broker-node': {
      const node = pick(brokers);
      await killBroker(stack, node, ctx.downMs, repairs);
      return { detail: `kill -9 ${node.name}, down ${ctx.downMs} ms` };
    }
    case 'kill-broker-leader': {
      const leader = await queueLeader(stack);
      const t0 = Date.now();
      const killed = killBroker(stack, leader, ctx.downMs, repairs);
      let electionMs: number | undefined;
      for (; Date.now() - t0 < 30_000; await sleep(100)) {
        const q = await queueStatus(stack.plan, QUEUE).catch(() => undefined);
        if (q?.leader && q.leader !== `rabbit@${leader.address}` && q.online.includes(q.leader)) {
          electionMs = Date.now() - t0;
          break;
        }
      }
      await killed;
      return {
        detail: `kill -9 ${leader.name} (led ${QUEUE}), new leader after ${electionMs ?? '>30000'} ms, down ${ctx.downMs} ms`,
        ...(electionMs === undefined ? {} : { electionMs }),
      };
    }
    case 'partition-broker-node': {
      const node = pick(brokers);
      await partition([[node, addresses(brokers.filter((b) => b !== node))]], ctx.holdMs);
      await waitHealthy(stack);
      return { detail: `${node.name} cut from the other broker nodes for ${ctx.holdMs} ms` };
    }
    case 'split-broker-minority': {
      // The minority side: one broker node, the active relay and one sum-service replica, which can
      // reach no other broker node. pause_minority stops the node; its clients go quiet or step down.
      const node = pick(brokers);
      const others = addresses(brokers.filter((b) => b !== node));
      const relay = (await activeRelay(stack.plan)) ?? hostsOf(stack.plan, 'cdc-relay')[0]!;
      const sum = pick(hostsOf(stack.plan, 'sum-service'));
      await partition(
        [
          [node, others],
          [relay, others],
          [sum, others],
        ],
        ctx.holdMs,
      );
      await waitHealthy(stack);
      return {
        detail: `{${node.name}, ${relay.name}, ${sum.name}} split from the other broker nodes for ${ctx.holdMs} ms`,
      };
    }
    case 'partition-sum-from-broker': {
      const sum = pick(hostsOf(stack.plan, 'sum-service'));
      await partition([[sum, addresses(brokers)]], ctx.holdMs);
      await waitHealthy(stack);
      return { detail: `${sum.name} cut from every broker node for ${ctx.holdMs} ms` };
    }
    case 'partition-relay-from-postgres':
    case 'partition-relay-from-broker': {
      const relay = await waitActiveRelay(stack);
      const cutOff = kind === 'partition-relay-from-postgres' ? addresses(pg) : addresses(brokers);
      const t0 = Date.now();
      await cutFrom(relay.ns, cutOff);
      const takeoverMs = await waitTakeover(stack, relay, 60_000);
      const rest = ctx.holdMs - (Date.now() - t0);
      if (rest > 0) await sleep(rest);
      await healPartition(relay.ns);
      await waitHealthy(stack);
      return {
        detail: `active ${relay.name} cut from ${kind.endsWith('postgres') ? 'PostgreSQL' : 'every broker node'}; standby led after ${takeoverMs ?? '>60000'} ms`,
        ...(takeoverMs === undefined ? {} : { takeoverMs }),
      };
    }
    case 'kill-add-service':
    case 'kill-sum-service': {
      const host = pick(hostsOf(stack.plan, kind === 'kill-add-service' ? 'add-service' : 'sum-service'));
      const service = stack.services.get(host.name)!;
      await service.kill9();
      await sleep(ctx.downMs);
      await service.start(HEALTHY_TIMEOUT_MS);
      await waitHealthy(stack);
      return { detail: `kill -9 ${host.name}, down ${ctx.downMs} ms` };
    }
    case 'kill-active-relay': {
      const relay = await waitActiveRelay(stack);
      const t0 = Date.now();
      await stack.services.get(relay.name)!.kill9();
      const takeoverMs = await waitTakeover(stack, relay, 60_000);
      const rest = ctx.downMs - (Date.now() - t0);
      if (rest > 0) await sleep(rest);
      await stack.services.get(relay.name)!.start(HEALTHY_TIMEOUT_MS);
      await waitHealthy(stack);
      return {
        detail: `kill -9 active ${relay.name}; standby led after ${takeoverMs ?? '>60000'} ms`,
        ...(takeoverMs === undefined ? {} : { takeoverMs }),
      };
    }
    case 'rolling-restart-services': {
      // One replica at a time, each back and ready before the next (a zero-downtime deploy).
      for (const service of stack.services.values()) {
        await service.stop(15_000);
        await service.start(HEALTHY_TIMEOUT_MS);
        await waitHealthy(stack);
      }
      return { detail: `rolling restart of ${[...stack.services.keys()].join(', ')}` };
    }
    case 'kill-primary-postgres':
    case 'kill-primary-host':
    case 'switchover':
    case 'partition-primary-from-etcd':
    case 'lose-slot-then-failover':
      return failover(kind, ctx, waitHealthy);
    case 'partition-primary-from-standbys': {
      const patroni = stack.patroni!;
      const primary = await waitPrimary(stack);
      const standbys = pg.filter((h) => h !== primary);
      // Commits wait for a synchronous standby the primary cannot reach; none is acknowledged early.
      await partition([[primary, addresses(standbys)]], ctx.holdMs);
      await waitHealthy(stack);
      const after = await patroni.primary();
      return {
        detail: `primary ${primary.name} cut from ${standbys.map((h) => h.name).join(', ')} for ${ctx.holdMs} ms; primary after: ${after?.name ?? '?'}`,
      };
    }
    case 'kill-sync-standby': {
      const patroni = stack.patroni!;
      const standby = await patroni.syncStandby();
      if (!standby) throw new Error('no synchronous standby to kill');
      await patroni.killHost(standby);
      await sleep(ctx.downMs);
      patroni.startHost(standby);
      await waitHealthy(stack);
      return { detail: `kill -9 synchronous standby ${standby.name} (Patroni and PostgreSQL), down ${ctx.downMs} ms` };
    }
    case 'rolling-restart-brokers': {
      for (const node of brokers) {
        const rabbit = stack.rabbits.get(node.name)!;
        await rabbit.stop();
        await rabbit.start();
        await waitHealthy(stack);
      }
      return { detail: `rolling restart of ${brokers.map((b) => b.name).join(', ')}` };
    }
  }
}

async function waitPrimary(stack: ClusterStack): Promise<ClusterHost> {
  for (const deadline = Date.now() + HEALTHY_TIMEOUT_MS; Date.now() < deadline; await sleep(200)) {
    const primary = await stack.patroni!.primary();
    if (primary) return primary;
  }
  throw new Error(`no PostgreSQL primary within ${HEALTHY_TIMEOUT_MS} ms`);
}

/**
 * Loses the primary one way or another, then measures from the fault until a fresh Add is accepted
 * (by the new primary) and until it is applied (the relay streams the slot there).
 */
async function failover(
  kind: PgHaFaultKind,
  ctx: ClusterFaultContext,
  waitHealthy: (s: ClusterStack) => Promise<void>,
): Promise<Omit<ClusterFaultResult, 'repairs'>> {
  const { stack } = ctx;
  const patroni = stack.patroni!;
  const pg = hostsOf(stack.plan, 'postgres');
  const primary = await waitPrimary(stack);
  const standby = await patroni.syncStandby();
  let detail = '';
  const t0 = Date.now();
  let heal: (() => Promise<void>) | undefined;
  switch (kind) {
    case 'kill-primary-postgres':
      await patroni.killPostgres(primary);
      detail = `kill -9 postgres on primary ${primary.name}`;
      break;
    case 'kill-primary-host':
      await patroni.killHost(primary);
      heal = async () => {
        await sleep(ctx.downMs);
        patroni.startHost(primary);
      };
      detail = `kill -9 Patroni and postgres on primary ${primary.name}, down until the failover + ${ctx.downMs} ms`;
      break;
    case 'switchover': {
      const candidate = standby ?? pg.find((h) => h !== primary)!;
      await patroni.switchover(primary, candidate);
      detail = `switchover ${primary.name} -> ${candidate.name}`;
      break;
    }
    case 'partition-primary-from-etcd':
      await cutFrom(
        primary.ns,
        hostsOf(stack.plan, 'etcd').map((h) => h.address),
      );
      heal = async () => {
        const rest = ctx.holdMs - (Date.now() - t0);
        if (rest > 0) await sleep(rest);
        await healPartition(primary.ns);
      };
      detail = `primary ${primary.name} cut from etcd for ${ctx.holdMs} ms`;
      break;
    case 'lose-slot-then-failover': {
      // The slot is gone from the synchronous standby (as if it had not been synced yet) when the
      // primary dies: the new primary has no slot, or one Patroni made anew. The relay must say so.
      if (!standby) throw new Error('no synchronous standby');
      await patroni.dropSlot(standby, stack.slot);
      await patroni.killPostgres(primary);
      detail = `slot dropped on ${standby.name}, then kill -9 postgres on primary ${primary.name}`;
      break;
    }
  }
  let failoverMs: number | undefined;
  let catchUpMs: number | undefined;
  let lostSeen = false;
  if (ctx.probe && ctx.applied) {
    let id: string | undefined;
    for (; Date.now() - t0 < 90_000; await sleep(200)) {
      // Writes count as accepted again once another node leads (the old primary may accept some
      // before it notices, as one cut from etcd does until it demotes itself).
      const now = await patroni.primary();
      if (!now || now.name === primary.name) continue;
      const op = await ctx.probe();
      if (op.ok) {
        failoverMs = Date.now() - t0;
        id = op.id;
        break;
      }
    }
    if (kind === 'lose-slot-then-failover') {
      lostSeen = await waitSlotLost(stack, 120_000);
      if (!lostSeen) throw new Error('the relays did not report the lost slot (sumstream_relay_slot_lost)');
      await ctx.resync!();
    }
    for (const t1 = Date.now(); id !== undefined && Date.now() - t1 < 90_000; await sleep(100)) {
      if (await ctx.applied(id)) {
        catchUpMs = Date.now() - t0 - failoverMs!;
        break;
      }
    }
  }
  await heal?.();
  await waitHealthy(stack);
  const after = await patroni.primary();
  return {
    detail: `${detail}; primary now ${after?.name ?? '?'}, writes accepted after ${failoverMs ?? '?'} ms, applied ${catchUpMs ?? '?'} ms later${lostSeen ? '; relay reported the slot lost, resync run' : ''}`,
    ...(failoverMs === undefined ? {} : { failoverMs }),
    ...(catchUpMs === undefined ? {} : { catchUpMs }),
  };
}

/** Until a relay reports `sumstream_relay_slot_lost 1`. */
async function waitSlotLost(stack: ClusterStack, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(250)) {
    for (const relay of hostsOf(stack.plan, 'cdc-relay')) {
      const res = await fetch(metricsUrl(relay), { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
      if (res?.ok && /^sumstream_relay_slot_lost(\{[^}]*\})? 1$/m.test(await res.text())) return true;
    }
  }
  return false;
}

async function killBroker(stack: ClusterStack, node: ClusterHost, downMs: number, repairs: string[]): Promise<void> {
  const rabbit = stack.rabbits.get(node.name)!;
  await rabbit.kill();
  await sleep(downMs);
  await rabbit.start();
  await waitClusterHealthy(stack, repairs);
}

/** Cuts each host from the addresses given with it, holds, then heals every rule. */
async function partition(cuts: [ClusterHost, string[]][], holdMs: number): Promise<void> {
  try {
    for (const [host, addresses] of cuts) await cutFrom(host.ns, addresses);
    await sleep(holdMs);
  } finally {
    for (const [host] of cuts) await healPartition(host.ns);
  }
}

async function queueLeader(stack: ClusterStack): Promise<ClusterHost> {
  const q = await queueStatus(stack.plan, QUEUE);
  const node = hostsOf(stack.plan, 'rabbitmq').find((h) => `rabbit@${h.address}` === q.leader);
  if (!node) throw new Error(`cannot tell which node leads ${QUEUE} (management says ${q.leader})`);
  return node;
}

async function waitActiveRelay(stack: ClusterStack): Promise<ClusterHost> {
  for (const deadline = Date.now() + HEALTHY_TIMEOUT_MS; Date.now() < deadline; await sleep(200)) {
    const relay = await activeRelay(stack.plan);
    if (relay) return relay;
  }
  throw new Error(`no relay became active within ${HEALTHY_TIMEOUT_MS} ms`);
}

/** Ms until a relay other than `previous` leads, or undefined after `timeoutMs`. */
async function waitTakeover(
  stack: ClusterStack,
  previous: ClusterHost,
  timeoutMs: number,
): Promise<number | undefined> {
  const t0 = Date.now();
  for (; Date.now() - t0 < timeoutMs; await sleep(100)) {
    const relay = await activeRelay(stack.plan);
    if (relay && relay !== previous && relay.name !== previous.name) return Date.now() - t0;
  }
  return undefined;
}

/** A broker node whose RabbitMQ application stays stopped this long (its VM up) is restarted. */
const BROKER_LIVENESS_MS = 20_000;

/**
 * Waits until every replica answers its readiness probe, every broker node runs with no partition
 * and holds an online member of the quorum queue, and one relay leads the slot.
 *
 * Acts as a liveness probe for the broker nodes: RabbitMQ 3.10.8 sometimes fails to restart its
 * application when a paused minority node resumes (BOOT FAILED in rabbit_net:dist_info, with two
 * distribution ports to one peer), leaving the VM up and the node out of the cluster for good. A
 * node not running for BROKER_LIVENESS_MS is restarted, and that is recorded in `repairs`.
 */
export async function waitClusterHealthy(
  stack: ClusterStack,
  repairs: string[],
  timeoutMs = HEALTHY_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const downSince = new Map<string, number>();
  let why = '';
  for (;;) {
    why = await unhealthy(stack);
    if (why === '') return;
    const running = await stack.runningBrokerNodes();
    for (const node of hostsOf(stack.plan, 'rabbitmq')) {
      if (running.includes(`rabbit@${node.address}`) || running.length === 0) {
        downSince.delete(node.name);
        continue;
      }
      const since = downSince.get(node.name) ?? Date.now();
      downSince.set(node.name, since);
      if (Date.now() - since >= BROKER_LIVENESS_MS) {
        const rabbit = stack.rabbits.get(node.name)!;
        repairs.push(`${node.name} not running for ${BROKER_LIVENESS_MS / 1000} s after the fault: restarted`);
        await rabbit.stop();
        await rabbit.start();
        downSince.delete(node.name);
      }
    }
    if (Date.now() > deadline) throw new Error(`the cluster did not become healthy within ${timeoutMs} ms: ${why}`);
    await sleep(250);
  }
}

async function unhealthy(stack: ClusterStack): Promise<string> {
  if (stack.patroni) {
    const why = await stack.patroni.unhealthy();
    if (why !== '') return `PostgreSQL: ${why}`;
    // The next failover keeps the slot only if every node has its copy.
    for (const host of hostsOf(stack.plan, 'postgres'))
      if ((await stack.patroni.hasSlot(host, stack.slot)) !== true) return `slot ${stack.slot} not on ${host.name} yet`;
  }
  for (const [name, service] of stack.services) if (!(await service.ready())) return `${name} not ready`;
  const running = await stack.runningBrokerNodes();
  if (running.length !== hostsOf(stack.plan, 'rabbitmq').length) return `broker nodes running: ${running.join(' ')}`;
  const q = await queueStatus(stack.plan, QUEUE).catch(() => undefined);
  if (!q || q.online.length !== running.length) return `${QUEUE} members online: ${q?.online.join(' ') ?? '?'}`;
  if (!(await stack.cdcReady())) return 'change data capture not running (no relay active, or Debezium not ready)';
  return '';
}
