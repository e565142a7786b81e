import type { BenchRow } from './benchResult.js';
import type { MachineInfo } from './benchEnvironment.js';

/** The results as Markdown: machine, command, table, details. */
export function formatResults(input: {
  command: string;
  machine: MachineInfo;
  startedAt: string;
  minutes: number;
  loadBefore: number;
  rows: BenchRow[];
  details: string[];
}): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const verdict = (met: boolean | undefined): string => (met === undefined ? '' : met ? 'met' : '**missed**');
  const m = input.machine;
  return [
    `Command: \`${input.command}\` (${input.startedAt}, ${input.minutes.toFixed(1)} min, load average ${input.loadBefore.toFixed(2)} before)`,
    '',
    `Machine: ${m.cpus} x ${m.cpu}, ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node}, PostgreSQL ${m.postgres}, RabbitMQ ${m.rabbitmq}`,
    '',
    '| Benchmark | Measure | SumStream | Baseline | Ratio | Goal | |',
    '|---|---|---|---|---|---|---|',
    ...input.rows.map(
      (r) =>
        `| ${cell(r.benchmark)} | ${cell(r.measure)} | ${cell(r.sumstream)} | ${cell(r.baseline)} | ${r.ratio} | ${cell(r.goal)} | ${verdict(r.met)} |`,
    ),
    '',
    ...input.details.map((d) => `- ${d}`),
    '',
  ].join('\n');
}
