/**
 * One cluster chaos run: the whole cluster (ClusterStack: namespaces, 3 broker nodes, replicas,
 * HAProxy), load from many clients through the load balancer, a seeded schedule of cluster faults
 * one after another, each measured (client error rate while it lasted, time until an Add is
 * accepted and applied again), then the same drain and checks as the single-node run.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { ClusterStack, REPO_ROOT, sleep } from '../../../src/dev-stack/index.js';
import { readSum } from '../../../src/load/sumCheck.js';
import { checkHistory, type StoreSnapshot, type Verdict } from '../checkHistory.js';
import { planFaults } from '../faults.js';
import { LoadGenerator, type LoadStats } from '../loadClients.js';
import { deriveRng, intBetween } from '../prng.js';
import {
  type ChaosStores,
  DEAD_LETTER_QUEUE,
  QUEUE,
  readStores,
  retry,
  unacknowledged,
  waitDrained,
  waitSlotCaughtUp,
} from '../storeChecks.js';
import {
  CLUSTER_FAULT_KINDS,
  CLUSTER_FAULT_WEIGHTS,
  type ClusterFaultKind,
  FAILOVER_KINDS,
  injectClusterFault,
  PG_HA_FAULT_KINDS,
  PG_HA_FAULT_WEIGHTS,
} from './clusterFaults.js';

export const CLUSTER_CHAOS_DEFAULTS = {
  faults: 100,
  clients: 40,
  intervalMs: [500, 2000] as const,
  downMs: [0, 3000] as const,
  holdMs: [12_000, 20_000] as const,
  thinkMs: 50,
  keyedShare: 0.5,
  deadlineMs: 5000,
  maxDrainMs: 60_000,
  warmupMs: 3000,
};

export interface ClusterChaosOptions {
  seed: number;
  /** PostgreSQL under Patroni (`npm run cluster -- --pg-ha`); the kinds then default to PG_HA_FAULT_KINDS. */
  pgHa?: boolean;
  /** Change data capture by the relays (default) or by Debezium Server. */
  cdc?: 'relay' | 'debezium';
  faults: number;
  clients: number;
  kinds?: readonly ClusterFaultKind[];
  intervalMs?: readonly [number, number];
  downMs?: readonly [number, number];
  /** How long a partition holds, ms. */
  holdMs?: readonly [number, number];
  thinkMs?: number;
  keyedShare?: number;
  deadlineMs?: number;
  maxDrainMs?: number;
  warmupMs?: number;
  keepData?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ClusterFaultRecord {
  index: number;
  kind: ClusterFaultKind;
  at: number;
  durationMs: number;
  detail: string;
  /** Failed Add calls / Add calls while the fault lasted. */
  errorRate: number;
  calls: number;
  /** From the fault's end until a fresh Add was acknowledged and applied, ms. */
  recoveryMs: number | undefined;
  takeoverMs?: number;
  electionMs?: number;
  failoverMs?: number;
  catchUpMs?: number;
  /** Broker nodes restarted by the harness's liveness check (see waitClusterHealthy). */
  repairs: string[];
}

export interface ClusterChaosReport {
  seed: number;
  ok: boolean;
  violations: string[];
  reproduce: string;
  options: Required<Omit<ClusterChaosOptions, 'log' | 'signal' | 'keepData'>>;
  durationMs: number;
  faults: ClusterFaultRecord[];
  faultsByKind: Record<ClusterFaultKind, number>;
  load: LoadStats;
  drainMs: number | undefined;
  slotCatchUpMs: number | undefined;
  queues: {
    unacknowledgedAtDrain: number | undefined;
    readyAfterStop: number | undefined;
    deadLettered: number | undefined;
  };
  unexpectedExits: string[];
  /** With Debezium: how many snapshots its log shows (1: the first start only). */
  debeziumSnapshots: number | undefined;
  /** Peak RSS of each member over the run, MB. */
  rssMb: Record<string, number>;
  verdict: Verdict | undefined;
  dataDir: string;
}

export function reproduceClusterCommand(o: ClusterChaosReport['options']): string {
  const args = [
    `--cluster`,
    ...(o.pgHa ? ['--pg-ha'] : []),
    ...(o.cdc === 'debezium' ? ['--cdc debezium'] : []),
    `--seed ${o.seed}`,
    `--faults ${o.faults}`,
    `--clients ${o.clients}`,
  ];
  const all = o.pgHa ? PG_HA_FAULT_KINDS : CLUSTER_FAULT_KINDS;
  if (o.kinds.length !== all.length || o.kinds.some((k) => !(all as readonly string[]).includes(k)))
    args.push(`--kinds ${o.kinds.join(',')}`);
  return `npm run chaos -- ${args.join(' ')}`;
}

export async function runClusterChaos(input: ClusterChaosOptions): Promise<ClusterChaosReport> {
  const d = CLUSTER_CHAOS_DEFAULTS;
  const options: ClusterChaosReport['options'] = {
    seed: input.seed >>> 0,
    pgHa: input.pgHa ?? false,
    cdc: input.cdc ?? 'relay',
    faults: input.faults,
    clients: input.clients,
    kinds: input.kinds ?? (input.pgHa ? PG_HA_FAULT_KINDS : CLUSTER_FAULT_KINDS),
    intervalMs: input.intervalMs ?? d.intervalMs,
    downMs: input.downMs ?? d.downMs,
    holdMs: input.holdMs ?? d.holdMs,
    thinkMs: input.thinkMs ?? d.thinkMs,
    keyedShare: input.keyedShare ?? d.keyedShare,
    deadlineMs: input.deadlineMs ?? d.deadlineMs,
    maxDrainMs: input.maxDrainMs ?? d.maxDrainMs,
    warmupMs: input.warmupMs ?? d.warmupMs,
  };
  const t0 = Date.now();
  const transcript: string[] = [];
  const say = (line: string): void => {
    const stamped = `[${((Date.now() - t0) / 1000).toFixed(1).padStart(7)}s] ${line}`;
    transcript.push(stamped);
    input.log?.(stamped);
  };
  const schedule = planFaults({
    seed: options.seed,
    count: options.faults,
    kinds: options.kinds,
    weights: { ...CLUSTER_FAULT_WEIGHTS, ...PG_HA_FAULT_WEIGHTS },
    intervalMs: options.intervalMs,
    downMs: options.downMs,
  });
  const rng = deriveRng(options.seed, 'cluster-faults');
  const dir = path.join(REPO_ROOT, '.sumstream', 'cluster-chaos');
  const violations: string[] = [];
  const faults: ClusterFaultRecord[] = [];
  const rssMb: Record<string, number> = {};
  let stack: ClusterStack | undefined;
  let stores: (ChaosStores & { end(): Promise<void> }) | undefined;
  let load: LoadGenerator | undefined;
  let drainMs: number | undefined;
  let slotCatchUpMs: number | undefined;
  let unacknowledgedAtDrain: number | undefined;
  let depths: Record<string, number> = {};
  let verdict: Verdict | undefined;
  let rssTimer: NodeJS.Timeout | undefined;
  let debeziumSnapshots: number | undefined;

  say(
    `cluster chaos run seed=${options.seed}${options.pgHa ? ' (PostgreSQL under Patroni)' : ''}: ${options.faults} faults, ${options.clients} clients through HAProxy`,
  );
  try {
    stack = await ClusterStack.up({
      dir,
      log: say,
      env: process.env,
      // Step down sooner than the default 20 s, so a relay cut from the broker costs one partition's hold.
      serviceEnv: { LOG_LEVEL: 'warn', RELAY_STEP_DOWN_AFTER_MS: '10000' },
      pgBin: process.env['SUMSTREAM_PG_BIN'],
      rabbitBin: process.env['SUMSTREAM_RABBIT_BIN'],
      observability: false,
      pgHa: options.pgHa,
      cdc: options.cdc,
    });
    const cluster = stack;
    stores = clusterStores(cluster);
    rssTimer = setInterval(() => void sampleRss(cluster, rssMb), 5000);
    load = new LoadGenerator({
      address: cluster.grpcAddress,
      clients: options.clients,
      seed: options.seed,
      keyedShare: options.keyedShare,
      thinkMs: options.thinkMs,
      deadlineMs: options.deadlineMs,
    });
    load.start();
    await sleep(options.warmupMs);
    say(`load: ${options.clients} clients, ${load.stats().acknowledged} Adds acknowledged during warm-up`);

    let lastFaultEnd = Date.now();
    for (const fault of schedule) {
      if (input.signal?.aborted) break;
      await sleep(fault.delayMs);
      const before = load.stats();
      const started = Date.now();
      const holdMs = intBetween(rng, options.holdMs[0], options.holdMs[1]);
      try {
        const generator = load;
        const result = await injectClusterFault(fault.kind, {
          stack: cluster,
          rng,
          downMs: fault.downMs,
          holdMs,
          probe: async () => {
            const op = await generator.probe();
            return { ok: op.outcome === 'ok' && op.operationId !== undefined, id: op.operationId ?? '' };
          },
          applied: async (id) =>
            (await stores!.query('SELECT 1 FROM processed_events WHERE event_id = $1', [id]).catch(() => [])).length >
            0,
          resync: () => resync(cluster, say),
        });
        lastFaultEnd = Date.now();
        const after = load.stats();
        const calls = after.attempts - before.attempts;
        const failed = failures(after) - failures(before);
        const recoveryMs = await recovery(load, stores, 60_000);
        const record: ClusterFaultRecord = {
          index: fault.index,
          kind: fault.kind,
          at: (started - t0) / 1000,
          durationMs: lastFaultEnd - started,
          detail: result.detail,
          errorRate: calls > 0 ? failed / calls : 0,
          calls,
          recoveryMs,
          repairs: result.repairs,
          ...(result.takeoverMs === undefined ? {} : { takeoverMs: result.takeoverMs }),
          ...(result.electionMs === undefined ? {} : { electionMs: result.electionMs }),
          ...(result.failoverMs === undefined ? {} : { failoverMs: result.failoverMs }),
          ...(result.catchUpMs === undefined ? {} : { catchUpMs: result.catchUpMs }),
        };
        if (FAILOVER_KINDS.includes(fault.kind) && result.failoverMs === undefined)
          violations.push(`failover: after fault ${fault.index} (${fault.kind}) no Add was accepted within 90 s`);
        faults.push(record);
        if (recoveryMs === undefined)
          violations.push(`recovery: after fault ${fault.index} (${fault.kind}) no Add was applied within 60 s`);
        say(
          `fault ${String(fault.index).padStart(3)}/${schedule.length} ${fault.kind.padEnd(30)} ${result.detail} | ${(record.errorRate * 100).toFixed(1)}% of ${calls} calls failed, applied again ${recoveryMs ?? '?'} ms after | acked ${after.acknowledged}${result.repairs.length > 0 ? ` | REPAIRED: ${result.repairs.join('; ')}` : ''}`,
        );
      } catch (error) {
        violations.push(`recovery: fault ${fault.index} (${fault.kind}): ${(error as Error).message}`);
        say(
          `fault ${fault.index} ${fault.kind}: the cluster did not recover; stopping the schedule\n${(error as Error).message}`,
        );
        break;
      }
    }

    say('faults done; stopping the load');
    await load.stop();
    const stats = load.stats();
    say(`load stopped: ${stats.acknowledged} acknowledged, ${stats.unknown} unknown outcomes; waiting for the drain`);
    const drainedAt = await waitDrained(stores, Math.max(options.maxDrainMs * 3, 120_000));
    if (drainedAt === undefined) violations.push('drain: the pipeline did not drain');
    else {
      drainMs = drainedAt - lastFaultEnd;
      if (drainMs > options.maxDrainMs)
        violations.push(`drain: took ${(drainMs / 1000).toFixed(1)} s (limit ${options.maxDrainMs / 1000} s)`);
    }
    const restSum = await retry(() => readSum(new URL(cluster.sumUrl), 3000), 10_000).catch(() => undefined);
    // Debezium confirms only positions of changes it captured: with nothing more to capture, its slot
    // stays behind the WAL the sum-service writes (docs/debezium.md). The inbox check stands for it.
    const slot = options.cdc === 'debezium' ? undefined : await waitSlotCaughtUp(stores, cluster.slot, 30_000);
    slotCatchUpMs = slot?.caughtUp ? slot.ms : undefined;
    unacknowledgedAtDrain = await unacknowledged(stores, 20_000);
    // Relays (or Debezium) first, then consumers (they take what is left), then the add-services.
    await cluster.stopDebezium();
    for (const role of ['relay', 'sum', 'add'] as const) {
      for (const [name, service] of cluster.services) if (name.startsWith(role)) await service.stop();
      if (role === 'relay') await sleep(3000);
    }
    depths = await retry(() => stores!.queueDepths([QUEUE, DEAD_LETTER_QUEUE]), 15_000);
    const snapshot: StoreSnapshot = {
      ...(await readStores(stores)),
      restSum,
      queues: {
        ready: depths[QUEUE] ?? -1,
        unacknowledged: unacknowledgedAtDrain ?? 0,
        deadLettered: depths[DEAD_LETTER_QUEUE] ?? -1,
      },
      ...(slot ? { slot } : {}),
    };
    verdict = checkHistory(load.history, snapshot);
    if (options.cdc === 'debezium')
      debeziumSnapshots =
        (await readFile(path.join(dir, 'logs', 'debezium.log'), 'utf8').catch(() => '')).match(
          /Snapshot step 1 - Preparing/g,
        )?.length ?? 0;
    violations.push(...verdict.violations);
    say(`checked: ${verdict.ledgerRows} ledger rows, ${verdict.inboxRows} inbox rows, ${violations.length} violations`);
  } catch (error) {
    violations.push(`harness: ${(error as Error).stack ?? String(error)}`);
    say(`harness error: ${(error as Error).message}`);
    await load?.stop().catch(() => undefined);
  } finally {
    clearInterval(rssTimer);
    await stores?.end().catch(() => undefined);
    await writeFile(path.join(REPO_ROOT, '.sumstream', 'cluster-chaos.log'), `${transcript.join('\n')}\n`).catch(
      () => undefined,
    );
    await stack?.down().catch((error: unknown) => say(`cleanup failed: ${(error as Error).message}`));
  }
  const faultsByKind = Object.fromEntries(options.kinds.map((k) => [k, 0])) as Record<ClusterFaultKind, number>;
  for (const f of faults) faultsByKind[f.kind]++;
  return {
    seed: options.seed,
    ok: violations.length === 0,
    violations,
    reproduce: reproduceClusterCommand(options),
    options,
    durationMs: Date.now() - t0,
    faults,
    faultsByKind,
    load: load?.stats() ?? {
      operations: 0,
      acknowledged: 0,
      unknown: 0,
      inFlight: 0,
      attempts: 0,
      errorsByCode: {},
      keyedClients: 0,
    },
    drainMs,
    slotCatchUpMs,
    queues: { unacknowledgedAtDrain, readyAfterStop: depths[QUEUE], deadLettered: depths[DEAD_LETTER_QUEUE] },
    unexpectedExits: [
      ...[...(stack?.services.values() ?? [])].flatMap((s) => s.unexpectedExits),
      ...(stack?.debeziumRestarts ? [`Debezium Server exited ${stack.debeziumRestarts} times (restarted)`] : []),
    ],
    rssMb,
    debeziumSnapshots,
    verdict,
    dataDir: dir,
  };
}

function failures(stats: LoadStats): number {
  return Object.values(stats.errorsByCode).reduce((a, b) => a + b, 0);
}

/** `sumstream cdc resync` against the cluster, as an operator would run it. */
async function resync(stack: ClusterStack, say: (line: string) => void): Promise<void> {
  const { stdout, stderr } = await promisify(execFile)(path.join(REPO_ROOT, 'bin', 'sumstream'), ['cdc', 'resync'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: stack.urls.databaseUrl, AMQP_URL: stack.urls.amqpUrl, LOG_LEVEL: 'warn' },
    timeout: 300_000,
  });
  say(`sumstream cdc resync: ${`${stdout}${stderr}`.trim().split('\n').slice(-3).join(' | ')}`);
}

/** PostgreSQL and the broker as the checks read them: a pool on the database, AMQP to any node. */
function clusterStores(stack: ClusterStack): ChaosStores & { end(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: stack.urls.databaseUrl, max: 4, connectionTimeoutMillis: 3000 });
  pool.on('error', () => undefined);
  return {
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    async queueDepths(queues) {
      let lastError: unknown;
      for (const url of stack.urls.amqpUrl.split(',')) {
        try {
          const connection = await amqp.connect(url, { timeout: 3000 });
          connection.on('error', () => undefined);
          try {
            const channel = await connection.createChannel();
            const depths: Record<string, number> = {};
            for (const queue of queues) depths[queue] = (await channel.checkQueue(queue)).messageCount;
            return depths;
          } finally {
            await connection.close().catch(() => undefined);
          }
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError as Error;
    },
    management: (method, apiPath, headers = {}) => stack.management(apiPath, { method, headers }),
    end: () => pool.end(),
  };
}

/** Keeps the peak resident memory of each member, MiB. */
async function sampleRss(stack: ClusterStack, peak: Record<string, number>): Promise<void> {
  for (const [host, mib] of Object.entries(await stack.residentMemoryMib()))
    peak[host] = Math.max(peak[host] ?? 0, mib);
}

/** After a fault: ms until a fresh keyed Add is acknowledged through HAProxy and applied, or undefined. */
async function recovery(load: LoadGenerator, stores: ChaosStores, timeoutMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  const op = await load.probe();
  if (op.outcome !== 'ok') return undefined;
  for (; Date.now() - t0 < timeoutMs; await sleep(100)) {
    const rows = await stores
      .query('SELECT 1 FROM processed_events WHERE event_id = $1', [op.operationId])
      .catch(() => []);
    if (rows.length > 0) return Date.now() - t0;
  }
  return undefined;
}
