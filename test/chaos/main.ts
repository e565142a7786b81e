/**
 * `npm run chaos -- [options]`: a seeded chaos run against the real stack on loopback (see runChaos.ts).
 * Exits 1 on any violation, 2 on bad arguments.
 */
import { Option } from 'commander';
import { wholeNumber } from '../../src/shared/cli/commandLineValues.js';
import { CommandLineError, commandLine, helpText, parseCommandLine } from '../../src/shared/cli/parseCommandLine.js';
import { CLUSTER_FAULT_KINDS, type ClusterFaultKind, PG_HA_FAULT_KINDS } from './cluster/clusterFaults.js';
import { formatClusterChaosReport } from './cluster/formatClusterReport.js';
import { CLUSTER_CHAOS_DEFAULTS, runClusterChaos } from './cluster/runClusterChaos.js';
import { FAULT_KINDS, type FaultKind } from './faults.js';
import { formatChaosReport } from './formatReport.js';
import { randomSeed } from './prng.js';
import { CHAOS_DEFAULTS, runChaos } from './runChaos.js';

function seedOf(text: string): number {
  const seed = wholeNumber('--seed', { min: 0 })(text);
  if (seed > 0xffffffff) throw new CommandLineError('--seed must fit in 32 bits');
  return seed;
}

function kindsOf(text: string): FaultKind[] {
  const kinds = text
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const known: readonly string[] = [...FAULT_KINDS, ...CLUSTER_FAULT_KINDS, ...PG_HA_FAULT_KINDS];
  for (const kind of kinds)
    if (!known.includes(kind)) throw new CommandLineError(`--kinds: unknown fault kind ${kind}`);
  return kinds as FaultKind[];
}

/** `<ms>` or `<min>-<max>` in ms. */
function rangeOf(flag: string): (text: string) => [number, number] {
  return (text) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(text);
    if (!m) throw new CommandLineError(`${flag} must be <ms> or <min>-<max> in ms, got ${text}`);
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : Number(m[2]);
    if (max < min) throw new CommandLineError(`${flag}: ${max} < ${min}`);
    return [min, max];
  };
}

function shareOf(text: string): number {
  const share = Number(text);
  if (text.trim() === '' || !(share >= 0 && share <= 1))
    throw new CommandLineError(`--keyed must be between 0 and 1, got ${text}`);
  return share;
}

interface Flags {
  seed?: number;
  faults: number;
  clients: number;
  kinds: FaultKind[];
  interval: [number, number];
  overlap: number;
  down: [number, number];
  think: number;
  keyed: number;
  deadline: number;
  maxDrain: number;
  warmup: number;
  logLevel?: string;
  keepData?: boolean;
  json?: boolean;
  cluster?: boolean;
  pgHa?: boolean;
  cdc?: 'relay' | 'debezium';
}

const count = (flags: string, description: string, min: number, fallback: number): Option =>
  new Option(flags, description).argParser(wholeNumber(flags.split(' ')[0]!, { min })).default(fallback);
const range = (flags: string, description: string, fallback: readonly [number, number]): Option =>
  new Option(flags, description).argParser(rangeOf(flags.split(' ')[0]!)).default([...fallback], fallback.join('-'));

const program = commandLine(
  'npm run chaos --',
  `Starts its own PostgreSQL, RabbitMQ and the three SumStream processes on free loopback ports
(under .sumstream/chaos/<seed>-<pid>/), drives Adds from concurrent clients, injects a seeded
schedule of faults, drains, and checks that nothing acknowledged was lost or counted twice.`,
)
  .usage('[options]')
  .addOption(
    new Option('--seed <n>', '32-bit seed of the schedule and workload (default: random, printed)').argParser(seedOf),
  )
  .addOption(count('--faults <n>', 'faults to inject', 0, CHAOS_DEFAULTS.faults))
  .addOption(count('--clients <n>', 'concurrent clients', 1, CHAOS_DEFAULTS.clients))
  .addOption(
    new Option('--kinds <a,b,…>', `fault kinds to draw from:\n${FAULT_KINDS.join(', ')}`)
      .argParser(kindsOf)
      .default([...FAULT_KINDS], 'all'),
  )
  .addOption(
    range(
      '--interval <ms-ms>',
      "time from one fault's start to the next, and at least from the end of the previous fault on the same target",
      CHAOS_DEFAULTS.intervalMs,
    ),
  )
  .addOption(
    count(
      '--overlap <n>',
      "most faults in progress at once, never two on one target;\n1: strictly one after another, the interval counted from the previous fault's end",
      1,
      CHAOS_DEFAULTS.overlap,
    ),
  )
  .addOption(range('--down <ms-ms>', 'how long a killed process stays down', CHAOS_DEFAULTS.downMs))
  .addOption(count('--think <ms>', "mean pause between one client's Adds", 0, CHAOS_DEFAULTS.thinkMs))
  .addOption(
    new Option('--keyed <0..1>', 'share of clients using idempotency keys')
      .argParser(shareOf)
      .default(CHAOS_DEFAULTS.keyedShare),
  )
  .addOption(count('--deadline <ms>', 'deadline of each Add', 1, CHAOS_DEFAULTS.deadlineMs))
  .addOption(
    new Option('--max-drain <s>', 'fail when draining takes longer after the last fault')
      .argParser((text) => wholeNumber('--max-drain', { min: 1 })(text) * 1000)
      .default(CHAOS_DEFAULTS.maxDrainMs, String(CHAOS_DEFAULTS.maxDrainMs / 1000)),
  )
  .addOption(count('--warmup <ms>', 'load before the first fault', 0, CHAOS_DEFAULTS.warmupMs))
  .addOption(
    new Option('--log-level <lvl>', 'LOG_LEVEL of the processes, logged to logs/<service>.log (default: warn)'),
  )
  .addOption(
    new Option(
      '--keep-data',
      "keep the run's folder (logs, data); also SUMSTREAM_KEEP_TEST_DATA=1 (kept anyway on failure)",
    ),
  )
  .addOption(new Option('--json', 'print the report as JSON after the summary'))
  .addOption(
    new Option(
      '--cluster',
      `run against the scale-out cluster (npm run cluster; needs root), with its fault kinds:\n${CLUSTER_FAULT_KINDS.join(', ')};\n--faults defaults to ${CLUSTER_CHAOS_DEFAULTS.faults}, one fault at a time`,
    ),
  )
  .addOption(
    new Option(
      '--pg-ha',
      `with --cluster: PostgreSQL under Patroni (npm run cluster -- --pg-ha), with its fault kinds:\n${PG_HA_FAULT_KINDS.join(', ')}\n(--kinds may mix in the cluster's)`,
    ),
  )
  .addOption(
    new Option('--cdc <path>', 'with --cluster: change data capture by the two relays or by Debezium Server')
      .choices(['relay', 'debezium'])
      .default('relay'),
  );

const HELP = helpText(program);

const values = ((): Flags => {
  try {
    const parsed = parseCommandLine<Flags>(program, process.argv.slice(2), CommandLineError);
    if (parsed !== 'help') return parsed.options;
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    process.stderr.write(`${error.message}\n\n${HELP}\n`);
    process.exit(2);
  }
})();

const abort = new AbortController();
process.on('SIGINT', () => {
  if (abort.signal.aborted) {
    process.stderr.write('second Ctrl-C: exiting now (the next run reaps what is left)\n');
    process.exit(130);
  }
  process.stderr.write('Ctrl-C: no more faults; draining and checking (Ctrl-C again to exit now)\n');
  abort.abort();
});

if (values.cluster) {
  const given = (name: string) => program.getOptionValueSource(name) === 'cli';
  const allowed: readonly string[] = values.pgHa ? [...CLUSTER_FAULT_KINDS, ...PG_HA_FAULT_KINDS] : CLUSTER_FAULT_KINDS;
  const kinds = given('kinds')
    ? (values.kinds as string[])
    : [...(values.pgHa ? PG_HA_FAULT_KINDS : CLUSTER_FAULT_KINDS)];
  const wrong = kinds.filter((k) => !allowed.includes(k));
  if (wrong.length > 0) {
    process.stderr.write(`--kinds: ${wrong.join(', ')} are not fault kinds of this cluster (${allowed.join(', ')})\n`);
    process.exit(2);
  }
  const clusterReport = await runClusterChaos({
    seed: values.seed ?? randomSeed(),
    faults: given('faults') ? values.faults : CLUSTER_CHAOS_DEFAULTS.faults,
    clients: given('clients') ? values.clients : CLUSTER_CHAOS_DEFAULTS.clients,
    kinds: kinds as ClusterFaultKind[],
    pgHa: values.pgHa ?? false,
    cdc: values.cdc ?? 'relay',
    log: (line) => process.stdout.write(`${line}\n`),
    signal: abort.signal,
  });
  process.stdout.write(`${formatClusterChaosReport(clusterReport)}\n`);
  process.exit(clusterReport.ok ? 0 : 1);
}

const report = await runChaos({
  seed: values.seed ?? randomSeed(),
  faults: values.faults,
  clients: values.clients,
  kinds: values.kinds,
  intervalMs: values.interval,
  downMs: values.down,
  overlap: values.overlap,
  thinkMs: values.think,
  keyedShare: values.keyed,
  deadlineMs: values.deadline,
  maxDrainMs: values.maxDrain,
  warmupMs: values.warmup,
  keepData: values.keepData === true ? true : undefined,
  logLevel: values.logLevel,
  log: (line) => process.stdout.write(`${line}\n`),
  signal: abort.signal,
});

process.stdout.write(`${formatChaosReport(report)}\n`);
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ ...report, verdict: report.verdict && { ...report.verdict, lostFromLedger: report.verdict.lostFromLedger.slice(0, 100), notApplied: report.verdict.notApplied.slice(0, 100) } }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
}
process.exit(report.ok ? 0 : 1);
