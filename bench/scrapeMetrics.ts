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

/** Buckets of `after` minus those of `before`: the observations made in between. */
export function bucketsBetween(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([bound, count]) => [bound, count - (before.get(bound) ?? 0)]));
}

/**
 * Quantile from cumulative buckets, interpolated linearly inside the bucket it falls in (what
 * PromQL's histogram_quantile does). Also the share of observations at or below `within` seconds,
 * which is exact when `within` is a bucket bound.
 */
export function bucketQuantile(buckets: Map<number, number>, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lower;
      return lower + (bound - lower) * ((rank - below) / Math.max(count - below, 1));
    }
    lower = bound;
    below = count;
  }
  return lower;
}

export function shareWithin(buckets: Map<number, number>, seconds: number): number {
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  return total === 0 ? Number.NaN : (buckets.get(seconds) ?? Number.NaN) / total;
}
