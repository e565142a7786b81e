import { describe, expect, it } from 'vitest';
import { BenchOptionsError, parseBenchOptions, USAGE } from '../../bench/benchOptions.js';
import {
  bucketQuantile,
  bucketsBetween,
  histogramBuckets,
  metricValue,
  shareWithin,
} from '../../bench/scrapeMetrics.js';

const exposition = (counts: number[]): string =>
  [
    '# HELP sumstream_end_to_end_latency_seconds x',
    '# TYPE sumstream_end_to_end_latency_seconds histogram',
    ...[0.01, 0.025, 0.05, 0.1].map(
      (le, i) => `sumstream_end_to_end_latency_seconds_bucket{le="${le}",service="sum-service"} ${counts[i]}`,
    ),
    `sumstream_end_to_end_latency_seconds_bucket{le="+Inf",service="sum-service"} ${counts[4]}`,
    'sumstream_events_applied_total{service="sum-service"} 7',
    'sumstream_events_applied_total_extra{service="sum-service"} 100',
    'sumstream_http_requests_total{route="/sum",status="200"} 3',
    'sumstream_http_requests_total{route="/sum",status="503"} 2',
  ].join('\n');

describe('bench metric reading', () => {
  it('sums a metric over its label sets and ignores metrics that merely share its prefix', () => {
    expect(metricValue(exposition([0, 0, 0, 0, 0]), 'sumstream_events_applied_total')).toBe(7);
    expect(metricValue(exposition([0, 0, 0, 0, 0]), 'sumstream_http_requests_total')).toBe(5);
  });

  it('takes quantiles from the observations between two scrapes, interpolating inside a bucket', () => {
    const before = histogramBuckets(exposition([10, 10, 10, 10, 10]), 'sumstream_end_to_end_latency_seconds');
    // 100 new observations: 50 up to 10 ms, 40 in (10, 25], 9 in (25, 50], 1 in (50, 100].
    const after = histogramBuckets(exposition([60, 100, 109, 110, 110]), 'sumstream_end_to_end_latency_seconds');
    const between = bucketsBetween(before, after);
    expect(between.get(Number.POSITIVE_INFINITY)).toBe(100);
    expect(bucketQuantile(between, 0.5)).toBeCloseTo(0.01, 6);
    expect(bucketQuantile(between, 0.9)).toBeCloseTo(0.025, 6);
    expect(bucketQuantile(between, 0.99)).toBeCloseTo(0.05, 6);
    expect(bucketQuantile(between, 0.995)).toBeCloseTo(0.075, 6);
    expect(shareWithin(between, 0.05)).toBeCloseTo(0.99, 6);
    expect(shareWithin(between, 0.025)).toBeCloseTo(0.9, 6);
  });

  it('has no quantile without observations', () => {
    const none = histogramBuckets(exposition([0, 0, 0, 0, 0]), 'sumstream_end_to_end_latency_seconds');
    expect(bucketQuantile(none, 0.99)).toBeNaN();
  });
});

describe('bench options', () => {
  it('defaults to every benchmark at full size, and --quick shrinks the runs', () => {
    const full = parseBenchOptions([]);
    const quick = parseBenchOptions(['--quick', '--only', 'sum,cdc']);
    expect(full).toMatchObject({
      only: ['sum', 'add', 'pipeline', 'cdc'],
      heldConnections: 15_000,
      durationSeconds: 15,
      rounds: 2,
      debezium: true,
    });
    expect(quick).toMatchObject({ only: ['sum', 'cdc'], heldConnections: 2_000, durationSeconds: 5, rounds: 1 });
  });

  it('names the benchmarks it knows when given another', () => {
    expect(() => parseBenchOptions(['--only', 'sum,disk'])).toThrow(
      /unknown benchmark disk; choose from sum, add, pipeline, cdc/,
    );
    expect(() => parseBenchOptions(['--rounds', '0'])).toThrow(/--rounds "0" must be a whole number >= 1/);
    expect(() => parseBenchOptions(['--rounds', 'two'])).toThrow('--rounds "two" is not a whole number');
    expect(() => parseBenchOptions(['--bogus'])).toThrow(BenchOptionsError);
    expect(() => parseBenchOptions(['--bogus'])).toThrow(/Unknown option '--bogus'/);
  });

  it('answers -h with help, and a given flag wins over --quick', () => {
    expect(parseBenchOptions(['-h'])).toBe('help');
    expect(parseBenchOptions(['--quick', '--rounds', '3', '--no-debezium', '--out', 'x'])).toMatchObject({
      rounds: 3,
      durationSeconds: 5,
      debezium: false,
      outDir: 'x',
    });
    for (const flag of [
      '--only',
      '--quick',
      '--duration',
      '--rounds',
      '--held-connections',
      '--hold',
      '--add-concurrency',
      '--cdc-events',
      '--no-debezium',
      '--out',
    ])
      expect(USAGE, flag).toContain(`  ${flag}`);
  });
});
