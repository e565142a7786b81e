/**
 * What the synchronous standby costs (docs/postgres-ha.md): the PostgreSQL-HA cluster
 * (`--pg-ha`) under the same closed-loop Add load with `synchronous_commit = on` (an Add returns once
 * the standby flushed it, the default) and with `local` (the baseline: commits wait for the primary's
 * disk only), switched through Patroni's dynamic configuration in the same run. The relays' gate stays
 * on in both, so the end-to-end latency includes the standby's flush either way.
 */
import path from 'node:path';
import { ClusterStack, hostsOf, REPO_ROOT } from '../../src/dev-stack/index.js';
import { type BenchOutcome, type BenchRow, fmt } from '../benchResult.js';
import { type Figures, measure, type Target } from './clusterBench.js';

export interface PgHaBenchOptions {
  durationSeconds: number;
  workers: number;
  env: Readonly<Record<string, string | undefined>>;
}

export async function pgHaBench(options: PgHaBenchOptions, log: (line: string) => void): Promise<BenchOutcome> {
  const cluster = await ClusterStack.up({
    dir: path.join(REPO_ROOT, '.sumstream', 'bench-pg-ha'),
    log: (line) => log(`    ${line}`),
    env: options.env,
    observability: false,
    pgHa: true,
  });
  const target: Target = {
    name: 'pg-ha',
    grpc: cluster.grpcAddress,
    rest: cluster.sumUrl,
    sumMetrics: hostsOf(cluster.plan, 'sum-service').map((h) => `http://${h.address}:4000/metrics`),
  };
  const figures: Record<'on' | 'local', Figures> = {} as Record<'on' | 'local', Figures>;
  try {
    for (const mode of ['local', 'on'] as const) {
      log(`  synchronous_commit = ${mode}`);
      await cluster.patroni!.setParameter('synchronous_commit', mode);
      figures[mode] = await measure(target, options);
    }
  } finally {
    await cluster.down();
  }
  const { on, local } = figures;
  const row = (measure: string, s: string, b: string, ratio: number): BenchRow => ({
    benchmark: 'PostgreSQL HA: synchronous standby',
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
        `accepted Adds/s, closed loop, ${options.workers} workers, ${options.durationSeconds} s`,
        `${fmt.rate(on.acceptedPerSecond)} synchronous_commit=on`,
        `${fmt.rate(local.acceptedPerSecond)} local`,
        on.acceptedPerSecond / local.acceptedPerSecond,
      ),
      row('Add p99, closed loop', fmt.ms(on.addP99Ms), `${fmt.ms(local.addP99Ms)} local`, on.addP99Ms / local.addP99Ms),
      row(
        'end-to-end p99 (Add commit -> sum committed), at half the closed-loop rate',
        `${fmt.ms(on.e2eP99Ms)} at ${fmt.rate(on.e2eRate)} (p50 ${fmt.ms(on.e2eP50Ms)})`,
        `${fmt.ms(local.e2eP99Ms)} at ${fmt.rate(local.e2eRate)} (p50 ${fmt.ms(local.e2eP50Ms)}) local`,
        on.e2eP99Ms / local.e2eP99Ms,
      ),
    ],
    details: [
      `PostgreSQL HA: ${on.accepted.toLocaleString('en-US')} Adds acknowledged with synchronous_commit=on, ${local.accepted.toLocaleString('en-US')} with local; every one applied (sum checked).`,
    ],
  };
}
