/**
 * The sum check of a k6 gRPC run (scripts/k6.sh runs it after load/k6/grpc-add.js):
 *   node --import tsx src/load/k6SumCheck.ts --rest URL --before SUM --summary FILE [--drain-timeout 60s]
 * reads the totals the script counted (`sumstream_added_total`: a + b of every Add answered OK;
 * `sumstream_unknown_outcome_total`: of those sent without an answer) from k6's --summary-export
 * file and waits for GET /sum to equal the sum before the run plus the acknowledged total.
 * Prints PASS or FAIL; exit 0 on PASS, 1 on FAIL, 2 on bad arguments.
 * With `--rest URL --read` it only prints the current sum (the value before the run).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseDuration, parseRestUrl } from './loadOptions.js';
import { checkSum, readSum } from './sumCheck.js';

interface K6Summary {
  metrics: Record<string, { count?: number } | undefined>;
  root_group?: { checks?: Record<string, { passes: number; fails: number }> };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { rest: { type: 'string' }, before: { type: 'string' }, summary: { type: 'string' }, 'drain-timeout': { type: 'string', default: '60s' }, read: { type: 'boolean', default: false } } });
  if (values.rest && values.read) {
    process.stdout.write(`${await readSum(parseRestUrl(values.rest))}\n`);
    return 0;
  }
  if (!values.rest || !values.before || !values.summary || !/^-?\d+$/.test(values.before)) {
    process.stderr.write('usage: node --import tsx src/load/k6SumCheck.ts --rest URL --before SUM --summary FILE [--drain-timeout 60s]\n');
    return 2;
  }
  const rest = parseRestUrl(values.rest);
  const summary = JSON.parse(await readFile(values.summary, 'utf8')) as K6Summary;
  const total = (name: string): bigint => BigInt(Math.round(summary.metrics[name]?.count ?? 0));
  const checks = summary.root_group?.checks ?? {};
  const ok = checks['Add status is OK'];
  const report = await checkSum({
    read: () => readSum(rest),
    before: BigInt(values.before),
    acknowledgedAdds: ok?.passes ?? 0,
    acknowledgedTotal: total('sumstream_added_total'),
    uncertainAdds: total('sumstream_unknown_outcome_total') > 0n ? (ok?.fails ?? 0) : 0,
    uncertainTotal: total('sumstream_unknown_outcome_total'),
    drainTimeoutMs: parseDuration(values['drain-timeout'] ?? '60s', '--drain-timeout'),
  });
  process.stdout.write(`sum check: ${report.message}\n`);
  return report.status === 'PASS' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`k6 sum check: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
