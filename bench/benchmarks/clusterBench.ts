/**
 * The scale-out cluster against the single-node stack, on the same machine and in the same run:
 * the same closed-loop Add load (our load tool, through HAProxy for the cluster), then the time until
 * every acknowledged Add was applied. The pipeline rate is acknowledged Adds over load time plus
 * drain time, so a pipeline that only accepts fast does not look fast. End-to-end latency comes from
 * the sum-service histograms (summed over the replicas) at half that rate. 2 cores run every member
 * of the cluster: this measures what the extra hops, replicas and the 3-node quorum cost, not capacity.
 */
import path from 'node:path';
import { ClusterStack, hostsOf, REPO_ROOT } from '../../src/dev-stack/index.js';
import { METRIC } from '../../src/shared/metrics/metricNames.js';
import { startStack } from '../../test/helpers/startStack.js';
import type { BenchEnvironment } from '../benchEnvironment.js';
import { type BenchOutcome, type BenchRow, fmt } from '../benchResult.js';
import { loadToolRun } from '../clients/loadToolRun.js';
import { bucketQuantile, bucketsBetween, histogramBuckets, scrapeMetrics } from '../scrapeMetrics.js';

export interface ClusterBenchOptions {
  durationSeconds: number;
  workers: number;
  /** Environment the cluster's members inherit (PATH, HOME). */
  env: Readonly<Record<string, string | undefined>>;
}

export interface Target {
  name: string;
  grpc: string;
  rest: string;
  /** Every sum-service /metrics URL. */
  sumMetrics: string[];
}

export interface Figures {
  accepted: number;
  acceptedPerSecond: number;
  pipelinePerSecond: number;
  drainMs: number;
  addP99Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  e2eRate: number;
}

async function e2eBuckets(target: Target): Promise<Map<number, number>> {
  const total = new Map<number, number>();
  for (const url of target.sumMetrics)
    for (const [le, n] of histogramBuckets(await scrapeMetrics(url), METRIC.endToEndLatency))
      total.set(le, (total.get(le) ?? 0) + n);
  return total;
}

/** Closed-loop Add load, then the drain, then end-to-end latency at half that rate. */
export async function measure(
  target: Target,
  options: Pick<ClusterBenchOptions, 'durationSeconds' | 'workers'>,
): Promise<Figures> {
  const closed = await loadToolRun([
    '--target',
    'add',
    '--mode',
    'closed',
    '--workers',
    String(options.workers),
    '--connections',
    '8',
    '--duration',
    `${options.durationSeconds}s`,
    '--grpc',
    target.grpc,
    '--rest',
    target.rest,
    '--check-sum',
  ]);
  const check = closed.sumCheck;
  if (check?.status !== 'PASS') throw new Error(`${target.name}: sum check failed: ${check?.message ?? 'not run'}`);
  const drainMs = check.waitedMs;
  const rate = Math.max(1, Math.round(closed.throughput / 2));
  const before = await e2eBuckets(target);
  const open = await loadToolRun([
    '--target',
    'add',
    '--mode',
    'open',
    '--rate',
    String(rate),
    '--connections',
    '8',
    '--duration',
    `${options.durationSeconds}s`,
    '--grpc',
    target.grpc,
    '--rest',
    target.rest,
    '--check-sum',
  ]);
  if (open.sumCheck?.status !== 'PASS')
    throw new Error(`${target.name}: sum check failed: ${open.sumCheck?.message ?? 'not run'}`);
  const e2e = bucketsBetween(before, await e2eBuckets(target));
  return {
    accepted: closed.ok,
    acceptedPerSecond: closed.throughput,
    pipelinePerSecond: closed.ok / (closed.seconds + drainMs / 1000),
    drainMs,
    addP99Ms: closed.latencyMs.p99,
    e2eP50Ms: bucketQuantile(e2e, 0.5) * 1000,
    e2eP99Ms: bucketQuantile(e2e, 0.99) * 1000,
    e2eRate: rate,
  };
}

export async function clusterBench(
  env: BenchEnvironment,
  options: ClusterBenchOptions,
  log: (line: string) => void,
): Promise<BenchOutcome> {
  log('  single node');
  const stack = await startStack({
    databaseUrl: env.databaseUrl,
    amqpManagementUrl: env.amqpManagementUrl,
    env: { LOG_LEVEL: 'warn' },
  });
  let single: Figures;
  try {
    single = await measure(
      {
        name: 'single node',
        grpc: `127.0.0.1:${stack.ports.grpc}`,
        rest: `http://127.0.0.1:${stack.ports.sum}`,
        sumMetrics: [`http://127.0.0.1:${stack.ports.sum}/metrics`],
      },
      options,
    );
  } finally {
    await stack.stop();
  }
  log('  cluster');
  const cluster = await ClusterStack.up({
    dir: path.join(REPO_ROOT, '.sumstream', 'bench-cluster'),
    log: (line) => log(`    ${line}`),
    env: options.env,
    observability: false,
  });
  let scaled: Figures;
  const rss: string[] = [];
  try {
    scaled = await measure(
      {
        name: 'cluster',
        grpc: cluster.grpcAddress,
        rest: cluster.sumUrl,
        sumMetrics: hostsOf(cluster.plan, 'sum-service').map((h) => `http://${h.address}:4000/metrics`),
      },
      options,
    );
    for (const [host, mib] of Object.entries(await cluster.residentMemoryMib())) rss.push(`${host} ${mib} MiB`);
  } finally {
    await cluster.down();
  }
  const row = (measure: string, s: string, b: string, ratio: number): BenchRow => ({
    benchmark: 'Cluster vs single node',
    measure,
    sumstream: s,
    baseline: b,
    ratio: fmt.ratio(ratio),
    goal: 'reported',
    met: undefined,
  });
  return {
    rows: [
      row(
        `pipeline rate: acknowledged Adds / (load + drain), ${options.workers} workers, ${options.durationSeconds} s`,
        `${fmt.rate(scaled.pipelinePerSecond)} (accepted ${fmt.rate(scaled.acceptedPerSecond)}, drained ${fmt.ms(scaled.drainMs)})`,
        `${fmt.rate(single.pipelinePerSecond)} (accepted ${fmt.rate(single.acceptedPerSecond)}, drained ${fmt.ms(single.drainMs)}) single node`,
        scaled.pipelinePerSecond / single.pipelinePerSecond,
      ),
      row(
        'Add p99, closed loop',
        fmt.ms(scaled.addP99Ms),
        `${fmt.ms(single.addP99Ms)} single node`,
        scaled.addP99Ms / single.addP99Ms,
      ),
      row(
        'end-to-end p99 (Add commit -> sum committed), at half the closed-loop rate',
        `${fmt.ms(scaled.e2eP99Ms)} at ${fmt.rate(scaled.e2eRate)} (p50 ${fmt.ms(scaled.e2eP50Ms)})`,
        `${fmt.ms(single.e2eP99Ms)} at ${fmt.rate(single.e2eRate)} (p50 ${fmt.ms(single.e2eP50Ms)}) single node`,
        scaled.e2eP99Ms / single.e2eP99Ms,
      ),
    ],
    details: [
      `Cluster: ${scaled.accepted.toLocaleString('en-US')} Adds acknowledged in the closed-loop run, every one applied (sum checked); single node ${single.accepted.toLocaleString('en-US')}.`,
      `Cluster members' resident memory after the runs: ${rss.join(', ')}.`,
    ],
  };
}
