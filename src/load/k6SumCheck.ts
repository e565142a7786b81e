/**
 * The sum check of a k6 gRPC run (scripts/k6.sh runs it after load/k6/grpc-add.js):
 *   node --import tsx src/load/k6SumCheck.ts --rest URL --before SUM --summary FILE [--drain-timeout 60s]
 * reads the totals the script counted (`sumstream_added_total`: a + b of every Add answered OK;
 * `sumstream_unknown_outcome_total`: of those sent without an answer) from k6's --summary-export
 * file and waits for GET /sum to equal the sum before the run plus the acknowledged total.
 * Prints PASS or FAIL; exit 0 on PASS, 1 on FAIL, 2 on bad arguments (the message and the usage line).
 * With `--rest URL --read` it only prints the current sum (the value before the run).
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { duration } from '../shared/cli/commandLineValues.js';
import { CommandLineError, commandLine, helpText, parseCommandLine } from '../shared/cli/parseCommandLine.js';
import { parseRestUrl } from './loadOptions.js';
import { checkSum, readSum } from './sumCheck.js';

interface K6Summary {
  metrics: Record<string, { count?: number } | undefined>;
  root_group?: { checks?: Record<string, { passes: number; fails: number }> };
}

interface Flags {
  rest?: URL;
  before?: bigint;
  summary?: string;
  drainTimeout: number;
  read?: boolean;
}

const USAGE_LINE =
  'usage: node --import tsx src/load/k6SumCheck.ts --rest URL --before SUM --summary FILE [--drain-timeout 60s]';

function program(): Command {
  return commandLine(
    'node --import tsx src/load/k6SumCheck.ts',
    'The sum check of a k6 gRPC run (scripts/k6.sh): PASS when GET /sum grew by exactly the acknowledged total.',
  )
    .usage('--rest URL --before SUM --summary FILE [--drain-timeout 60s] | --rest URL --read')
    .option('--rest <URL>', 'sum-service base URL', parseRestUrl)
    .option('--before <SUM>', 'GET /sum before the run', (text: string) => {
      if (!/^-?\d+$/.test(text))
        throw new CommandLineError(`--before "${text}" is not a whole number (the sum before the run)`);
      return BigInt(text);
    })
    .option('--summary <FILE>', "k6's --summary-export file of the run")
    .addOption(
      new Option('--drain-timeout <DURATION>', 'how long to wait for the pipeline to apply every acknowledged Add')
        .argParser(duration('--drain-timeout'))
        .default(60_000, '60s'),
    )
    .option('--read', 'only print the current sum (the value before the run)');
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine<Flags>(program(), argv, CommandLineError);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    process.stderr.write(`k6 sum check: ${error.message}\n${USAGE_LINE}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(`${helpText(program())}\n`);
    return 0;
  }
  const values = parsed.options;
  if (values.rest && values.read) {
    process.stdout.write(`${await readSum(values.rest)}\n`);
    return 0;
  }
  if (!values.rest || values.before === undefined || !values.summary) {
    process.stderr.write(`${USAGE_LINE}\n`);
    return 2;
  }
  const rest = values.rest;
  const summary = JSON.parse(await readFile(values.summary, 'utf8')) as K6Summary;
  const total = (name: string): bigint => BigInt(Math.round(summary.metrics[name]?.count ?? 0));
  const checks = summary.root_group?.checks ?? {};
  const ok = checks['Add status is OK'];
  const report = await checkSum({
    read: () => readSum(rest),
    before: values.before,
    acknowledgedAdds: ok?.passes ?? 0,
    acknowledgedTotal: total('sumstream_added_total'),
    uncertainAdds: total('sumstream_unknown_outcome_total') > 0n ? (ok?.fails ?? 0) : 0,
    uncertainTotal: total('sumstream_unknown_outcome_total'),
    drainTimeoutMs: values.drainTimeout,
  });
  process.stdout.write(`sum check: ${report.message}\n`);
  return report.status === 'PASS' ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`k6 sum check: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
