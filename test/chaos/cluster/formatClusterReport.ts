import { DEAD_LETTER_QUEUE, QUEUE } from '../storeChecks.js';
import type { ClusterChaosReport, ClusterFaultRecord } from './runClusterChaos.js';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : `${(v / 1000).toFixed(1)} s`);
const max = (values: number[]): number | undefined => (values.length === 0 ? undefined : Math.max(...values));

/** Per fault kind: how many, the Add error rate clients saw, recovery, takeover and election times. */
export function faultTable(faults: readonly ClusterFaultRecord[]): string {
  const kinds = [...new Set(faults.map((f) => f.kind))];
  const lines = [
    'fault kind                       n   Add errors (mean / max)   applied again (p50 / max)   failover (p50 / max)',
  ];
  for (const kind of kinds) {
    const of = faults.filter((f) => f.kind === kind);
    const rates = of.map((f) => f.errorRate);
    const recovery = of.flatMap((f) => (f.recoveryMs === undefined ? [] : [f.recoveryMs]));
    const failover = of.flatMap((f) => f.failoverMs ?? f.takeoverMs ?? f.electionMs ?? []);
    const mean = rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length);
    lines.push(
      `${kind.padEnd(31)} ${String(of.length).padStart(3)}   ${`${pct(mean)} / ${pct(Math.max(...rates))}`.padEnd(24)}  ${`${ms(quantile(recovery, 0.5))} / ${ms(max(recovery))}`.padEnd(26)}  ${failover.length > 0 ? `${ms(quantile(failover, 0.5))} / ${ms(max(failover))}` : '-'}`,
    );
  }
  return lines.join('\n');
}

/** PostgreSQL failovers: writes refused -> accepted, and accepted -> applied, over every failover fault. */
export function failoverLine(faults: readonly ClusterFaultRecord[]): string | undefined {
  const of = faults.filter((f) => f.failoverMs !== undefined);
  if (of.length === 0) return undefined;
  const failover = of.map((f) => f.failoverMs!);
  const catchUp = of.flatMap((f) => (f.catchUpMs === undefined ? [] : [f.catchUpMs]));
  return `${of.length} failovers: writes accepted again after ${ms(quantile(failover, 0.5))} p50 / ${ms(max(failover))} max; applied ${ms(quantile(catchUp, 0.5))} p50 / ${ms(max(catchUp))} max after that`;
}

export function formatClusterChaosReport(report: ClusterChaosReport): string {
  const v = report.verdict;
  const errors = Object.entries(report.load.errorsByCode)
    .sort((x, y) => y[1] - x[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const rows: [string, string][] = [
    ['faults injected', `${report.faults.length} of ${report.options.faults}`],
    ['clients', `${report.options.clients} through HAProxy (${report.load.keyedClients} keyed, retrying)`],
    [
      'adds attempted',
      `${report.load.operations} operations, ${report.load.attempts} calls${errors ? ` (failed: ${errors})` : ''}`,
    ],
    ['adds acknowledged', `${report.load.acknowledged}`],
    [
      'unknown outcomes',
      v
        ? `${v.unknown}: ${v.unknownRecorded} recorded, ${v.unknownNotRecorded} not recorded (by the ledger)`
        : `${report.load.unknown}`,
    ],
    ['lost', v ? `${v.lost}` : 'n/a'],
    ['double-counted', v ? `${v.doubleCounted}` : 'n/a'],
    [
      'sum',
      v ? `${v.storeSum} in sum_shards, GET /sum ${v.restSum ?? 'unreadable'}, expected ${v.expectedSum}` : 'n/a',
    ],
    ...(failoverLine(report.faults) ? [['postgres', failoverLine(report.faults)!] as [string, string]] : []),
    [
      'drain',
      `${ms(report.drainMs)} after the last fault; ${report.options.cdc === 'debezium' ? 'slot position not checked (Debezium confirms captured changes only)' : `slot caught up ${ms(report.slotCatchUpMs)} later`}`,
    ],
    [
      'queues',
      `${QUEUE}: ${report.queues.unacknowledgedAtDrain ?? '?'} unacknowledged at drain, ${report.queues.readyAfterStop ?? '?'} left; ${DEAD_LETTER_QUEUE}: ${report.queues.deadLettered ?? '?'}`,
    ],
    ...(report.debeziumSnapshots === undefined
      ? []
      : [
          ['debezium', `${report.debeziumSnapshots} snapshot(s) in its log (1: its first start only)`] as [
            string,
            string,
          ],
        ]),
    ['crashes', report.unexpectedExits.length === 0 ? 'none' : report.unexpectedExits.join('; ')],
    [
      'broker restarts',
      (() => {
        const repairs = report.faults.flatMap((f) => f.repairs.map((r) => `fault ${f.index} (${f.kind}): ${r}`));
        return repairs.length === 0 ? 'none needed' : `${repairs.length} by the liveness check: ${repairs.join('; ')}`;
      })(),
    ],
    [
      'peak RSS (MB)',
      Object.entries(report.rssMb)
        .map(([h, mb]) => `${h} ${mb}`)
        .join(', '),
    ],
    ['duration', `${Math.round(report.durationMs / 1000)} s`],
    ['verdict', report.ok ? 'OK' : `FAILED:\n  - ${report.violations.join('\n  - ')}`],
    ['seed', `${report.seed}; replay: ${report.reproduce}`],
  ];
  return `${rows.map(([k, val]) => `${k.padEnd(18)} ${val}`).join('\n')}\n\n${faultTable(report.faults)}`;
}
