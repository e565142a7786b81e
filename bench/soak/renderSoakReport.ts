/** The soak's words: the progress line of a sample, report.md and the closing summary. Pure. */
import { SERVICES } from '../../src/dev-stack/index.js';
import { fmt } from '../benchResult.js';
import type { SeriesFit } from './fitSeries.js';
import type { SoakSample } from './sampleStack.js';
import type { SoakReport } from './soakReport.js';

const MIB = 2 ** 20;
const SHORT = { 'add-service': 'add', 'cdc-relay': 'relay', 'sum-service': 'sum' } as const;

const mib = (bytes: number | undefined): string =>
  bytes === undefined ? '?' : (bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0);
const ms = (value: number | undefined): string => (value === undefined ? '?' : fmt.ms(value));
const minutes = (seconds: number): string => `${(seconds / 60).toFixed(1)} min`;

/** `[  120s] add 1,203/s (p99 8.1 ms) e2e p50 12 ms p99 31 ms | RSS add 152 relay 118 sum 131 MiB | ...` */
export function describeSample(s: SoakSample): string {
  const rss = SERVICES.map((service) => `${SHORT[service]} ${mib(s.processes[service]?.rssBytes)}`).join(' ');
  const queue = s.queue.ready === undefined ? '?' : String(s.queue.ready + (s.queue.unacknowledged ?? 0));
  return [
    `[${s.t.toFixed(0).padStart(5)}s] add ${fmt.rate(s.add.okPerSecond)} (p99 ${fmt.ms(s.add.p99Ms)}${s.add.errorsPerSecond > 0 ? `, ${fmt.rate(s.add.errorsPerSecond)} failed` : ''})`,
    `e2e p50 ${ms(s.e2e.p50Ms)} p99 ${ms(s.e2e.p99Ms)}`,
    `| RSS ${rss} MiB`,
    `| ledger ${mib(s.tables.additions?.totalBytes)} inbox ${mib(s.tables.processed_events?.totalBytes)} MiB`,
    `| WAL ${mib(s.wal.retainedBytes)} MiB | queue ${queue} | unknown ${s.unknownPending}${s.duringFault ? ' | fault' : ''}`,
  ].join(' ');
}

/** A value in its unit, to three significant digits (whole from 1,000 on). */
function value(v: number, unit: string): string {
  if (!Number.isFinite(v)) return 'n/a';
  return `${Math.abs(v) >= 1000 ? fmt.int(v) : String(Number(v.toPrecision(3)))} ${unit}`;
}

const signed = (v: number, unit: string): string => (v > 0 ? `+${value(v, unit)}` : value(v, unit));

const VERDICT = { pass: 'pass', fail: '**FAIL**', info: 'reported', 'no-data': 'no data' } as const;

function criterionText(fit: SeriesFit): string {
  const c = fit.criterion;
  if (!c.judged) return '';
  const share = `${Math.round(c.relative * 100)} %`;
  return `${c.direction === 'up' ? 'growth' : 'decline'} ≤ ${value(fit.tolerance, fit.unit)} (${share}, floor ${value(c.floor, fit.unit)})`;
}

function fitRow(fit: SeriesFit): string {
  const unit = `${fit.unit}/h`;
  const ci = Number.isFinite(fit.slopeLowPerHour)
    ? `${signed(fit.slopeLowPerHour, '')}… ${signed(fit.slopeHighPerHour, unit)}`
    : 'n/a';
  return `| ${fit.label} | ${fit.points} (${fit.groups}) | ${value(fit.level, fit.unit)} | ${signed(fit.slopePerHour, unit)} | ${ci} | ${signed(fit.projected, fit.unit)} | ${criterionText(fit)} | ${VERDICT[fit.status]} |`;
}

export const FIT_NOTE =
  "Each series is fitted with the Theil–Sen estimator (the median of the slopes between every pair of samples), which a restart spike or a burst after a fault barely moves, with Sen's distribution-free 95 % confidence interval. Memory is fitted on the lowest of the once-a-second reads in each sample window (close to what survived the last collection; the GC sawtooth would otherwise be most of the signal). Samples of the warm-up are left out. Process series are fitted per incarnation: the samples of each pid form a group, the first settle seconds after each (re)start are left out, groups shorter than a minute are dropped, and the slope is the median of the pairwise slopes within the groups, never across a restart. The projected change is that slope times the post-warm-up span, as if one incarnation had lived through all of it. A series fails when it grows (the Add rate: declines) by more than its tolerance, a share of its median level with a floor, and the confidence interval lies wholly above (below) zero.";

export function renderMarkdown(report: SoakReport, plots: { name: string; file: string }[]): string {
  const o = report.options;
  const r = o.retention;
  const m = report.machine;
  const l = report.load;
  const s = report.sum;
  const w = report.fitWindow;
  const errors = Object.entries(l.errorsByCode)
    .sort((x, y) => y[1] - x[1])
    .map(([code, n]) => `${code} ${fmt.int(n)}`)
    .join(', ');
  const lines = [
    '# SumStream soak run',
    '',
    `Command: \`${report.command}\` (${report.startedAt} to ${report.finishedAt}).`,
    '',
    `Machine: ${m.cpus} x ${m.cpu}, ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node}, PostgreSQL ${m.postgres}, RabbitMQ ${m.rabbitmq}.`,
    '',
    `## Verdict: ${report.ok ? 'PASS' : 'FAIL'}${report.aborted ? ' (aborted early)' : ''}`,
    '',
    ...(report.failures.length > 0 ? [...report.failures.map((f) => `- ${f}`), ''] : []),
    '## Settings',
    '',
    `- Retention: sum-service \`INBOX_RETENTION_SECONDS=${r.inboxRetentionSeconds}\`, \`INBOX_PRUNE_INTERVAL_SECONDS=${r.inboxPruneIntervalSeconds}\`; add-service \`LEDGER_PARTITION_SECONDS=${r.ledgerPartitionSeconds}\`, \`LEDGER_RETENTION_SECONDS=${r.ledgerRetentionSeconds}\`, \`IDEMPOTENCY_KEY_RETENTION_SECONDS=${r.idempotencyKeyRetentionSeconds}\`.`,
    `- Highest sustained Add rate, closed-loop ramp of ${o.rampSeconds} s: ${fmt.rate(report.ramp.maxRate)} (${report.ramp.steps.map((st) => `${st.workers} concurrent: ${fmt.rate(st.acceptedPerSecond)} accepted, ${fmt.rate(st.appliedPerSecond)} applied`).join('; ')}).`,
    `- Load: ${fmt.rate(l.ratePerSecond)} Adds open loop (${o.loadFraction} of it) for ${o.minutes} min on ${o.connections} channels, deadline ${l.deadlineMs} ms; ${Math.round(o.keyedShare * 100)} % with an idempotency key, retried with it for up to ${l.keyedBudgetMs / 1000} s; ${o.readersPerSecond} GET /sum per second.`,
    `- Faults: ${o.faultEverySeconds > 0 ? `one every ${o.faultEverySeconds} s, cycling kill -9 of sum-service, cdc-relay, add-service (each started again after 1 s), closing every AMQP connection; ${report.faults.length} in all` : 'none'}.`,
    `- Samples every ${o.sampleSeconds} s (${report.samples.length}); warm-up ${minutes(w.from)}; fits from ${minutes(w.from)} to ${minutes(w.to)} (span ${minutes(w.to - w.from)}), ${w.settleSeconds} s settle after each (re)start.`,
    '',
    '## Sum',
    '',
    '| | |',
    '|---|---|',
    `| Adds | ${fmt.int(l.operations)} sent, ${fmt.int(l.acknowledged)} acknowledged (${fmt.int(l.replayed)} as replays of a keyed retry), ${fmt.int(l.refused)} refused, ${fmt.int(l.dropped)} not sent (in-flight cap) |`,
    `| failed calls | ${errors || 'none'} |`,
    `| unknown outcomes | ${fmt.int(l.unknown)}: ${fmt.int(l.unknownRecorded)} recorded, ${fmt.int(l.unknownNotRecorded)} not recorded (by the ledger) |`,
    `| lost / double-counted | ${s.lost} / ${s.doubleCounted} |`,
    `| GET /sum | ${s.restSum ?? 'unreadable'}, expected ${s.expectedSum} |`,
    `| applied events (sum_shards) | ${s.appliedEvents ?? 'unreadable'}, expected ${s.expectedApplied} |`,
    `| ledger rows of the last ${s.window?.seconds ?? '?'} s / in the inbox | ${s.window ? `${fmt.int(s.window.ledgerRows)} / ${fmt.int(s.window.inInbox)}` : 'unreadable'} |`,
    `| drained | ${(s.drainMs / 1000).toFixed(1)} s after the load |`,
    `| GET /sum readers | ${fmt.int(l.reads.ok)} ok, ${fmt.int(l.reads.errors)} failed |`,
    '',
    '## Trends after the warm-up',
    '',
    FIT_NOTE,
    '',
    '| Series | samples (groups) | median | slope | 95 % interval | projected over the span | tolerance | verdict |',
    '|---|---:|---:|---:|---:|---:|---|---|',
    ...report.fits.map(fitRow),
    '',
  ];
  if (report.faults.length > 0) {
    lines.push('## Faults', '', '| # | at | kind | back after | detail |', '|---:|---:|---|---:|---|');
    for (const f of report.faults)
      lines.push(
        `| ${f.index} | ${minutes(f.at)} | ${f.kind} | ${(f.durationMs / 1000).toFixed(1)} s | ${f.ok ? '' : 'FAILED: '}${f.detail.replace(/\|/g, '\\|')} |`,
      );
    lines.push('');
  }
  if (report.unexpectedExits.length > 0)
    lines.push('## Processes that exited on their own', '', ...report.unexpectedExits.map((e) => `- ${e}`), '');
  lines.push('## Plots', '', ...plots.map((p) => `![${p.name}](${p.file})`), '');
  return lines.join('\n');
}

/** The closing lines on stdout: verdict, sum, the judged series, failures. */
export function renderSummary(report: SoakReport, outDir: string): string {
  const s = report.sum;
  const l = report.load;
  const judged = report.fits.filter((f) => f.criterion.judged);
  const width = Math.max(...report.fits.map((f) => f.label.length));
  const lines = [
    '',
    `SumStream soak run: ${report.options.minutes} min at ${fmt.rate(l.ratePerSecond)} (${report.options.loadFraction} of ${fmt.rate(report.ramp.maxRate)}), ${report.faults.length} faults`,
    `  adds            ${fmt.int(l.acknowledged)} acknowledged, ${fmt.int(l.unknown)} unknown (${fmt.int(l.unknownRecorded)} recorded, ${fmt.int(l.unknownNotRecorded)} not)`,
    `  sum             GET /sum ${s.restSum ?? 'unreadable'}, expected ${s.expectedSum}: ${s.restSum === s.expectedSum ? 'exact' : 'NOT EXACT'}`,
    `  applied         ${s.appliedEvents ?? '?'} events, expected ${s.expectedApplied} (lost ${s.lost}, double-counted ${s.doubleCounted})`,
    `  retained window ${s.window ? `${s.window.ledgerRows} ledger rows of the last ${s.window.seconds} s, ${s.window.inInbox} in the inbox` : 'unreadable'}`,
    `  fits            Theil–Sen from ${minutes(report.fitWindow.from)} to ${minutes(report.fitWindow.to)}: ${judged.filter((f) => f.status === 'pass').length} pass, ${judged.filter((f) => f.status === 'fail').length} fail, ${judged.filter((f) => f.status === 'no-data').length} without data`,
    '',
    ...report.fits.map(
      (f) =>
        `  ${f.label.padEnd(width)}  ${value(f.level, f.unit).padStart(14)}  ${signed(f.projected, f.unit).padStart(14)} over the span  ${f.criterion.judged ? `(tolerance ${value(f.tolerance, f.unit)})` : ''}  ${VERDICT[f.status].replace(/\*/g, '')}`,
    ),
    '',
    ...report.failures.map((f) => `  FAIL: ${f}`),
    `  verdict         ${report.ok ? 'PASS' : `FAIL (${report.failures.length})`}`,
    `  report          ${outDir}/report.md`,
  ];
  return lines.join('\n');
}
