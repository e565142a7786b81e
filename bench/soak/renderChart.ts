/**
 * A soak plot as SVG, pure: panels stacked over one time axis (minutes), the warm-up shaded and every
 * fault drawn as a dashed vertical line labelled with its target. A gap in a series (a sample that
 * could not be read, a process restart) breaks its line. The PNG is made from it by renderPng.
 */
import { niceTicks } from '../../src/load/renderReport.js';

export interface ChartSeries {
  label: string;
  color: string;
  /** [seconds, value]; null breaks the line. */
  values: ([number, number] | null)[];
  dashed?: boolean;
  /** Thin and pale, for context behind the main lines. */
  faint?: boolean;
}

export interface ChartPanel {
  title: string;
  unit: string;
  series: ChartSeries[];
}

export interface Chart {
  title: string;
  panels: ChartPanel[];
  /** Faults: seconds and a short label. */
  markers: { t: number; label: string }[];
  /** End of the warm-up, seconds. */
  warmupEnd: number;
  /** End of the axis, seconds. */
  end: number;
}

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

const WIDTH = 960;
const PANEL_HEIGHT = 190;
const LEFT = 78;
const RIGHT = 20;
const TOP = 60;
const GAP = 76;

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const label = (value: number): string =>
  Math.abs(value) >= 10_000 ? `${Number((value / 1000).toPrecision(4))}k` : String(Number(value.toPrecision(4)));

function panelSvg(panel: ChartPanel, top: number, chart: Chart, xTicks: number[]): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const xMax = Math.max(1, chart.end / 60);
  const values = panel.series.flatMap((s) =>
    s.values.filter((v): v is [number, number] => v !== null).map((v) => v[1]),
  );
  const yTicks = niceTicks(Math.max(0, ...values) || 1);
  const yTop = yTicks[yTicks.length - 1]!;
  const x = (seconds: number): number => LEFT + (Math.min(seconds / 60, xMax) / xMax) * plotWidth;
  const y = (value: number): number => top + PANEL_HEIGHT - (Math.max(0, value) / yTop) * PANEL_HEIGHT;
  const out: string[] = [
    `<text x="${LEFT}" y="${top - 36}" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<rect x="${LEFT}" y="${top}" width="${(x(chart.warmupEnd) - LEFT).toFixed(1)}" height="${PANEL_HEIGHT}" fill="#f2f2f2"/>`,
    `<text x="${LEFT + 4}" y="${top + 12}" font-size="10" fill="#777">warm-up</text>`,
  ];
  for (const tick of yTicks) {
    out.push(
      `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e3e3e3"/>`,
      `<text x="${LEFT - 6}" y="${(y(tick) + 4).toFixed(1)}" font-size="11" text-anchor="end">${label(tick)}</text>`,
    );
  }
  for (const tick of xTicks) {
    out.push(
      `<text x="${x(tick * 60).toFixed(1)}" y="${top + PANEL_HEIGHT + 16}" font-size="11" text-anchor="middle">${label(tick)}</text>`,
    );
  }
  for (const marker of chart.markers) {
    const mx = x(marker.t).toFixed(1);
    out.push(
      `<line x1="${mx}" x2="${mx}" y1="${top}" y2="${top + PANEL_HEIGHT}" stroke="#d62728" stroke-width="1" stroke-dasharray="4 3" opacity="0.7"/>`,
      `<text x="${mx}" y="${top - 3}" font-size="9" fill="#d62728" text-anchor="middle">${escapeXml(marker.label)}</text>`,
    );
  }
  out.push(`<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#888"/>`);
  const mid = top + PANEL_HEIGHT / 2;
  out.push(
    `<text x="18" y="${mid}" font-size="12" text-anchor="middle" transform="rotate(-90 18 ${mid})">${escapeXml(panel.unit)}</text>`,
  );
  // The legend on a line of its own under the title, left to right.
  let legendX = LEFT;
  for (const series of panel.series) {
    if (series.label === '') continue;
    const dash = series.dashed ? ' stroke-dasharray="5 3"' : '';
    out.push(
      `<line x1="${legendX}" x2="${legendX + 20}" y1="${top - 20}" y2="${top - 20}" stroke="${series.color}" stroke-width="2"${dash}/>`,
      `<text x="${legendX + 24}" y="${top - 16}" font-size="11">${escapeXml(series.label)}</text>`,
    );
    legendX += 40 + series.label.length * 6.5;
  }
  for (const series of panel.series) {
    const dash = `${series.dashed ? ' stroke-dasharray="5 3"' : ''}${series.faint ? ' opacity="0.4"' : ''}`;
    const width = series.faint ? 1 : 1.6;
    let run: string[] = [];
    const flush = (): void => {
      if (run.length === 1)
        out.push(`<circle cx="${run[0]!.split(',')[0]}" cy="${run[0]!.split(',')[1]}" r="2" fill="${series.color}"/>`);
      else if (run.length > 1)
        out.push(
          `<polyline points="${run.join(' ')}" fill="none" stroke="${series.color}" stroke-width="${width}"${dash} stroke-linejoin="round"/>`,
        );
      run = [];
    };
    for (const value of series.values) {
      if (value === null) flush();
      else run.push(`${x(value[0]).toFixed(1)},${y(value[1]).toFixed(1)}`);
    }
    flush();
  }
  return out.join('\n');
}

/** Pixel size of the chart's SVG. */
export function chartSize(chart: Chart): { width: number; height: number } {
  return { width: WIDTH, height: TOP + 30 + chart.panels.length * (PANEL_HEIGHT + GAP) - GAP + 50 };
}

export function renderChart(chart: Chart): string {
  const xTicks = niceTicks(Math.max(1, chart.end / 60), 10).filter((tick) => tick <= chart.end / 60 + 1e-9);
  const { height } = chartSize(chart);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
    ...chart.panels.map((panel, i) => panelSvg(panel, TOP + 30 + i * (PANEL_HEIGHT + GAP), chart, xTicks)),
    `<text x="${LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="${height - 6}" font-size="12" text-anchor="middle">minutes since the start of the soak load; dashed red: faults</text>`,
    '</svg>',
    '',
  ].join('\n');
}
