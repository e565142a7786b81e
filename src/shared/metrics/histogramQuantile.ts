/** A cumulative histogram as Prometheus exposes it: ascending upper bounds, the last one `Infinity`. */
export interface CumulativeHistogram {
  /** Upper bounds (`le`), ascending; the last is `Infinity`. */
  bounds: number[];
  /** Observations at or below each bound (cumulative), same length as `bounds`. */
  counts: number[];
}

/**
 * The q-quantile (0 ≤ q ≤ 1) estimated as Prometheus' `histogram_quantile` does: find the bucket
 * holding rank q·total and interpolate linearly inside it (the first bucket starts at 0). A rank in
 * the `+Inf` bucket answers the highest finite bound. Undefined when the histogram is empty.
 */
export function histogramQuantile(q: number, histogram: CumulativeHistogram): number | undefined {
  const { bounds, counts } = histogram;
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0 || bounds.length === 0) return undefined;
  const rank = Math.min(1, Math.max(0, q)) * total;
  const index = counts.findIndex((count) => count >= rank);
  const upper = bounds[index]!;
  if (upper === Infinity) return bounds.length > 1 ? bounds[bounds.length - 2] : undefined;
  const below = index === 0 ? 0 : counts[index - 1]!;
  const lower = index === 0 ? Math.min(0, upper) : bounds[index - 1]!;
  const inBucket = counts[index]! - below;
  return inBucket === 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket);
}

/**
 * Observations between two snapshots of one histogram (`later` minus `earlier`, bucket by bucket).
 * Buckets that differ, or a counter that went backwards (a restart), yield `later` unchanged.
 */
export function histogramDelta(
  later: CumulativeHistogram,
  earlier: CumulativeHistogram | undefined,
): CumulativeHistogram {
  if (!earlier || earlier.bounds.length !== later.bounds.length || earlier.bounds.some((b, i) => b !== later.bounds[i]))
    return later;
  const counts = later.counts.map((count, i) => count - earlier.counts[i]!);
  return counts.some((count) => count < 0) ? later : { bounds: later.bounds, counts };
}

/** Total observations of a cumulative histogram. */
export function histogramCount(histogram: CumulativeHistogram): number {
  return histogram.counts[histogram.counts.length - 1] ?? 0;
}
