import type { Metric, Registry } from 'prom-client';

/** One line of the exposition, as prom-client's get() returns it. */
interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
  byOutcome: Map<string | number, number>;
}

export interface RequestMetricsOptions {
  registry: Registry;
  /** Counter of requests by `labelNames` and `outcomeLabel`. */
  requests: { name: string; help: string };
  /** Histogram of request durations (seconds) by `labelNames`. */
  duration: { name: string; help: string };
  /** Labels of both metrics, e.g. route and method, or method. */
  labelNames: readonly string[];
  /** The counter's extra label, e.g. status or code. */
  outcomeLabel: string;
  buckets: readonly number[];
}

/**
 * Request metrics in the Prometheus format prom-client writes (a counter by labels and outcome, a
 * duration histogram by labels), recorded at the cost of a few array writes: prom-client validates
 * and hashes the labels of every observation, which on a call answered from memory or coalesced
 * into a group commit costs a good share of the call. The series become metric values only when
 * the registry is scraped.
 */
export class RequestMetrics {
  private readonly series = new Map<string, Series>();
  private readonly bounds: number[];

  constructor(private readonly options: RequestMetricsOptions) {
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    const { requests, duration, labelNames, outcomeLabel, registry } = options;
    const reset = () => this.series.clear();
    // Duck-typed metrics: the registry calls get() and reset() and reads name, help, type, labelNames and aggregator.
    const counter = {
      ...requests,
      type: 'counter',
      labelNames: [...labelNames, outcomeLabel],
      aggregator: 'sum',
      get: async () => this.requestValues(),
      reset,
    };
    const histogram = {
      ...duration,
      type: 'histogram',
      labelNames: [...labelNames],
      aggregator: 'sum',
      get: async () => this.durationValues(),
      reset,
    };
    registry.registerMetric(counter as unknown as Metric);
    registry.registerMetric(histogram as unknown as Metric);
  }

  /** One request: counted by outcome, and its duration observed. */
  observe(labelValues: readonly string[], outcome: string | number, seconds: number): void {
    const series = this.seriesOf(labelValues);
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]!) bucket++;
    series.buckets[bucket]!++;
    series.sum += seconds;
    series.count++;
    series.byOutcome.set(outcome, (series.byOutcome.get(outcome) ?? 0) + 1);
  }

  /** One request counted by outcome without a duration (a stream ending, say). */
  count(labelValues: readonly string[], outcome: string | number): void {
    const series = this.seriesOf(labelValues);
    series.byOutcome.set(outcome, (series.byOutcome.get(outcome) ?? 0) + 1);
  }

  private seriesOf(labelValues: readonly string[]): Series {
    const key = labelValues.length === 1 ? labelValues[0]! : labelValues.join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      const labels = Object.fromEntries(this.options.labelNames.map((name, i) => [name, labelValues[i] ?? '']));
      this.series.set(
        key,
        (series = {
          labels,
          buckets: new Float64Array(this.bounds.length + 1),
          sum: 0,
          count: 0,
          byOutcome: new Map(),
        }),
      );
    }
    return series;
  }

  private requestValues() {
    const { requests, outcomeLabel } = this.options;
    const values: Value[] = [...this.series.values()].flatMap((s) =>
      [...s.byOutcome].map(([outcome, value]) => ({ labels: { ...s.labels, [outcomeLabel]: String(outcome) }, value })),
    );
    return { name: requests.name, help: requests.help, type: 'counter', values, aggregator: 'sum' };
  }

  private durationValues() {
    const { duration } = this.options;
    const values: Value[] = [];
    for (const s of this.series.values()) {
      if (s.count === 0) continue;
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += s.buckets[i]!;
        values.push({ labels: { le: bound, ...s.labels }, value: cumulative, metricName: `${duration.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${duration.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${duration.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${duration.name}_count` });
    }
    return { name: duration.name, help: duration.help, type: 'histogram', values, aggregator: 'sum' };
  }
}
