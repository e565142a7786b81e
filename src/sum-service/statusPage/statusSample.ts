import { METRIC } from '../../shared/metrics/metricNames.js';
import type { CumulativeHistogram } from '../../shared/metrics/histogramQuantile.js';

/** One metric as prom-client's `registry.getMetricsAsJSON()` returns it (the parts read here). */
export interface MetricJson {
  name: string;
  values: { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];
}

/** What the status page needs from this process's metrics at one moment. */
export interface StatusSample {
  /** When it was taken, ms since the epoch. */
  atMs: number;
  /** Counters since this process started. */
  applied: number;
  duplicates: number;
  deadLettered: number;
  applyRetries: number;
  /** Add commit → sum change committed; undefined when the histogram is not registered. */
  endToEnd: CumulativeHistogram | undefined;
  /** Default process metrics, when collected. */
  processStartSeconds: number | undefined;
  residentMemoryBytes: number | undefined;
  eventLoopLagP99Seconds: number | undefined;
}

export const PROCESS_METRIC = {
  startTime: 'process_start_time_seconds',
  residentMemory: 'process_resident_memory_bytes',
  eventLoopLagP99: 'nodejs_eventloop_lag_p99_seconds',
} as const;

/** Reads a sample out of a registry's JSON: counters summed over their labels, the histogram's buckets in order. */
export function sampleFromMetrics(metrics: readonly MetricJson[], atMs: number): StatusSample {
  const byName = new Map(metrics.map((metric) => [metric.name, metric]));
  const total = (name: string): number => (byName.get(name)?.values ?? []).reduce((sum, { value }) => sum + value, 0);
  const single = (name: string): number | undefined => byName.get(name)?.values[0]?.value;
  return {
    atMs,
    applied: total(METRIC.eventsApplied),
    duplicates: total(METRIC.duplicatesSkipped),
    deadLettered: total(METRIC.deadLettered),
    applyRetries: total(METRIC.applyRetries),
    endToEnd: cumulativeHistogram(byName.get(METRIC.endToEndLatency)),
    processStartSeconds: single(PROCESS_METRIC.startTime),
    residentMemoryBytes: single(PROCESS_METRIC.residentMemory),
    eventLoopLagP99Seconds: single(PROCESS_METRIC.eventLoopLagP99),
  };
}

function cumulativeHistogram(metric: MetricJson | undefined): CumulativeHistogram | undefined {
  if (!metric) return undefined;
  const buckets = metric.values
    .filter((value) => value.metricName === `${metric.name}_bucket`)
    .map(({ value, labels }) => ({ bound: labels['le'] === '+Inf' ? Infinity : Number(labels['le']), count: value }))
    .filter(({ bound }) => !Number.isNaN(bound))
    .sort((a, b) => a.bound - b.bound);
  if (buckets.length === 0 || buckets[buckets.length - 1]!.bound !== Infinity) return undefined;
  return { bounds: buckets.map((b) => b.bound), counts: buckets.map((b) => b.count) };
}
