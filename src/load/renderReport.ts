/**
 * The end-of-run report, pure: the report data (also written as report.json) rendered as Markdown
 * (percentile table), as an SVG plot per target (throughput and latency over time), and as a
 * self-contained HTML page (inline SVG, no script, nothing fetched).
 */
import type { LatencySummary } from './latencyHistogram.js';
import type { WindowPoint } from './targetStats.js';

/** The same statistics as LatencySummary, in milliseconds. */
export type LatencyMs = Omit<LatencySummary, 'count'>;

export interface TargetReport {
  name: 'add' | 'sum';
  label: string;
  /** Completed requests (ok + errors). */
  requests: number;
  ok: number;
  errors: number;
  /** Open loop: arrivals not sent because of the in-flight cap. */
  dropped: number;
  /** (errors + dropped) / (requests + dropped). */
  errorRate: number;
  errorsByKind: Record<string, number>;
  /** From the first send to the last answer, s. */
  seconds: number;
  /** Completed requests per second over `seconds`. */
  throughput: number;
  latencyMs: LatencyMs;
  series: WindowPoint[];
}

export interface SumCheckReport {
  status: 'PASS' | 'FAIL';
  before: string;
  after: string;
  acknowledgedAdds: number;
  acknowledgedTotal: string;
  expected: string;
  /** Failed Adds that may have been recorded anyway, and the sum of their a + b. */
  uncertainAdds: number;
  uncertainTotal: string;
  waitedMs: number;
  message: string;
  note: string;
}

export interface LoadSettings {
  mode: 'open' | 'closed';
  targets: string[];
  rate: number | undefined;
  connections: number;
  workers: number | undefined;
  thinkMs: number | undefined;
  durationMs: number;
  maxRequests: number | undefined;
  maxInFlight: number | undefined;
  timeoutMs: number;
  grpc: string;
  rest: string;
}

export interface LoadReport {
  tool: 'sumstream-load';
  startedAt: string;
  finishedAt: string;
  settings: LoadSettings;
  /** How latency was measured (coordinated omission note). */
  latencyNote: string;
  targets: TargetReport[];
  sumCheck: SumCheckReport | undefined;
}

export function latencyMsOf(summary: LatencySummary): LatencyMs {
  const ms = (micros: number): number => Math.round(micros) / 1000;
  return {
    min: ms(summary.min),
    mean: ms(summary.mean),
    p50: ms(summary.p50),
    p90: ms(summary.p90),
    p95: ms(summary.p95),
    p99: ms(summary.p99),
    p999: ms(summary.p999),
    max: ms(summary.max),
  };
}

export const LATENCY_NOTE = {
  open: 'Open loop: latency is measured from each request\u2019s scheduled arrival time, so time spent waiting to be sent counts (no coordinated omission).',
  closed:
    'Closed loop: latency is measured from send to answer; a slow server lowers the request rate instead (coordinated omission: read it with the throughput).',
} as const;

function fmtMs(value: number): string {
  return value >= 1000 ? value.toFixed(0) : value >= 100 ? value.toFixed(1) : value.toFixed(2);
}

function fmtInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function fmtPercent(share: number): string {
  return `${(share * 100).toFixed(share === 0 || share >= 0.01 ? 2 : 3)}%`;
}

function describeSettings(s: LoadSettings): string {
  const load =
    s.mode === 'open'
      ? `open loop, ${fmtInt(s.rate ?? 0)} requests/s per target, ${fmtInt(s.connections)} connections per target`
      : `closed loop, ${fmtInt(s.workers ?? 0)} workers per target${s.thinkMs ? ` (${s.thinkMs} ms pause)` : ''}, ${fmtInt(s.connections)} connections per target`;
  const bound = `${s.durationMs / 1000} s${s.maxRequests ? ` or ${fmtInt(s.maxRequests)} requests` : ''}`;
  return `${load}, for ${bound}; call deadline ${s.timeoutMs} ms`;
}

const TABLE_HEAD = [
  'target',
  'requests',
  'ok',
  'errors',
  'dropped',
  'error rate',
  'req/s',
  'min',
  'mean',
  'p50',
  'p90',
  'p95',
  'p99',
  'p99.9',
  'max',
];

function tableRows(report: LoadReport): string[][] {
  return report.targets.map((t) => [
    t.name === 'add' ? 'gRPC Add' : 'REST GET /sum',
    fmtInt(t.requests),
    fmtInt(t.ok),
    fmtInt(t.errors),
    fmtInt(t.dropped),
    fmtPercent(t.errorRate),
    t.throughput.toFixed(1),
    ...[
      t.latencyMs.min,
      t.latencyMs.mean,
      t.latencyMs.p50,
      t.latencyMs.p90,
      t.latencyMs.p95,
      t.latencyMs.p99,
      t.latencyMs.p999,
      t.latencyMs.max,
    ].map(fmtMs),
  ]);
}

function errorLines(report: LoadReport): string[] {
  return report.targets.flatMap((t) => {
    const kinds = Object.entries(t.errorsByKind).sort((x, y) => y[1] - x[1]);
    return kinds.length === 0
      ? []
      : [`${t.name}: ${kinds.map(([kind, n]) => `${kind} \u00d7 ${fmtInt(n)}`).join(', ')}`];
  });
}

/** The report as Markdown: settings, the percentile table (latency in ms), errors, the sum check. */
export function renderMarkdown(report: LoadReport): string {
  const lines = [
    '# SumStream load report',
    '',
    `${report.startedAt} \u2192 ${report.finishedAt}: ${describeSettings(report.settings)}.`,
    '',
    ...report.targets.map((t) => `- \`${t.name}\`: ${t.label}`),
    '',
    `Latency in milliseconds. ${report.latencyNote}`,
    '',
    `| ${TABLE_HEAD.join(' | ')} |`,
    `|${TABLE_HEAD.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...tableRows(report).map((row) => `| ${row.join(' | ')} |`),
  ];
  const errors = errorLines(report);
  if (errors.length > 0) lines.push('', 'Errors by kind:', '', ...errors.map((line) => `- ${line}`));
  if (report.sumCheck) {
    const c = report.sumCheck;
    lines.push('', `## Sum check: ${c.status}`, '', c.message, '', `Note: ${c.note}`);
  }
  lines.push('', 'Plots: report.html (throughput and latency over time).', '');
  return lines.join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values from 0 to at least `max` (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let value = 0; value < max + step * 1e-9; value += step) ticks.push(Number(value.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

function tickLabel(value: number): string {
  if (value >= 10_000) return `${Number((value / 1000).toPrecision(6))}k`;
  return String(Number(value.toPrecision(6)));
}

interface Series {
  label: string;
  color: string;
  values: [number, number][];
  dashed?: boolean;
}

interface Panel {
  title: string;
  unit: string;
  series: Series[];
}

const WIDTH = 900;
const PANEL_HEIGHT = 200;
const MARGIN = { left: 70, right: 20, top: 40, gap: 60, bottom: 40 };

function renderPanel(panel: Panel, top: number, xMax: number, xTicks: number[]): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const yMax = Math.max(0, ...panel.series.flatMap((s) => s.values.map(([, y]) => y)));
  const yTicks = niceTicks(yMax || 1);
  const yTop = yTicks[yTicks.length - 1]!;
  const x = (value: number): number => MARGIN.left + (value / xMax) * plotWidth;
  const y = (value: number): number => top + PANEL_HEIGHT - (value / yTop) * PANEL_HEIGHT;
  const parts: string[] = [];
  parts.push(
    `<text x="${MARGIN.left}" y="${top - 12}" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`,
  );
  for (const tick of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e3e3e3"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${(y(tick) + 4).toFixed(1)}" font-size="11" text-anchor="end">${tickLabel(tick)}</text>`,
    );
  }
  for (const tick of xTicks) {
    parts.push(
      `<line x1="${x(tick).toFixed(1)}" x2="${x(tick).toFixed(1)}" y1="${top}" y2="${top + PANEL_HEIGHT}" stroke="#f0f0f0"/>`,
    );
    parts.push(
      `<text x="${x(tick).toFixed(1)}" y="${top + PANEL_HEIGHT + 16}" font-size="11" text-anchor="middle">${tickLabel(tick)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#888"/>`,
  );
  parts.push(
    `<text x="16" y="${top + PANEL_HEIGHT / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${top + PANEL_HEIGHT / 2})">${escapeXml(panel.unit)}</text>`,
  );
  let legendX = WIDTH - MARGIN.right;
  for (const series of [...panel.series].reverse()) {
    const width = 30 + series.label.length * 7;
    legendX -= width;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 20}" y1="${top - 16}" y2="${top - 16}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    parts.push(`<text x="${legendX + 24}" y="${top - 12}" font-size="11">${escapeXml(series.label)}</text>`);
  }
  for (const series of panel.series) {
    if (series.values.length === 0) continue;
    const points = series.values.map(([vx, vy]) => `${x(vx).toFixed(1)},${y(vy).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5 3"' : ''} stroke-linejoin="round"/>`,
    );
    if (series.values.length === 1) {
      const [vx, vy] = series.values[0]!;
      parts.push(`<circle cx="${x(vx).toFixed(1)}" cy="${y(vy).toFixed(1)}" r="3" fill="${series.color}"/>`);
    }
  }
  return parts.join('\n');
}

/** An SVG with two panels for one target: requests per second (ok and errors) and p50/p99/max latency, per second of the run. */
export function renderSvg(target: TargetReport): string {
  const points = target.series;
  const xMax = Math.max(1, ...points.map((p) => p.t));
  const xTicks = niceTicks(xMax, 8).filter((tick) => tick <= xMax);
  const okRate = (p: WindowPoint): number => p.ok / p.seconds;
  const failedRate = (p: WindowPoint): number => (p.errors + p.dropped) / p.seconds;
  const answered = points.filter((p) => p.ok + p.errors > 0);
  const panels: Panel[] = [
    {
      title: `${target.label}: throughput`,
      unit: 'requests/s',
      series: [
        { label: 'ok/s', color: '#1f77b4', values: points.map((p) => [p.t, okRate(p)]) },
        { label: 'errors+dropped/s', color: '#d62728', values: points.map((p) => [p.t, failedRate(p)]) },
      ],
    },
    {
      title: `${target.label}: latency`,
      unit: 'ms',
      series: [
        { label: 'p50', color: '#2ca02c', values: answered.map((p) => [p.t, p.p50Ms]) },
        { label: 'p99', color: '#ff7f0e', values: answered.map((p) => [p.t, p.p99Ms]) },
        { label: 'max', color: '#9467bd', values: answered.map((p) => [p.t, p.maxMs]), dashed: true },
      ],
    },
  ];
  const height = MARGIN.top + PANEL_HEIGHT * 2 + MARGIN.gap + MARGIN.bottom + 10;
  const secondTop = MARGIN.top + PANEL_HEIGHT + MARGIN.gap;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    renderPanel(panels[0]!, MARGIN.top, xMax, xTicks),
    renderPanel(panels[1]!, secondTop, xMax, xTicks),
    `<text x="${MARGIN.left + (WIDTH - MARGIN.left - MARGIN.right) / 2}" y="${height - 8}" font-size="12" text-anchor="middle">seconds since start</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** A self-contained HTML page: settings, percentile table, errors, sum check and the plots (inline SVG). */
export function renderHtml(report: LoadReport): string {
  const row = (cells: string[], tag: 'td' | 'th'): string =>
    `<tr>${cells.map((cell) => `<${tag}>${escapeXml(cell)}</${tag}>`).join('')}</tr>`;
  const errors = errorLines(report);
  const check = report.sumCheck;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>SumStream load report ${escapeXml(report.startedAt)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.PASS { color: #0a7a0a; } .FAIL { color: #b00020; }
svg { display: block; margin: 1em 0; }
</style>
</head>
<body>
<h1>SumStream load report</h1>
<p>${escapeXml(report.startedAt)} \u2192 ${escapeXml(report.finishedAt)}: ${escapeXml(describeSettings(report.settings))}.</p>
<ul>${report.targets.map((t) => `<li><code>${t.name}</code>: ${escapeXml(t.label)}</li>`).join('')}</ul>
<p>Latency in milliseconds. ${escapeXml(report.latencyNote)}</p>
<table>
${row(TABLE_HEAD, 'th')}
${tableRows(report)
  .map((cells) => row(cells, 'td'))
  .join('\n')}
</table>
${errors.length > 0 ? `<p>Errors by kind:</p><ul>${errors.map((line) => `<li>${escapeXml(line)}</li>`).join('')}</ul>` : ''}
${check ? `<h2 class="${check.status}">Sum check: ${check.status}</h2><p>${escapeXml(check.message)}</p><p><em>${escapeXml(check.note)}</em></p>` : ''}
<h2>Over time</h2>
${report.targets.map((t) => renderSvg(t)).join('\n')}
</body>
</html>
`;
}
