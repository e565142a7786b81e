/** OK: as SumStream needs it. WARN: works, but look (not running, lagging, dead letters). FAIL: SumStream cannot work so. */
export type CheckStatus = 'OK' | 'WARN' | 'FAIL';

export type CheckGroup = 'PostgreSQL' | 'RabbitMQ' | 'Processes';

/** One line of `sumstream doctor`. */
export interface CheckResult {
  group: CheckGroup;
  /** Short name of what was checked, e.g. `wal_level`, `slot sumstream_relay`. */
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** When not OK: what to do about it. */
  fix?: string;
  /** Figures behind the verdict, for --json (integers that may be large are bigints). */
  data?: Record<string, unknown>;
}

export interface DoctorReport {
  /** True when nothing FAILed (exit code 0). */
  ok: boolean;
  summary: Record<CheckStatus, number>;
  /** What was checked, passwords redacted. */
  targets: Record<CheckGroup, string>;
  checks: CheckResult[];
}

export const GROUPS: readonly CheckGroup[] = ['PostgreSQL', 'RabbitMQ', 'Processes'];

export function doctorReport(checks: CheckResult[], targets: DoctorReport['targets']): DoctorReport {
  const summary: Record<CheckStatus, number> = { OK: 0, WARN: 0, FAIL: 0 };
  for (const check of checks) summary[check.status]++;
  return { ok: summary.FAIL === 0, summary, targets, checks };
}

/** The text report: one section per group, one line per check, the fix under each that is not OK. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines = ['SumStream doctor'];
  const width = Math.max(0, ...report.checks.map((check) => check.name.length));
  for (const group of GROUPS) {
    const checks = report.checks.filter((check) => check.group === group);
    if (checks.length === 0) continue;
    lines.push('', `${group}  ${report.targets[group]}`);
    for (const check of checks) {
      lines.push(`  ${check.status.padEnd(4)}  ${check.name.padEnd(width)}  ${check.detail}`);
      if (check.fix !== undefined && check.status !== 'OK') lines.push(`${' '.repeat(8)}fix: ${check.fix}`);
    }
  }
  const { OK, WARN, FAIL } = report.summary;
  lines.push(
    '',
    `${OK} OK, ${WARN} WARN, ${FAIL} FAIL${FAIL > 0 ? ': SumStream cannot work as configured; see the fixes above.' : WARN > 0 ? '.' : ': all good.'}`,
  );
  return lines.join('\n');
}
