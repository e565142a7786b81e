/**
 * The highest Add rate the whole stack sustains, measured before the soak: a short closed-loop
 * ramp (the load tool's runClosedLoop and gRPC target) in four steps of concurrency, 1/8, 1/4, 1/2
 * and all of `workers`. A step's rate is the lower of what the add-service accepted and what the
 * sum-service applied meanwhile (sumstream_events_applied_total), so a pipeline that falls behind
 * lowers it; the highest step wins.
 */
import { performance } from 'node:perf_hooks';
import { runClosedLoop } from '../../src/load/closedLoop.js';
import { GrpcAddTarget } from '../../src/load/grpcAddTarget.js';
import { TargetStats } from '../../src/load/targetStats.js';
import { METRIC } from '../../src/shared/metrics/metricNames.js';
import { metricValue, scrapeMetrics } from '../scrapeMetrics.js';

export interface RampOptions {
  address: string;
  /** The sum-service's /metrics. */
  sumMetricsUrl: string;
  seconds: number;
  workers: number;
  connections: number;
  log: (line: string) => void;
}

export interface RampStep {
  workers: number;
  seconds: number;
  acceptedPerSecond: number;
  appliedPerSecond: number;
  errors: number;
  p99Ms: number;
}

export interface RampResult {
  steps: RampStep[];
  /** Highest of min(accepted, applied) per second over the steps. */
  maxRate: number;
  /** For the sum check after the ramp: what the ramp's Adds were answered, and those of unknown outcome. */
  acknowledged: number;
  acknowledgedTotal: bigint;
  uncertain: number;
  uncertainTotal: bigint;
}

export async function measureMaxRate(options: RampOptions): Promise<RampResult> {
  const target = new GrpcAddTarget({ address: options.address, connections: options.connections, timeoutMs: 3000 });
  await target.connect();
  const steps: RampStep[] = [];
  const applied = async (): Promise<number> =>
    metricValue(await scrapeMetrics(options.sumMetricsUrl), METRIC.eventsApplied);
  try {
    for (const share of [1 / 8, 1 / 4, 1 / 2, 1]) {
      const workers = Math.max(1, Math.round(options.workers * share));
      const startAt = performance.now();
      const stats = new TargetStats(startAt);
      const appliedBefore = await applied();
      await runClosedLoop(target, stats, {
        workers,
        thinkMs: 0,
        startAt,
        durationMs: (options.seconds * 1000) / 4,
        maxRequests: undefined,
        connections: options.connections,
        signal: new AbortController().signal,
      });
      const seconds = (performance.now() - startAt) / 1000;
      const step: RampStep = {
        workers,
        seconds,
        acceptedPerSecond: stats.ok / seconds,
        appliedPerSecond: ((await applied()) - appliedBefore) / seconds,
        errors: stats.errors,
        p99Ms: stats.latency().p99 / 1000,
      };
      steps.push(step);
      options.log(
        `  ramp: ${workers} concurrent Adds: accepted ${Math.round(step.acceptedPerSecond)}/s, applied ${Math.round(step.appliedPerSecond)}/s, p99 ${step.p99Ms.toFixed(1)} ms, ${step.errors} errors`,
      );
    }
  } finally {
    await target.close();
  }
  return {
    steps,
    maxRate: Math.max(...steps.map((s) => Math.min(s.acceptedPerSecond, s.appliedPerSecond))),
    acknowledged: target.acknowledged,
    acknowledgedTotal: target.acknowledgedTotal,
    uncertain: target.uncertain,
    uncertainTotal: target.uncertainTotal,
  };
}
