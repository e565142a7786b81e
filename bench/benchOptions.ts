import { type Command, Option } from 'commander';
import { wholeNumber } from '../src/shared/cli/commandLineValues.js';
import { CommandLineError, commandLine, helpText, parseCommandLine } from '../src/shared/cli/parseCommandLine.js';

export const BENCHMARKS = ['sum', 'add', 'pipeline', 'cdc', 'cluster', 'pg-ha'] as const;
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

/** A bad `npm run bench` command line; the message says what to change. */
export class BenchOptionsError extends CommandLineError {
  override name = 'BenchOptionsError';
}

function parseOnly(text: string): BenchmarkName[] {
  const only = text.split(',').map((s) => s.trim());
  const unknown = only.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new BenchOptionsError(
      `--only: unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}`,
    );
  return only as BenchmarkName[];
}

/** Sizes without --quick and with it; a flag given wins over both. */
const SIZES = {
  durationSeconds: { full: 15, quick: 5 },
  rounds: { full: 2, quick: 1 },
  heldConnections: { full: 15_000, quick: 2_000 },
  holdSeconds: { full: 30, quick: 10 },
  cdcEvents: { full: 50_000, quick: 5_000 },
} as const;
const ADD_CONCURRENCY = 200;

interface ParsedFlags {
  only: BenchmarkName[];
  quick?: boolean;
  duration?: number;
  rounds?: number;
  heldConnections?: number;
  hold?: number;
  addConcurrency: number;
  cdcEvents?: number;
  debezium: boolean;
  out?: string;
}

function benchProgram(): Command {
  const count = (flags: string, description: string): Option => {
    const flag = flags.split(' ')[0]!;
    return new Option(flags, description).argParser(wholeNumber(flag, { min: 1 }));
  };
  return commandLine(
    'npm run bench --',
    'Starts its own PostgreSQL and RabbitMQ (and SumStream processes) on free ports, runs each benchmark\nagainst its baseline in the same run, prints the results table and writes results.md/json.',
  )
    .usage('[options]')
    .addOption(
      new Option('--only <LIST>', `comma-separated: ${BENCHMARKS.join(',')}`).argParser(parseOnly).default(
        BENCHMARKS.filter((b) => b !== 'cluster' && b !== 'pg-ha'),
        'all but cluster and pg-ha (which need root: network namespaces)',
      ),
    )
    .addOption(
      new Option(
        '--quick',
        `short runs to try the harness: ${SIZES.durationSeconds.quick} s runs, ${SIZES.rounds.quick} round, ${SIZES.heldConnections.quick.toLocaleString('en-US')} held connections, ${SIZES.cdcEvents.quick.toLocaleString('en-US')} CDC events (the figures are not worth publishing)`,
      ),
    )
    .addOption(count('--duration <SECONDS>', `each throughput run (default: ${SIZES.durationSeconds.full})`))
    .addOption(count('--rounds <N>', `runs per server, order alternating (default: ${SIZES.rounds.full})`))
    .addOption(
      count(
        '--held-connections <N>',
        `keep-alive connections held on GET /sum (default: ${SIZES.heldConnections.full})`,
      ),
    )
    .addOption(count('--hold <SECONDS>', `how long they are held (default: ${SIZES.holdSeconds.full})`))
    .addOption(count('--add-concurrency <N>', 'concurrent Adds in the closed-loop runs').default(ADD_CONCURRENCY))
    .addOption(count('--cdc-events <N>', `outbox events each CDC streams (default: ${SIZES.cdcEvents.full})`))
    .addOption(new Option('--no-debezium', 'skip Debezium Server in the CDC benchmark'))
    .addOption(new Option('--out <DIR>', 'where results.md/json go (default: .sumstream/bench/<timestamp>/)'));
}

export const USAGE = helpText(
  benchProgram(),
  `Needs the tools of scripts/install-tools.sh ghz bombardier for the non-Node clients (without
them only the Node client runs), and Java 21+ with Maven for Debezium Server.`,
);

export function parseBenchOptions(argv: string[]): BenchOptions | 'help' {
  const parsed = parseCommandLine<ParsedFlags>(benchProgram(), argv, BenchOptionsError);
  if (parsed === 'help') return 'help';
  const v = parsed.options;
  const size = (given: number | undefined, key: keyof typeof SIZES): number =>
    given ?? SIZES[key][v.quick ? 'quick' : 'full'];
  return {
    only: v.only,
    durationSeconds: size(v.duration, 'durationSeconds'),
    rounds: size(v.rounds, 'rounds'),
    heldConnections: size(v.heldConnections, 'heldConnections'),
    holdSeconds: size(v.hold, 'holdSeconds'),
    addConcurrency: v.addConcurrency,
    cdcEvents: size(v.cdcEvents, 'cdcEvents'),
    debezium: v.debezium,
    outDir: v.out,
  };
}
