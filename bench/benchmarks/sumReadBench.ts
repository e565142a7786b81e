/**
 * GET /sum: the sum-service against a bare node:http server answering the same JSON, each on the
 * same single CPU, loaded by the same clients from the other CPU(s); then 15,000 keep-alive
 * connections held on the sum-service, each asking again every few seconds.
 */
import { startStack } from '../../test/helpers/startStack.js';
import { type BenchOutcome, type BenchRow, fmt, mean } from '../benchResult.js';
import type { BenchEnvironment } from '../benchEnvironment.js';
import { bombardierRun } from '../clients/bombardierRun.js';
import type { ClientResult } from '../clients/clientResult.js';
import type { HoldResult } from '../clients/holdConnections.js';
import { loadToolRun } from '../clients/loadToolRun.js';
import { toolPath } from '../clients/toolPath.js';
import { cpuPlan, pinProcess } from '../cpuPinning.js';
import { processMemory } from '../processMemory.js';
import { REPO_ROOT, runOk } from '../../src/dev-stack/index.js';
import { spawnScript } from '../spawnScript.js';

export interface SumReadBenchOptions {
  durationSeconds: number;
  rounds: number;
  /** Keep-alive connections of the throughput runs. */
  connections: number;
  /** Connections held in the second part. */
  heldConnections: number;
  holdSeconds: number;
}

export async function sumReadBench(
  env: BenchEnvironment,
  options: SumReadBenchOptions,
  log: (line: string) => void,
): Promise<BenchOutcome> {
  const stack = await startStack({
    databaseUrl: env.databaseUrl,
    amqpManagementUrl: env.amqpManagementUrl,
    env: { LOG_LEVEL: 'warn' },
  });
  const details: string[] = [];
  try {
    const client = stack.client();
    await client.add(40n, 2n);
    await stack.waitForSum(42n);
    const plan = cpuPlan();
    const sumService = stack.processes.get('sum-service')!;
    pinProcess(sumService.pid!, plan?.server);
    const bare = await spawnScript('bench/baselines/bareSumServer.ts', ['0', '42'], /^listening \d+/);
    pinProcess(bare.pid, plan?.server);
    const barePort = Number(/listening (\d+)/.exec(bare.lines.join('\n'))![1]);
    const urls = { sumstream: `http://127.0.0.1:${stack.ports.sum}`, baseline: `http://127.0.0.1:${barePort}` };
    details.push(
      plan
        ? `CPU pinning: servers on CPU ${plan.server}, clients on CPU ${plan.client}.`
        : 'No CPU pinning (one CPU or no taskset).',
    );

    const clients: { name: string; run: (base: string) => Promise<ClientResult> }[] = [];
    const bombardier = toolPath('bombardier', env.processEnv);
    if (bombardier) {
      clients.push({
        name: `bombardier, ${options.connections} connections`,
        run: (base) =>
          bombardierRun({
            bombardier,
            url: `${base}/sum`,
            connections: options.connections,
            durationSeconds: options.durationSeconds,
            cpuList: plan?.client,
          }),
      });
    } else
      details.push('bombardier not installed (bash scripts/install-tools.sh bombardier): only the Node client ran.');
    clients.push({
      name: `sumstream-load closed loop, ${options.connections} connections`,
      run: async (base) => {
        const report = await loadToolRun(
          [
            '--target',
            'sum',
            '--mode',
            'closed',
            '--workers',
            String(options.connections),
            '--connections',
            String(options.connections),
            '--duration',
            `${options.durationSeconds}s`,
            '--rest',
            base,
          ],
          plan?.client,
        );
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
        // Alternate which server goes first so that drift over time falls on both.
        for (const server of round % 2 === 0
          ? (['baseline', 'sumstream'] as const)
          : (['sumstream', 'baseline'] as const)) {
          const result = await c.run(urls[server]);
          results[server].push(result);
          log(
            `  GET /sum ${server} (${c.name}): ${fmt.rate(result.throughput)}, p50 ${fmt.ms(result.p50Ms)}, p99 ${fmt.ms(result.p99Ms)}, errors ${result.errors}`,
          );
        }
      }
      const ours = mean(results.sumstream.map((r) => r.throughput));
      const theirs = mean(results.baseline.map((r) => r.throughput));
      const errors = [...results.sumstream, ...results.baseline].reduce((total, r) => total + r.errors, 0);
      rows.push({
        benchmark: 'GET /sum throughput',
        measure: `${c.name}, mean of ${options.rounds}`,
        sumstream: `${fmt.rate(ours)} (p99 ${fmt.ms(mean(results.sumstream.map((r) => r.p99Ms)))})`,
        baseline: `${fmt.rate(theirs)} (p99 ${fmt.ms(mean(results.baseline.map((r) => r.p99Ms)))}) bare node:http`,
        ratio: fmt.ratio(ours / theirs),
        goal: '>= 0.85x',
        met: ours / theirs >= 0.85 && errors === 0,
      });
      if (errors > 0) details.push(`${c.name}: ${errors} errors.`);
    }
    await bare.stop();

    log(`  holding ${options.heldConnections} keep-alive connections on the sum-service for ${options.holdSeconds} s`);
    const before = await processMemory(sumService.pid!);
    const output = await runOk(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/clients/holdConnections.ts',
        '--url',
        `${urls.sumstream}/sum`,
        '--connections',
        String(options.heldConnections),
        '--open-rate',
        '1500',
        '--hold',
        String(options.holdSeconds),
        '--every',
        '5',
      ],
      { cwd: REPO_ROOT, timeoutMs: (options.holdSeconds + options.heldConnections / 1500 + 120) * 1000 },
    );
    const held = JSON.parse(output.trim().split('\n').pop()!) as HoldResult;
    const after = await processMemory(sumService.pid!);
    log(`  held: ${JSON.stringify(held)}`);
    rows.push({
      benchmark: 'GET /sum connections',
      measure: `${fmt.int(held.connections)} keep-alive connections, each asking every 2.5-7.5 s for ${options.holdSeconds} s`,
      sumstream: `${fmt.int(held.heldAtEnd)} held, ${fmt.int(held.ok)} answers, ${held.errors} errors, p99 ${fmt.ms(held.p99Ms)}`,
      baseline: '',
      ratio: '',
      goal: `${fmt.int(held.connections)} held, 0 errors`,
      met: held.heldAtEnd === held.connections && held.errors === 0,
    });
    details.push(
      `Held connections: most open at once ${fmt.int(held.maxOpen)}, errors ${JSON.stringify(held.errorsByKind)}, latency p50 ${fmt.ms(held.p50Ms)} / p99 ${fmt.ms(held.p99Ms)} / max ${fmt.ms(held.maxMs)}; sum-service resident memory ${fmt.mib(before?.rssMiB ?? Number.NaN)} before, ${fmt.mib(after?.peakMiB ?? Number.NaN)} peak.`,
    );
    return { rows, details };
  } finally {
    await stack.stop();
  }
}
