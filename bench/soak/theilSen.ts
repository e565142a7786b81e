/**
 * Robust trend of a time series: the Theil–Sen estimator, the median of the slopes between every
 * pair of points. Half the pairs would have to be outliers to move it far, so a GC sawtooth, a
 * restart spike or a queue burst after a fault barely shifts it, where least squares would follow
 * them. Pure.
 */

export interface Point {
  /** Seconds since the start of the run. */
  t: number;
  v: number;
}

/** Median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface TheilSen {
  /** Units per second. */
  slope: number;
  /** Sen's 95 % confidence interval of the slope (distribution-free, from Kendall's S). */
  low: number;
  high: number;
  pairs: number;
}

/**
 * Theil–Sen slope (units per second) pooled over `groups`: the median of the pairwise slopes taken
 * within each group only, never across two. A group is one process incarnation: its memory starts
 * again from scratch after a restart, so a pair straddling the restart would measure the restart,
 * not a trend. With one group this is the plain Theil–Sen slope. Undefined when no group holds two
 * points at different times.
 *
 * The confidence interval is Sen's (1968): the sorted pairwise slopes between the ranks
 * (N ∓ C) / 2, C = 1.96 √Var(S), with Var(S) = Σ n(n−1)(2n+5)/18 over the groups (Kendall's S
 * summed over strata; ties are not corrected for, which only widens it).
 */
export function theilSen(groups: readonly (readonly Point[])[]): TheilSen | undefined {
  const slopes = pairwiseSlopes(groups);
  if (slopes.length === 0) return undefined;
  slopes.sort((x, y) => x - y);
  const n = slopes.length;
  const variance = groups.reduce((sum, g) => sum + (g.length * (g.length - 1) * (2 * g.length + 5)) / 18, 0);
  const c = 1.96 * Math.sqrt(variance);
  const lowRank = Math.max(1, Math.round((n - c) / 2));
  const highRank = Math.min(n, Math.round((n + c) / 2) + 1);
  return { slope: median(slopes), low: slopes[lowRank - 1]!, high: slopes[highRank - 1]!, pairs: n };
}

/** The slope alone (theilSen(...).slope). */
export function theilSenSlope(groups: readonly (readonly Point[])[]): number | undefined {
  return theilSen(groups)?.slope;
}

function pairwiseSlopes(groups: readonly (readonly Point[])[]): number[] {
  const slopes: number[] = [];
  for (const group of groups) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const dt = group[j]!.t - group[i]!.t;
        if (dt !== 0) slopes.push((group[j]!.v - group[i]!.v) / dt);
      }
    }
  }
  return slopes;
}
