/**
 * The soak run (composition root): `npm run soak -- --help`.
 *
 * Starts its own stack with short retention, drives half its highest Add rate for --minutes with a
 * fault every --fault-every-seconds, samples memory, handles, table sizes, WAL, queue depth and
 * latency, checks the sum exactly, fits every series after the warm-up, and writes report.json,
 * report.md and the plots to --out (default bench/soak/report/). Exit codes: 0 every criterion met, 1 a
 * criterion failed or the sum is not exact, 2 bad options.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as prettier from 'prettier';
import { REPO_ROOT } from '../../src/dev-stack/index.js';
import { renderPng } from '../../src/load/renderPng.js';
import { loadAverage } from '../benchEnvironment.js';
import { chartSize, renderChart } from './renderChart.js';
import { renderMarkdown, renderSummary } from './renderSoakReport.js';
import { runSoak } from './runSoak.js';
import type { SoakReport } from './soakReport.js';
import { parseSoakOptions, type SoakOptions, SoakOptionsError, USAGE } from './soakOptions.js';
import { soakPlots } from './soakPlots.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** report.json as the repository's formatter writes it (the file may be committed with the figures). */
async function formattedJson(file: string, value: unknown): Promise<string> {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
}

async function writeReport(report: SoakReport, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const charts = soakPlots({
    samples: report.samples,
    faults: report.faults,
    warmupEnd: report.fitWindow.from,
    end: report.options.minutes * 60,
    ratePerSecond: report.load.ratePerSecond,
  });
  const plots: { name: string; file: string }[] = [];
  for (const [name, chart] of Object.entries(charts)) {
    const svg = path.join(outDir, `${name}.svg`);
    await writeFile(svg, renderChart(chart));
    const png = renderPng(svg, path.join(outDir, `${name}.png`), chartSize(chart));
    plots.push({ name: chart.title, file: png ? `${name}.png` : `${name}.svg` });
  }
  if (!plots.some((p) => p.file.endsWith('.png')))
    log('no PNG converter found (rsvg-convert from librsvg2-bin, ImageMagick or Chromium): the plots are SVG only');
  const json = path.join(outDir, 'report.json');
  await writeFile(json, await formattedJson(json, report));
  await writeFile(path.join(outDir, 'report.md'), renderMarkdown(report, plots));
}

async function main(argv: string[]): Promise<number> {
  let options: SoakOptions | 'help';
  try {
    options = parseSoakOptions(argv);
  } catch (error) {
    if (!(error instanceof SoakOptionsError)) throw error;
    log(`sumstream-soak: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const outDir = path.resolve(REPO_ROOT, options.outDir ?? path.join('bench', 'soak', 'report'));
  // Ctrl-C ends the load early; the run still drains, checks and writes its report.
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      log(`${signal}: stopping the load early`);
      abort.abort();
    });
  log(`load average before: ${loadAverage().toFixed(2)}`);
  const report = await runSoak(
    {
      options,
      command: `npm run soak${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      processEnv: process.env,
      log,
      signal: abort.signal,
    },
    path.join(outDir, 'logs'),
  );
  await writeReport(report, outDir);
  const shown = outDir.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, outDir) : outDir;
  process.stdout.write(`${renderSummary(report, shown)}\n`);
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`sumstream-soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
