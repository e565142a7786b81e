/**
 * The benchmarks (composition root): `npm run bench -- --help`.
 *
 * Each benchmark compares SumStream with a baseline measured in the same run on the same machine
 * and reports the ratio: GET /sum against bare node:http, durable Add against a grpc-js server
 * that skips the database, the pipeline's sustained rate against the accept rate, the built-in
 * relay against Debezium Server. Results go to stdout and to results.md/json in --out; copy them
 * into bench/README.md with the command that produced them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../src/dev-stack/index.js';
import { addBench } from './benchmarks/addBench.js';
import { cdcBench } from './benchmarks/cdcBench.js';
import { clusterBench } from './benchmarks/clusterBench.js';
import { pgHaBench } from './benchmarks/pgHaBench.js';
import { pipelineBench } from './benchmarks/pipelineBench.js';
import { sumReadBench } from './benchmarks/sumReadBench.js';
import { startBenchEnvironment, loadAverage } from './benchEnvironment.js';
import { type BenchOptions, BenchOptionsError, parseBenchOptions, USAGE } from './benchOptions.js';
import type { BenchOutcome, BenchRow } from './benchResult.js';
import { formatResults } from './formatResults.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    if (!(error instanceof BenchOptionsError)) throw error;
    log(`sumstream-bench: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const outDir =
    options.outDir ?? path.join(REPO_ROOT, '.sumstream', 'bench', startedAt.toISOString().replace(/[:.]/g, '-'));
  const env = await startBenchEnvironment(process.env, log);
  const rows: BenchRow[] = [];
  const details: string[] = [];
  const record = (outcome: BenchOutcome): void => {
    rows.push(...outcome.rows);
    details.push(...outcome.details);
  };
  try {
    if (options.only.includes('sum')) {
      log('GET /sum');
      record(
        await sumReadBench(
          env,
          {
            durationSeconds: options.durationSeconds,
            rounds: options.rounds,
            connections: 64,
            heldConnections: options.heldConnections,
            holdSeconds: options.holdSeconds,
          },
          log,
        ),
      );
    }
    if (options.only.includes('add')) {
      log('Durable Add');
      record(
        await addBench(
          env,
          {
            durationSeconds: options.durationSeconds,
            rounds: options.rounds,
            concurrency: options.addConcurrency,
            connections: 8,
          },
          log,
        ),
      );
    }
    if (options.only.includes('pipeline')) {
      log('Pipeline');
      record(
        await pipelineBench(
          env,
          {
            durationSeconds: Math.max(options.durationSeconds, 10),
            concurrency: options.addConcurrency,
            connections: 8,
          },
          log,
        ),
      );
    }
    if (options.only.includes('cluster')) {
      log('Cluster vs single node');
      record(
        await clusterBench(
          env,
          { durationSeconds: Math.max(options.durationSeconds, 10), workers: 200, env: process.env },
          log,
        ),
      );
    }
    if (options.only.includes('pg-ha')) {
      log('PostgreSQL HA: synchronous standby on vs local');
      record(
        await pgHaBench(
          { durationSeconds: Math.max(options.durationSeconds, 10), workers: 200, env: process.env },
          log,
        ),
      );
    }
    if (options.only.includes('cdc')) {
      log('CDC: relay vs Debezium Server');
      record(await cdcBench(env, { events: options.cdcEvents, debezium: options.debezium }, log));
    }
  } finally {
    await env.stop();
  }
  const markdown = formatResults({
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    machine: env.machine,
    startedAt: startedAt.toISOString(),
    minutes: (Date.now() - startedAt.getTime()) / 60_000,
    loadBefore,
    rows,
    details,
  });
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'results.md'), markdown);
  await writeFile(
    path.join(outDir, 'results.json'),
    `${JSON.stringify({ startedAt, machine: env.machine, options, rows, details }, null, 2)}\n`,
  );
  process.stdout.write(`${markdown}\nWritten to ${outDir}/results.md\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`sumstream-bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
