import {
  type CumulativeHistogram,
  histogramCount,
  histogramDelta,
  histogramQuantile,
} from '../src/shared/metrics/histogramQuantile.js';

/** Reads a Prometheus text exposition: the sum of a metric over its label sets, and histogram buckets. */
export async function scrapeMetrics(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.text();
}

/** Sum over every series of `name` (exact name, any labels). */
export function metricValue(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Cumulative bucket counts of histogram `name`, summed over label sets, by upper bound (seconds). */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return buckets;
}

function cumulative(buckets: Map<number, number>): CumulativeHistogram {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  return { bounds, counts: bounds.map((bound) => buckets.get(bound)!) };
}

/** Buckets of `after` minus those of `before`: the observations made in between. */
export function bucketsBetween(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  const delta = histogramDelta(cumulative(after), cumulative(before));
  return new Map(delta.bounds.map((bound, i) => [bound, delta.counts[i]!]));
}

/** Quantile as PromQL's histogram_quantile computes it (shared with the status page); NaN without observations. */
export function bucketQuantile(buckets: Map<number, number>, q: number): number {
  return histogramQuantile(q, cumulative(buckets)) ?? Number.NaN;
}

/** Share of the observations at or below `seconds`: exact when `seconds` is a bucket bound. */
export function shareWithin(buckets: Map<number, number>, seconds: number): number {
  const total = histogramCount(cumulative(buckets));
  return total === 0 ? Number.NaN : (buckets.get(seconds) ?? Number.NaN) / total;
}
