/**
 * An HDR-style log-linear latency histogram (pure, bounded memory).
 *
 * Values are whole microseconds. Values below 2^bits are counted exactly; above, each power of two
 * is split into 2^(bits-1) equal buckets, so a reported percentile is within a relative error of
 * 2^-(bits-1) of the true one (bits = 11: 0.1 %). Memory grows with the largest value recorded,
 * not with the number of samples: about 2^(bits-1) counters per power of two (11 bits, up to an hour:
 * ~24,000 counters).
 */

export interface LatencySummary {
  count: number;
  /** Microseconds. All zero when count is 0. */
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** Largest value kept: one hour. Larger values are clamped to it (and still counted). */
export const HIGHEST_TRACKABLE_MICROS = 3_600_000_000;

export class LatencyHistogram {
  private counts: Float64Array;
  private total = 0;
  private sum = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = 0;
  private readonly exactLimit: number;
  private readonly halfBuckets: number;

  constructor(readonly bits = 11) {
    if (!Number.isInteger(bits) || bits < 2 || bits > 20)
      throw new RangeError(`bits must be an integer 2-20, got ${bits}`);
    this.exactLimit = 2 ** bits;
    this.halfBuckets = 2 ** (bits - 1);
    this.counts = new Float64Array(this.exactLimit);
  }

  get count(): number {
    return this.total;
  }

  /** Bucket index of a non-negative integer value. */
  private indexOf(value: number): number {
    if (value < this.exactLimit) return value;
    const magnitude = Math.floor(Math.log2(value));
    // Math.log2 may round up just below a power of two; correct it.
    const m = 2 ** magnitude > value ? magnitude - 1 : magnitude;
    const shift = m - this.bits + 1;
    const top = Math.floor(value / 2 ** shift); // in [2^(bits-1), 2^bits)
    return this.exactLimit + (shift - 1) * this.halfBuckets + (top - this.halfBuckets);
  }

  /** Lowest and highest value that fall in bucket `index`. */
  private boundsOf(index: number): [number, number] {
    if (index < this.exactLimit) return [index, index];
    const offset = index - this.exactLimit;
    const shift = Math.floor(offset / this.halfBuckets) + 1;
    const top = (offset % this.halfBuckets) + this.halfBuckets;
    const low = top * 2 ** shift;
    return [low, low + 2 ** shift - 1];
  }

  /** Records a latency in microseconds (fractions are rounded, negatives count as 0). */
  record(micros: number, times = 1): void {
    if (!Number.isFinite(micros) || times <= 0) return;
    const value = Math.min(HIGHEST_TRACKABLE_MICROS, Math.max(0, Math.round(micros)));
    const index = this.indexOf(value);
    if (index >= this.counts.length) {
      let size = this.counts.length;
      while (size <= index) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.counts);
      this.counts = grown;
    }
    this.counts[index]! += times;
    this.total += times;
    this.sum += value * times;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  /**
   * The value at or below which `percent` % of the recorded values lie (nearest rank), as the highest
   * value of its bucket, kept within [min, max]. 0 when empty.
   */
  percentile(percent: number): number {
    if (this.total === 0) return 0;
    if (percent <= 0) return this.minValue;
    if (percent >= 100) return this.maxValue;
    // (the small epsilon keeps 99.9 % of 1000 at rank 999 despite floating point)
    const rank = Math.max(1, Math.ceil((percent / 100) * this.total - 1e-9));
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) {
        const [, high] = this.boundsOf(index);
        return Math.min(this.maxValue, Math.max(this.minValue, high));
      }
    }
    return this.maxValue;
  }

  /** Adds every value of `other` (same `bits`) to this one. */
  merge(other: LatencyHistogram): void {
    if (other.bits !== this.bits)
      throw new RangeError(`cannot merge histograms of ${other.bits} and ${this.bits} bits`);
    if (other.total === 0) return;
    if (other.counts.length > this.counts.length) {
      const grown = new Float64Array(other.counts.length);
      grown.set(this.counts);
      this.counts = grown;
    }
    for (let index = 0; index < other.counts.length; index++) this.counts[index]! += other.counts[index]!;
    this.total += other.total;
    this.sum += other.sum;
    this.minValue = Math.min(this.minValue, other.minValue);
    this.maxValue = Math.max(this.maxValue, other.maxValue);
  }

  reset(): void {
    this.counts = new Float64Array(this.exactLimit);
    this.total = 0;
    this.sum = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = 0;
  }

  /** Several percentiles in one pass over the buckets (each as `percentile` would answer it). */
  percentiles(percents: readonly number[]): number[] {
    if (this.total === 0) return percents.map(() => 0);
    const order = percents.map((percent, i) => ({ percent, i })).sort((x, y) => x.percent - y.percent);
    const result = new Array<number>(percents.length).fill(this.maxValue);
    let next = 0;
    while (next < order.length && order[next]!.percent <= 0) result[order[next++]!.i] = this.minValue;
    let seen = 0;
    for (let index = 0; index < this.counts.length && next < order.length; index++) {
      const count = this.counts[index]!;
      if (count === 0) continue;
      seen += count;
      while (
        next < order.length &&
        order[next]!.percent < 100 &&
        seen >= Math.max(1, Math.ceil((order[next]!.percent / 100) * this.total - 1e-9))
      ) {
        const [, high] = this.boundsOf(index);
        result[order[next++]!.i] = Math.min(this.maxValue, Math.max(this.minValue, high));
      }
    }
    return result;
  }

  summary(): LatencySummary {
    if (this.total === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
    const [p50, p90, p95, p99, p999] = this.percentiles([50, 90, 95, 99, 99.9]) as [
      number,
      number,
      number,
      number,
      number,
    ];
    return {
      count: this.total,
      min: this.minValue,
      mean: this.sum / this.total,
      p50,
      p90,
      p95,
      p99,
      p999,
      max: this.maxValue,
    };
  }
}
