/**
 * The load tool (composition root): `npm run load -- --help`.
 *
 * Sends bounded load (in time and count) to a SumStream stack on this machine: gRPC Addition/Add,
 * REST GET /sum, or both, open loop (constant arrival rate) or closed loop (workers), prints a
 * progress line every second, and writes report.json, report.md and report.html (percentile table,
 * throughput and latency over time) into --out. With --check-sum it checks that GET /sum grew by
 * exactly the total of the acknowledged Adds, and exits 1 when it did not.
 *
 * With --json, stdout carries only report.json (one JSON document, the same as the file) and every
 * other line, the Markdown report too, goes to stderr.
 *
 * Exit codes: 0 done (and the sum check passed), 1 the sum check failed or the stack could not be
 * reached or no request succeeded, 2 bad options.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runClosedLoop } from './closedLoop.js';
import { GrpcAddTarget } from './grpcAddTarget.js';
import { type LoadOptions, LoadOptionsError, parseLoadOptions, USAGE } from './loadOptions.js';
import type { LoadTarget } from './loadTarget.js';
import { runOpenLoop } from './openLoop.js';
import { formatProgress, ProgressLine } from './progressLine.js';
import {
  LATENCY_NOTE,
  latencyMsOf,
  type LoadReport,
  renderHtml,
  renderMarkdown,
  renderSvg,
  type TargetReport,
} from './renderReport.js';
import { renderPng } from './renderPng.js';
import { RestSumTarget } from './restSumTarget.js';
import { checkSum, readSum } from './sumCheck.js';
import { round, TargetStats } from './targetStats.js';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Soft limit of open files, from /proc (undefined elsewhere). */
function openFilesLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function buildTargets(options: LoadOptions): LoadTarget[] {
  return options.targets.map((name) =>
    name === 'add'
      ? new GrpcAddTarget({
          address: options.grpc.address,
          connections: options.connections,
          timeoutMs: options.timeoutMs,
        })
      : new RestSumTarget({ baseUrl: options.rest, connections: options.connections, timeoutMs: options.timeoutMs }),
  );
}

function targetReport(target: LoadTarget, stats: TargetStats, seconds: number): TargetReport {
  const requests = stats.ok + stats.errors;
  return {
    name: target.name,
    label: target.label,
    requests,
    ok: stats.ok,
    errors: stats.errors,
    dropped: stats.dropped,
    errorRate: requests + stats.dropped === 0 ? 0 : (stats.errors + stats.dropped) / (requests + stats.dropped),
    errorsByKind: stats.errorsByKind,
    seconds: round(seconds, 3),
    throughput: round(requests / Math.max(seconds, 0.001), 1),
    latencyMs: latencyMsOf(stats.latency()),
    series: stats.series,
  };
}

async function main(argv: string[]): Promise<number> {
  let options: LoadOptions | 'help';
  try {
    options = parseLoadOptions(argv);
  } catch (error) {
    if (!(error instanceof LoadOptionsError)) throw error;
    log(`sumstream-load: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const limit = openFilesLimit();
  const needed = options.connections * options.targets.length + 64;
  if (limit !== undefined && needed > limit) {
    log(
      `sumstream-load: warning: ${needed} file descriptors may be needed but the limit is ${limit}; raise it first (ulimit -n ${Math.min(1_048_576, needed * 2)}) or use fewer --connections`,
    );
  }

  const targets = buildTargets(options);
  const closeAll = async (): Promise<void> => {
    await Promise.all(targets.map((target) => target.close()));
  };
  const describe =
    options.mode === 'open'
      ? `open loop, ${options.rate}/s per target, ${options.connections} connections per target`
      : `closed loop, ${options.workers} workers per target${options.thinkMs ? ` pausing ${options.thinkMs} ms` : ''}, ${options.connections} connections per target`;
  log(
    `sumstream-load: ${describe}, ${options.durationMs / 1000} s${options.maxRequests ? ` or ${options.maxRequests} requests` : ''}: ${targets.map((t) => t.label).join(', ')}`,
  );

  const connectStarted = performance.now();
  try {
    await Promise.all(targets.map((target) => target.connect()));
  } catch (error) {
    log(`sumstream-load: ${(error as Error).message}`);
    await closeAll();
    return 1;
  }
  log(`sumstream-load: connected in ${Math.round(performance.now() - connectStarted)} ms`);

  let before: bigint | undefined;
  if (options.checkSum) {
    try {
      before = await readSum(options.rest);
    } catch (error) {
      log(`sumstream-load: --check-sum cannot read the sum before the run: ${(error as Error).message}`);
      await closeAll();
      return 1;
    }
    log(
      `sumstream-load: GET /sum before the run: ${before} (the check is exact only if nothing else writes to this stack meanwhile)`,
    );
  }

  const stop = new AbortController();
  const onSignal = (): void => {
    if (!stop.signal.aborted)
      log('\nsumstream-load: stopping early (signal); waiting for requests in flight, then reporting');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startedAtWall = new Date();
  const startAt = performance.now();
  const stats = targets.map(() => new TargetStats(startAt));
  const progress = new ProgressLine(process.stderr);
  const ticker = setInterval(() => {
    const now = performance.now();
    for (const s of stats) s.closeWindow(now);
    if (options.progress) {
      progress.update(
        formatProgress(
          now - startAt,
          options.durationMs,
          targets.map((t, i) => ({ name: t.name, window: stats[i]!.lastWindow, snapshot: stats[i]!.snapshot() })),
        ),
      );
    }
  }, 1000);

  await Promise.all(
    targets.map((target, i) =>
      options.mode === 'open'
        ? runOpenLoop(target, stats[i]!, {
            rate: options.rate,
            startAt,
            durationMs: options.durationMs,
            maxRequests: options.maxRequests,
            maxInFlight: options.maxInFlight,
            connections: options.connections,
            signal: stop.signal,
          })
        : runClosedLoop(target, stats[i]!, {
            workers: options.workers,
            thinkMs: options.thinkMs,
            startAt,
            durationMs: options.durationMs,
            maxRequests: options.maxRequests,
            connections: options.connections,
            signal: stop.signal,
          }),
    ),
  );
  clearInterval(ticker);
  const endAt = performance.now();
  for (const s of stats) {
    const last = s.series[s.series.length - 1];
    if (!last || endAt - startAt - last.t * 1000 > 50) s.closeWindow(endAt);
  }
  progress.finish();
  const finishedAtWall = new Date();
  await closeAll();

  const reports = targets.map((target, i) => targetReport(target, stats[i]!, (endAt - startAt) / 1000));
  const add = targets.find((t): t is GrpcAddTarget => t instanceof GrpcAddTarget);
  let sumCheck: LoadReport['sumCheck'];
  if (before !== undefined) {
    log(
      `sumstream-load: checking the sum (waiting up to ${options.drainTimeoutMs / 1000} s for the pipeline to apply every acknowledged Add)`,
    );
    sumCheck = await checkSum({
      read: () => readSum(options.rest),
      before,
      acknowledgedAdds: add?.acknowledged ?? 0,
      acknowledgedTotal: add?.acknowledgedTotal ?? 0n,
      uncertainAdds: add?.uncertain ?? 0,
      uncertainTotal: add?.uncertainTotal ?? 0n,
      drainTimeoutMs: options.drainTimeoutMs,
    });
  }

  const report: LoadReport = {
    tool: 'sumstream-load',
    startedAt: startedAtWall.toISOString(),
    finishedAt: finishedAtWall.toISOString(),
    settings: {
      mode: options.mode,
      targets: options.targets,
      rate: options.mode === 'open' ? options.rate : undefined,
      connections: options.connections,
      workers: options.mode === 'closed' ? options.workers : undefined,
      thinkMs: options.mode === 'closed' ? options.thinkMs : undefined,
      durationMs: options.durationMs,
      maxRequests: options.maxRequests,
      maxInFlight: options.mode === 'open' ? options.maxInFlight : undefined,
      timeoutMs: options.timeoutMs,
      grpc: options.grpc.address,
      rest: options.rest.href,
    },
    latencyNote: LATENCY_NOTE[options.mode],
    targets: reports,
    sumCheck,
  };

  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const markdown = renderMarkdown(report);
  const reportJson = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(path.join(outDir, 'report.json'), reportJson);
  await writeFile(path.join(outDir, 'report.md'), markdown);
  await writeFile(path.join(outDir, 'report.html'), renderHtml(report));
  const written = ['report.json', 'report.md', 'report.html'];
  for (const target of reports) {
    const svgPath = path.join(outDir, `plot-${target.name}.svg`);
    await writeFile(svgPath, renderSvg(target));
    written.push(path.basename(svgPath));
    if (options.png) {
      const pngPath = path.join(outDir, `plot-${target.name}.png`);
      const converter = renderPng(svgPath, pngPath);
      if (converter) written.push(`${path.basename(pngPath)} (${converter})`);
    }
  }

  // --json: stdout is the report alone, for jq and scripts; the text a person reads goes to stderr.
  if (options.json) {
    process.stderr.write(`${markdown}\n`);
    process.stdout.write(reportJson);
  } else {
    process.stdout.write(`${markdown}\n`);
  }
  log(`sumstream-load: wrote ${written.join(', ')} in ${outDir}`);
  for (const target of reports) {
    if (target.ok === 0)
      log(
        `sumstream-load: no ${target.name} request succeeded (${Object.keys(target.errorsByKind).join(', ') || 'none sent'})`,
      );
  }
  if (sumCheck) log(`sumstream-load: sum check ${sumCheck.message}\nsumstream-load: ${sumCheck.note}`);
  if (sumCheck?.status === 'FAIL') return 1;
  if (reports.some((target) => target.ok === 0)) return 1;
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`sumstream-load: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
