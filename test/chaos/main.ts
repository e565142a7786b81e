/**
 * `npm run chaos -- [options]`: a seeded chaos run against the real stack on loopback (see runChaos.ts).
 * Exits 1 on any violation, 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from './faults.js';
import { formatChaosReport } from './formatReport.js';
import { randomSeed } from './prng.js';
import { CHAOS_DEFAULTS, runChaos } from './runChaos.js';

const HELP = `Usage: npm run chaos -- [options]

Starts its own PostgreSQL, RabbitMQ and the three SumStream processes on free loopback ports
(under .sumstream/chaos/<seed>-<pid>/), drives Adds from concurrent clients, injects a seeded
schedule of faults, drains, and checks that nothing acknowledged was lost or counted twice.

  --seed <n>          32-bit seed of the schedule and workload (default: random, printed)
  --faults <n>        faults to inject (default ${CHAOS_DEFAULTS.faults})
  --clients <n>       concurrent clients (default ${CHAOS_DEFAULTS.clients})
  --kinds <a,b,…>     fault kinds to draw from (default: all):
                      ${FAULT_KINDS.join(', ')}
  --interval <ms-ms>  time from one fault's start to the next, and at least from the end of the
                      previous fault on the same target (default ${CHAOS_DEFAULTS.intervalMs.join('-')})
  --overlap <n>       most faults in progress at once, never two on one target (default ${CHAOS_DEFAULTS.overlap});
                      1: strictly one after another, the interval counted from the previous fault's end
  --down <ms-ms>      how long a killed process stays down (default ${CHAOS_DEFAULTS.downMs.join('-')})
  --think <ms>        mean pause between one client's Adds (default ${CHAOS_DEFAULTS.thinkMs})
  --keyed <0..1>      share of clients using idempotency keys (default ${CHAOS_DEFAULTS.keyedShare})
  --deadline <ms>     deadline of each Add (default ${CHAOS_DEFAULTS.deadlineMs})
  --max-drain <s>     fail when draining takes longer after the last fault (default ${CHAOS_DEFAULTS.maxDrainMs / 1000})
  --warmup <ms>       load before the first fault (default ${CHAOS_DEFAULTS.warmupMs})
  --log-level <lvl>   LOG_LEVEL of the processes, logged to logs/<service>.log (default warn)
  --keep-data         keep the run's folder (logs, data); also SUMSTREAM_KEEP_TEST_DATA=1 (kept anyway on failure)
  --json              print the report as JSON after the summary
  -h, --help`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}\n`);
  process.exit(2);
}

function int(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer ≥ ${min}, got ${value}`);
  return n;
}

function range(name: string, value: string | undefined, fallback: readonly [number, number]): [number, number] {
  if (value === undefined) return [...fallback];
  const m = /^(\d+)(?:-(\d+))?$/.exec(value);
  if (!m) fail(`--${name} must be <ms> or <min>-<max> in ms, got ${value}`);
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (max < min) fail(`--${name}: ${max} < ${min}`);
  return [min, max];
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        seed: { type: 'string' },
        faults: { type: 'string' },
        clients: { type: 'string' },
        kinds: { type: 'string' },
        interval: { type: 'string' },
        down: { type: 'string' },
        overlap: { type: 'string' },
        think: { type: 'string' },
        keyed: { type: 'string' },
        deadline: { type: 'string' },
        'max-drain': { type: 'string' },
        warmup: { type: 'string' },
        'keep-data': { type: 'boolean' },
        'log-level': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const seed = values.seed === undefined ? randomSeed() : int('seed', values.seed, 0);
if (seed > 0xffffffff) fail('--seed must fit in 32 bits');
const kinds = values.kinds === undefined ? [...FAULT_KINDS] : values.kinds.split(',').map((k) => k.trim()).filter(Boolean);
for (const kind of kinds) if (!(FAULT_KINDS as readonly string[]).includes(kind)) fail(`--kinds: unknown fault kind ${kind}`);
const keyed = values.keyed === undefined ? CHAOS_DEFAULTS.keyedShare : Number(values.keyed);
if (!(keyed >= 0 && keyed <= 1)) fail(`--keyed must be between 0 and 1, got ${values.keyed}`);

const abort = new AbortController();
process.on('SIGINT', () => {
  if (abort.signal.aborted) {
    process.stderr.write('second Ctrl-C: exiting now (the next run reaps what is left)\n');
    process.exit(130);
  }
  process.stderr.write('Ctrl-C: no more faults; draining and checking (Ctrl-C again to exit now)\n');
  abort.abort();
});

const report = await runChaos({
  seed,
  faults: int('faults', values.faults, CHAOS_DEFAULTS.faults),
  clients: int('clients', values.clients, CHAOS_DEFAULTS.clients, 1),
  kinds: kinds as FaultKind[],
  intervalMs: range('interval', values.interval, CHAOS_DEFAULTS.intervalMs),
  downMs: range('down', values.down, CHAOS_DEFAULTS.downMs),
  overlap: int('overlap', values.overlap, CHAOS_DEFAULTS.overlap, 1),
  thinkMs: int('think', values.think, CHAOS_DEFAULTS.thinkMs),
  keyedShare: keyed,
  deadlineMs: int('deadline', values.deadline, CHAOS_DEFAULTS.deadlineMs, 1),
  maxDrainMs: int('max-drain', values['max-drain'], CHAOS_DEFAULTS.maxDrainMs / 1000, 1) * 1000,
  warmupMs: int('warmup', values.warmup, CHAOS_DEFAULTS.warmupMs),
  keepData: values['keep-data'] === true ? true : undefined,
  logLevel: values['log-level'],
  log: (line) => process.stdout.write(`${line}\n`),
  signal: abort.signal,
});

process.stdout.write(`${formatChaosReport(report)}\n`);
if (values.json) {
  process.stdout.write(`${JSON.stringify({ ...report, verdict: report.verdict && { ...report.verdict, lostFromLedger: report.verdict.lostFromLedger.slice(0, 100), notApplied: report.verdict.notApplied.slice(0, 100) } }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}
process.exit(report.ok ? 0 : 1);
