import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HIGHEST_TRACKABLE_MICROS, LatencyHistogram } from '../../src/load/latencyHistogram.js';

/** Nearest-rank percentile of a sorted array. */
function exactPercentile(sorted: number[], percent: number): number {
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length - 1e-9));
  return sorted[rank - 1]!;
}

describe('LatencyHistogram', () => {
  it('summarises an empty histogram as zeros', () => {
    expect(new LatencyHistogram().summary()).toEqual({
      count: 0,
      min: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p95: 0,
      p99: 0,
      p999: 0,
      max: 0,
    });
  });

  it('counts small values exactly', () => {
    const histogram = new LatencyHistogram();
    for (let value = 1; value <= 1000; value++) histogram.record(value);
    expect(histogram.summary()).toEqual({
      count: 1000,
      min: 1,
      mean: 500.5,
      p50: 500,
      p90: 900,
      p95: 950,
      p99: 990,
      p999: 999,
      max: 1000,
    });
  });

  it('keeps percentiles of 1..1,000,000 µs within 0.1 %', () => {
    const histogram = new LatencyHistogram(11);
    for (let value = 1; value <= 1_000_000; value++) histogram.record(value);
    for (const [percent, exact] of [
      [50, 500_000],
      [90, 900_000],
      [99, 990_000],
      [99.9, 999_000],
    ] as const) {
      const reported = histogram.percentile(percent);
      expect(Math.abs(reported - exact) / exact).toBeLessThanOrEqual(1 / 1024);
    }
    expect(histogram.percentile(100)).toBe(1_000_000);
    expect(histogram.percentile(0)).toBe(1);
  });

  it('reports any percentile within its relative error of the exact nearest-rank value (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(1, 25, 50, 90, 95, 99, 99.9),
        fc.integer({ min: 4, max: 12 }),
        (values, percent, bits) => {
          const histogram = new LatencyHistogram(bits);
          for (const value of values) histogram.record(value);
          const exact = exactPercentile(
            [...values].sort((x, y) => x - y),
            percent,
          );
          const reported = histogram.percentile(percent);
          // The bucket holding the exact value spans at most exact × 2^-(bits-1); the reported value is its top.
          expect(reported).toBeGreaterThanOrEqual(exact);
          expect(reported - exact).toBeLessThanOrEqual(Math.max(0, exact * 2 ** -(bits - 1)));
        },
      ),
    );
  });

  it('never reports below min or above max', () => {
    const histogram = new LatencyHistogram(4);
    histogram.record(1_000_003);
    expect(histogram.summary()).toMatchObject({ min: 1_000_003, p50: 1_000_003, p999: 1_000_003, max: 1_000_003 });
  });

  it('merges two histograms as if every value went into one', () => {
    const one = new LatencyHistogram();
    const two = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 0; i < 5000; i++) {
      const value = Math.floor(Math.random() * 2_000_000);
      (i % 2 === 0 ? one : two).record(value);
      all.record(value);
    }
    one.merge(two);
    expect(one.summary()).toEqual(all.summary());
    expect(() => one.merge(new LatencyHistogram(8))).toThrow(/cannot merge/);
  });

  it('rounds fractions, counts negatives as 0, ignores NaN, clamps values past an hour', () => {
    const histogram = new LatencyHistogram();
    histogram.record(2.6);
    histogram.record(-5);
    histogram.record(Number.NaN);
    histogram.record(10 * HIGHEST_TRACKABLE_MICROS);
    expect(histogram.count).toBe(3);
    expect(histogram.summary()).toMatchObject({ min: 0, max: HIGHEST_TRACKABLE_MICROS });
    expect(histogram.percentile(50)).toBe(3);
  });

  it('starts again from empty after reset', () => {
    const histogram = new LatencyHistogram();
    histogram.record(5_000_000);
    histogram.reset();
    histogram.record(7);
    expect(histogram.summary()).toMatchObject({ count: 1, min: 7, max: 7, p99: 7 });
  });
});

describe('LatencyHistogram.percentiles', () => {
  it('answers several percentiles in one pass exactly as percentile() does, in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50_000_000 }), { maxLength: 200 }), (values) => {
        const histogram = new LatencyHistogram(7);
        for (const value of values) histogram.record(value);
        const percents = [99.9, 0, 50, 100, 1, 90, 99, 50];
        expect(histogram.percentiles(percents)).toEqual(percents.map((percent) => histogram.percentile(percent)));
      }),
    );
  });
});
