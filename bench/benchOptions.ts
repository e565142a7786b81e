import { parseArgs } from 'node:util';

export const BENCHMARKS = ['sum', 'add', 'pipeline', 'cdc'] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

export interface BenchOptions {
  only: BenchmarkName[];
  /** Seconds of each throughput run. */
  durationSeconds: number;
  /** Runs per server in each comparison (alternating order). */
  rounds: number;
  /** Connections held by the GET /sum connection benchmark. */
  heldConnections: number;
  holdSeconds: number;
  /** Concurrent Adds of the closed-loop runs. */
  addConcurrency: number;
  /** Outbox events streamed by each CDC. */
  cdcEvents: number;
  debezium: boolean;
  outDir: string | undefined;
}

export class BenchOptionsError extends Error {
  override name = 'BenchOptionsError';
}

export const USAGE = `Usage: npm run bench -- [options]

Starts its own PostgreSQL and RabbitMQ (and SumStream processes) on free ports, runs each benchmark
against its baseline in the same run, prints the results table and writes results.md/json.

  --only LIST             comma-separated: ${BENCHMARKS.join(',')} (default all)
  --quick                 short runs to try the harness: 5 s runs, 1 round, 2,000 held connections,
                          5,000 CDC events (the figures are not worth publishing)
  --duration SECONDS      each throughput run (default 15)
  --rounds N              runs per server, order alternating (default 2)
  --held-connections N    keep-alive connections held on GET /sum (default 15000)
  --hold SECONDS          how long they are held (default 30)
  --add-concurrency N     concurrent Adds in the closed-loop runs (default 200)
  --cdc-events N          outbox events each CDC streams (default 50000)
  --no-debezium           skip Debezium Server in the CDC benchmark
  --out DIR               where results.md/json go (default .sumstream/bench/<timestamp>/)
  -h, --help              this text

Needs the tools of scripts/install-tools.sh ghz bombardier for the non-Node clients (without
them only the Node client runs), and Java 21+ with Maven for Debezium Server.`;

function int(text: string | undefined, flag: string, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) throw new BenchOptionsError(`${flag} "${text}" must be a whole number >= ${min}`);
  return Number(text);
}

export function parseBenchOptions(argv: string[]): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        quick: { type: 'boolean', default: false },
        duration: { type: 'string' },
        rounds: { type: 'string' },
        'held-connections': { type: 'string' },
        hold: { type: 'string' },
        'add-concurrency': { type: 'string' },
        'cdc-events': { type: 'string' },
        'no-debezium': { type: 'boolean', default: false },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new BenchOptionsError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const only = (v.only ?? BENCHMARKS.join(',')).split(',').map((s) => s.trim());
  const unknown = only.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new BenchOptionsError(`--only: unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}`);
  const quick = v.quick ?? false;
  return {
    only: only as BenchmarkName[],
    durationSeconds: int(v.duration, '--duration', quick ? 5 : 15),
    rounds: int(v.rounds, '--rounds', quick ? 1 : 2),
    heldConnections: int(v['held-connections'], '--held-connections', quick ? 2_000 : 15_000),
    holdSeconds: int(v.hold, '--hold', quick ? 10 : 30),
    addConcurrency: int(v['add-concurrency'], '--add-concurrency', 200),
    cdcEvents: int(v['cdc-events'], '--cdc-events', quick ? 5_000 : 50_000),
    debezium: !(v['no-debezium'] ?? false),
    outDir: v.out,
  };
}
