/**
 * Command line of `npm run soak`: every knob of the run, its default and the help text. Pure.
 */
import { type Command, Option } from 'commander';
import { wholeNumber } from '../../src/shared/cli/commandLineValues.js';
import { CommandLineError, commandLine, helpText, parseCommandLine } from '../../src/shared/cli/parseCommandLine.js';

/** Retention knobs passed to the processes, short so that state reaches its bound within the warm-up. */
export interface RetentionSettings {
  /** sum-service `INBOX_RETENTION_SECONDS`. */
  inboxRetentionSeconds: number;
  /** sum-service `INBOX_PRUNE_INTERVAL_SECONDS`. */
  inboxPruneIntervalSeconds: number;
  /** add-service `LEDGER_PARTITION_SECONDS`. */
  ledgerPartitionSeconds: number;
  /** add-service `LEDGER_RETENTION_SECONDS`. */
  ledgerRetentionSeconds: number;
  /** add-service `IDEMPOTENCY_KEY_RETENTION_SECONDS`. */
  idempotencyKeyRetentionSeconds: number;
}

export interface SoakOptions {
  /** Length of the soak load (warm-up included), minutes. */
  minutes: number;
  /** Samples before this are plotted but left out of the fits, minutes. Default max(5, 2 x the longest retention). */
  warmupMinutes: number;
  /** Open-loop Add rate as a share of the rate measured by the ramp. Default 0.5. */
  loadFraction: number;
  /** Seconds between two faults; 0: no faults. Default 180. */
  faultEverySeconds: number;
  /** Seconds between two samples. Default 10. */
  sampleSeconds: number;
  /** Length of the closed-loop ramp that measures the highest Add rate, s. Default 24. */
  rampSeconds: number;
  /** Concurrent Adds at the top of the ramp (steps at 1/8, 1/4, 1/2 and all of it). Default 200. */
  rampWorkers: number;
  /** gRPC channels of the load. Default 8. */
  connections: number;
  /** Share of the Adds sent with an idempotency key and retried with it until answered. Default 0.5. */
  keyedShare: number;
  /** GET /sum requests per second during the soak. Default 20. */
  readersPerSecond: number;
  /** A process's samples within this many seconds of its (re)start are left out of its fits. Default 60. */
  settleSeconds: number;
  retention: RetentionSettings;
  /** Where report.json, report.md and the plots go. Default bench/soak/report/ (relative to the repository). */
  outDir: string | undefined;
}

export const RETENTION_DEFAULTS: RetentionSettings = {
  inboxRetentionSeconds: 120,
  inboxPruneIntervalSeconds: 10,
  ledgerPartitionSeconds: 60,
  ledgerRetentionSeconds: 180,
  idempotencyKeyRetentionSeconds: 120,
};

export const SOAK_DEFAULTS = {
  minutes: 30,
  /** At least this much warm-up, minutes, whatever the retention. */
  minWarmupMinutes: 5,
  loadFraction: 0.5,
  faultEverySeconds: 180,
  sampleSeconds: 10,
  rampSeconds: 24,
  rampWorkers: 200,
  connections: 8,
  keyedShare: 0.5,
  readersPerSecond: 20,
  settleSeconds: 60,
} as const;

/** A bad `npm run soak` command line; the message says what to change. */
export class SoakOptionsError extends CommandLineError {
  override name = 'SoakOptionsError';
}

/** The default warm-up: max(5 min, twice the longest retention), so pruning has cycled at least once. */
export function defaultWarmupMinutes(retention: RetentionSettings): number {
  const longest = Math.max(
    retention.inboxRetentionSeconds,
    retention.ledgerRetentionSeconds,
    retention.idempotencyKeyRetentionSeconds,
  );
  return Math.max(SOAK_DEFAULTS.minWarmupMinutes, (2 * longest) / 60);
}

function decimal(flag: string, min: number, max: number, minExclusive = false): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text.trim()) || (minExclusive ? value <= min : value < min) || value > max)
      throw new SoakOptionsError(
        `${flag} "${text}" must be a number ${minExclusive ? '>' : '>='} ${min} and <= ${max}`,
      );
    return value;
  };
}

interface ParsedFlags {
  minutes: number;
  warmupMinutes?: number;
  loadFraction: number;
  faultEverySeconds: number;
  sampleSeconds: number;
  rampSeconds: number;
  rampWorkers: number;
  connections: number;
  keyedShare: number;
  readersPerSecond: number;
  settleSeconds: number;
  inboxRetentionSeconds: number;
  inboxPruneIntervalSeconds: number;
  ledgerPartitionSeconds: number;
  ledgerRetentionSeconds: number;
  idempotencyKeyRetentionSeconds: number;
  out?: string;
}

function soakProgram(): Command {
  const whole = (flags: string, description: string, fallback: number, min = 1): Option => {
    const flag = flags.split(' ')[0]!;
    return new Option(flags, description).argParser(wholeNumber(flag, { min })).default(fallback);
  };
  const d = SOAK_DEFAULTS;
  const r = RETENTION_DEFAULTS;
  return commandLine(
    'npm run soak --',
    'Starts its own PostgreSQL, RabbitMQ and the three processes (short retention), measures the highest\nAdd rate, drives a share of it for --minutes with periodic faults, samples memory, handles, table\nsizes, WAL, queue depth and latency, fits each series after the warm-up, checks the sum exactly and\nwrites report.json, report.md and the plots to --out. Exit 1 when a criterion fails.',
  )
    .usage('[options]')
    .addOption(whole('--minutes <N>', 'length of the soak load, warm-up included', d.minutes))
    .addOption(
      new Option(
        '--warmup-minutes <M>',
        `left out of the fits (default: max(${d.minWarmupMinutes}, 2 x the longest retention) = ${defaultWarmupMinutes(r)})`,
      ).argParser(decimal('--warmup-minutes', 0, 24 * 60)),
    )
    .addOption(
      new Option('--load-fraction <F>', 'open-loop Add rate as a share of the measured highest rate')
        .argParser(decimal('--load-fraction', 0, 1, true))
        .default(d.loadFraction),
    )
    .addOption(
      whole(
        '--fault-every-seconds <S>',
        'one fault every S seconds, cycling kill -9 of sum-service, cdc-relay, add-service, then closing every AMQP connection; 0: none',
        d.faultEverySeconds,
        0,
      ),
    )
    .addOption(whole('--sample-seconds <S>', 'seconds between two samples', d.sampleSeconds))
    .addOption(
      whole('--ramp-seconds <S>', 'length of the closed-loop ramp that finds the highest rate', d.rampSeconds, 4),
    )
    .addOption(whole('--ramp-workers <N>', 'concurrent Adds at the top of the ramp', d.rampWorkers, 8))
    .addOption(whole('--connections <N>', 'gRPC channels of the load', d.connections))
    .addOption(
      new Option('--keyed-share <F>', 'share of Adds sent with an idempotency key (retried until answered)')
        .argParser(decimal('--keyed-share', 0, 1))
        .default(d.keyedShare),
    )
    .addOption(whole('--readers-per-second <N>', 'GET /sum requests per second', d.readersPerSecond, 0))
    .addOption(
      whole(
        '--settle-seconds <S>',
        "a process's samples this soon after its (re)start are not fitted",
        d.settleSeconds,
        0,
      ),
    )
    .addOption(whole('--inbox-retention-seconds <S>', 'sum-service INBOX_RETENTION_SECONDS', r.inboxRetentionSeconds))
    .addOption(
      whole(
        '--inbox-prune-interval-seconds <S>',
        'sum-service INBOX_PRUNE_INTERVAL_SECONDS',
        r.inboxPruneIntervalSeconds,
      ),
    )
    .addOption(
      whole('--ledger-partition-seconds <S>', 'add-service LEDGER_PARTITION_SECONDS', r.ledgerPartitionSeconds),
    )
    .addOption(
      whole('--ledger-retention-seconds <S>', 'add-service LEDGER_RETENTION_SECONDS', r.ledgerRetentionSeconds),
    )
    .addOption(
      whole(
        '--idempotency-key-retention-seconds <S>',
        'add-service IDEMPOTENCY_KEY_RETENTION_SECONDS',
        r.idempotencyKeyRetentionSeconds,
      ),
    )
    .addOption(
      new Option('--out <DIR>', 'where report.json, report.md and the plots go (default: bench/soak/report/)'),
    );
}

export const USAGE = helpText(
  soakProgram(),
  `The fits, the thresholds and how to read the report: docs/benchmarks.md, "Soak".`,
);

export function parseSoakOptions(argv: string[]): SoakOptions | 'help' {
  const parsed = parseCommandLine<ParsedFlags>(soakProgram(), argv, SoakOptionsError);
  if (parsed === 'help') return 'help';
  const v = parsed.options;
  const retention: RetentionSettings = {
    inboxRetentionSeconds: v.inboxRetentionSeconds,
    inboxPruneIntervalSeconds: v.inboxPruneIntervalSeconds,
    ledgerPartitionSeconds: v.ledgerPartitionSeconds,
    ledgerRetentionSeconds: v.ledgerRetentionSeconds,
    idempotencyKeyRetentionSeconds: v.idempotencyKeyRetentionSeconds,
  };
  const warmupMinutes = v.warmupMinutes ?? defaultWarmupMinutes(retention);
  // At least three samples after the warm-up, or there is nothing to fit.
  if ((v.minutes - warmupMinutes) * 60 < 3 * v.sampleSeconds)
    throw new SoakOptionsError(
      `--minutes ${v.minutes} leaves less than three samples after the ${warmupMinutes}-minute warm-up: raise --minutes or lower --warmup-minutes`,
    );
  return {
    minutes: v.minutes,
    warmupMinutes,
    loadFraction: v.loadFraction,
    faultEverySeconds: v.faultEverySeconds,
    sampleSeconds: v.sampleSeconds,
    rampSeconds: v.rampSeconds,
    rampWorkers: v.rampWorkers,
    connections: v.connections,
    keyedShare: v.keyedShare,
    readersPerSecond: v.readersPerSecond,
    settleSeconds: v.settleSeconds,
    retention,
    outDir: v.out,
  };
}
