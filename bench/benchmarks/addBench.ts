/**
 * Durable Add: the add-service (validation, group commit of ledger row + outbox event, fsync'd by
 * PostgreSQL) against a grpc-js server with the same proto whose Add touches nothing, loaded by
 * the same clients with the same concurrency. Only the add-service and PostgreSQL run: this
 * measures the accept path alone (the pipeline benchmark runs everything).
 */
import { startStack } from '../../test/helpers/startStack.js';
import { type BenchOutcome, type BenchRow, fmt, mean } from '../benchResult.js';
import type { BenchEnvironment } from '../benchEnvironment.js';
import type { ClientResult } from '../clients/clientResult.js';
import { ghzRun } from '../clients/ghzRun.js';
import { loadToolRun } from '../clients/loadToolRun.js';
import { toolPath } from '../clients/toolPath.js';
import { processMemory } from '../processMemory.js';
import { spawnScript } from '../spawnScript.js';

export interface AddBenchOptions {
  durationSeconds: number;
  rounds: number;
  /** Concurrent calls in flight. */
  concurrency: number;
  /** HTTP/2 connections they share. */
  connections: number;
}

export async function addBench(
  env: BenchEnvironment,
  options: AddBenchOptions,
  log: (line: string) => void,
): Promise<BenchOutcome> {
  const stack = await startStack({
    databaseUrl: env.databaseUrl,
    amqpManagementUrl: env.amqpManagementUrl,
    env: { LOG_LEVEL: 'warn' },
    services: ['add-service'],
  });
  const details: string[] = [];
  try {
    const bare = await spawnScript('bench/baselines/bareAddServer.ts', ['0'], /^listening \d+/);
    const barePort = Number(/listening (\d+)/.exec(bare.lines.join('\n'))![1]);
    const addresses = { sumstream: `127.0.0.1:${stack.ports.grpc}`, baseline: `127.0.0.1:${barePort}` };
    const clients: { name: string; run: (address: string) => Promise<ClientResult> }[] = [];
    const ghz = toolPath('ghz', env.processEnv);
    if (ghz) {
      clients.push({
        name: `ghz, ${options.concurrency} concurrent on ${options.connections} connections`,
        run: (address) =>
          ghzRun({
            ghz,
            address,
            concurrency: options.concurrency,
            connections: options.connections,
            durationSeconds: options.durationSeconds,
          }),
      });
    } else details.push('ghz not installed (bash scripts/install-tools.sh ghz): only the Node client ran.');
    clients.push({
      name: `sumstream-load closed loop, ${options.concurrency} workers on ${options.connections} channels`,
      run: async (address) => {
        const report = await loadToolRun([
          '--target',
          'add',
          '--mode',
          'closed',
          '--workers',
          String(options.concurrency),
          '--connections',
          String(options.connections),
          '--duration',
          `${options.durationSeconds}s`,
          '--grpc',
          address,
        ]);
        return {
          client: 'sumstream-load',
          ok: report.ok,
          errors: report.errors,
          seconds: report.seconds,
          throughput: report.throughput,
          p50Ms: report.latencyMs.p50,
          p99Ms: report.latencyMs.p99,
        };
      },
    });

    const rows: BenchRow[] = [];
    for (const c of clients) {
      const results: Record<'sumstream' | 'baseline', ClientResult[]> = { sumstream: [], baseline: [] };
      for (let round = 0; round < options.rounds; round++) {
        for (const server of round % 2 === 0
          ? (['baseline', 'sumstream'] as const)
          : (['sumstream', 'baseline'] as const)) {
          const result = await c.run(addresses[server]);
          results[server].push(result);
          log(
            `  Add ${server} (${c.name}): ${fmt.rate(result.throughput)}, p50 ${fmt.ms(result.p50Ms)}, p99 ${fmt.ms(result.p99Ms)}, errors ${result.errors}`,
          );
        }
      }
      const ours = mean(results.sumstream.map((r) => r.throughput));
      const theirs = mean(results.baseline.map((r) => r.throughput));
      const errors = [...results.sumstream, ...results.baseline].reduce((total, r) => total + r.errors, 0);
      rows.push({
        benchmark: 'Durable Add throughput',
        measure: `${c.name}, mean of ${options.rounds}`,
        sumstream: `${fmt.rate(ours)} (p50 ${fmt.ms(mean(results.sumstream.map((r) => r.p50Ms)))}, p99 ${fmt.ms(mean(results.sumstream.map((r) => r.p99Ms)))})`,
        baseline: `${fmt.rate(theirs)} (p50 ${fmt.ms(mean(results.baseline.map((r) => r.p50Ms)))}, p99 ${fmt.ms(mean(results.baseline.map((r) => r.p99Ms)))}) no database`,
        ratio: fmt.ratio(ours / theirs),
        goal: '>= 0.8x',
        met: ours / theirs >= 0.8 && errors === 0,
      });
      if (errors > 0) details.push(`${c.name}: ${errors} errors.`);
    }
    const ledger = await stack.query<{ n: string }>('SELECT count(*)::text AS n FROM additions');
    details.push(
      `Add: ${fmt.int(Number(ledger[0]?.n ?? 0))} additions durably recorded during the runs; add-service peak resident memory ${fmt.mib((await processMemory(stack.processes.get('add-service')!.pid!))?.peakMiB ?? Number.NaN)}.`,
    );
    await bare.stop();
    return { rows, details };
  } finally {
    await stack.stop();
  }
}
