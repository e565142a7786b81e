import { DEAD_LETTER_QUEUE, QUEUE } from './storeChecks.js';
import { FAULT_KINDS } from './faults.js';
import type { ChaosReport } from './runChaos.js';

const seconds = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** The closing note of a run: a summary table, the verdict, the seed and the command that reproduces it. */
export function formatChaosReport(report: ChaosReport): string {
  const v = report.verdict;
  const byKind = FAULT_KINDS.filter((k) => report.options.kinds.includes(k))
    .map((k) => `${k} ${report.faultsByKind[k] ?? 0}`)
    .join(', ');
  const errors = Object.entries(report.load.errorsByCode)
    .sort((x, y) => y[1] - x[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const rows: [string, string][] = [
    [
      'faults injected',
      `${report.faultsInjected}${report.faultsSkipped > 0 ? ` (+${report.faultsSkipped} skipped)` : ''}${report.aborted ? ' (aborted early)' : ''}`,
    ],
    ['  by kind', byKind],
    ['clients', `${report.options.clients} (${report.load.keyedClients} with idempotency keys, retrying)`],
    [
      'adds attempted',
      `${report.load.operations} operations, ${report.load.attempts} calls${errors ? ` (failed calls: ${errors})` : ''}`,
    ],
    [
      'adds acknowledged',
      `${report.load.acknowledged}${v ? ` (${v.replayed} answered as replays of a keyed retry)` : ''}`,
    ],
    [
      'unknown outcomes',
      v
        ? `${v.unknown}, resolved through the ledger: ${v.unknownRecorded} recorded, ${v.unknownNotRecorded} not recorded`
        : `${report.load.unknown}`,
    ],
    ['lost', v ? `${v.lost}` : 'n/a'],
    ['double-counted', v ? `${v.doubleCounted}` : 'n/a'],
    ['phantoms', v ? `${v.phantomLedgerRows.length} ledger, ${v.phantomInboxRows.length} inbox` : 'n/a'],
    [
      'sum',
      v ? `${v.storeSum} in sum_shards, GET /sum ${v.restSum ?? 'unreadable'}, expected ${v.expectedSum}` : 'n/a',
    ],
    ['ledger / inbox rows', v ? `${v.ledgerRows} / ${v.inboxRows}` : 'n/a'],
    ['drain time', `${seconds(report.drainMs)} after the last fault (limit ${report.options.maxDrainMs / 1000} s)`],
    [
      'slot',
      report.slotCatchUpMs === undefined
        ? 'did not catch up'
        : `caught up ${seconds(report.slotCatchUpMs)} after the drain`,
    ],
    [
      'queues',
      `${QUEUE}: ${report.queues.unacknowledgedAtDrain ?? '?'} unacknowledged at drain, ${report.queues.readyAfterStop ?? '?'} left after the consumer stopped; ` +
        `${DEAD_LETTER_QUEUE}: ${report.queues.deadLettered ?? '?'}`,
    ],
    [
      'supervisor restarts',
      Object.entries(report.supervisorRestarts)
        .map(([s, n]) => `${s} ${n}`)
        .join(', '),
    ],
    ['duration', duration(report.durationMs)],
    ['verdict', report.ok ? 'PASS' : `FAIL (${report.violations.length} violations)`],
  ];
  if (v && v.claimedNotRecordedButRecorded > 0) {
    rows.splice(6, 0, [
      '  note',
      `${v.claimedNotRecordedButRecorded} Adds answered UNAVAILABLE "was not recorded" were in fact recorded`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [
    '',
    `SumStream chaos run, seed ${report.seed}`,
    ...rows.map(([k, val]) => `  ${k.padEnd(width)}  ${val}`),
  ];
  if (report.violations.length > 0) lines.push('', 'violations:', ...report.violations.map((x) => `  - ${x}`));
  if (report.unexpectedExits.length > 0) {
    lines.push('', 'processes that exited on their own (and were restarted):');
    report.unexpectedExits.slice(0, 10).forEach((exit, i) => {
      lines.push(`  - ${exit.length > 300 ? `${exit.slice(0, 300)}…` : exit}`);
      // A crash (not a refusal to start) gets its stack trace.
      if (exit.includes('): uncaught '))
        lines.push(
          ...(report.exitOutputs[i] ?? '')
            .split('\n')
            .slice(-20)
            .map((l) => `      ${l}`),
        );
    });
  }
  if (report.keptData && report.dataDir) lines.push('', `logs and data kept in ${report.dataDir}`);
  lines.push('', `seed=${report.seed}`, `reproduce: ${report.reproduce}`);
  return lines.join('\n');
}
