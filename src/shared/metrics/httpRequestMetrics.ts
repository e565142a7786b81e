import type { Metric, Registry } from 'prom-client';

/** One line of the exposition, as prom-client's get() returns it. */
interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Series {
  route: string;
  method: string;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
  byStatus: Map<number, number>;
}

export interface HttpRequestMetricsOptions {
  registry: Registry;
  /** Counter of requests by route, method and status. */
  requestsName: string;
  /** Histogram of request durations (seconds) by route and method. */
  durationName: string;
  buckets: readonly number[];
}

/**
 * HTTP request metrics in the Prometheus format prom-client writes (a counter by route, method and
 * status; a duration histogram by route and method), recorded at the cost of a few array writes:
 * prom-client validates and hashes the labels of every observation, which on a route answered
 * from memory (GET /sum) costs more than the request. The series are turned into metric values
 * only when the registry is scraped.
 */
export class HttpRequestMetrics {
  private readonly series = new Map<string, Map<string, Series>>();
  private readonly bounds: number[];

  constructor(private readonly options: HttpRequestMetricsOptions) {
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    const requests = { name: options.requestsName, help: 'HTTP requests, by route, method and status.', type: 'counter', labelNames: ['route', 'method', 'status'], aggregator: 'sum', get: async () => this.requestValues(), reset: () => this.series.clear() };
    const duration = { name: options.durationName, help: 'HTTP request duration.', type: 'histogram', labelNames: ['route', 'method'], aggregator: 'sum', get: async () => this.durationValues(), reset: () => this.series.clear() };
    // Duck-typed metrics: the registry calls get() and reset() and reads name, help, type, labelNames and aggregator.
    options.registry.registerMetric(requests as unknown as Metric);
    options.registry.registerMetric(duration as unknown as Metric);
  }

  observe(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.series.get(route);
    if (!byMethod) this.series.set(route, (byMethod = new Map()));
    let series = byMethod.get(method);
    if (!series) byMethod.set(method, (series = { route, method, buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0, byStatus: new Map() }));
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]!) bucket++;
    series.buckets[bucket]!++;
    series.sum += seconds;
    series.count++;
    series.byStatus.set(status, (series.byStatus.get(status) ?? 0) + 1);
  }

  private all(): Series[] {
    return [...this.series.values()].flatMap((byMethod) => [...byMethod.values()]);
  }

  private requestValues() {
    const values: Value[] = this.all().flatMap((s) => [...s.byStatus].map(([status, value]) => ({ labels: { route: s.route, method: s.method, status: String(status) }, value })));
    return { name: this.options.requestsName, help: 'HTTP requests, by route, method and status.', type: 'counter', values, aggregator: 'sum' };
  }

  private durationValues() {
    const values: Value[] = [];
    for (const s of this.all()) {
      const labels = { route: s.route, method: s.method };
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += s.buckets[i]!;
        values.push({ labels: { le: bound, ...labels }, value: cumulative, metricName: `${this.options.durationName}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: s.count, metricName: `${this.options.durationName}_bucket` });
      values.push({ labels, value: s.sum, metricName: `${this.options.durationName}_sum` });
      values.push({ labels, value: s.count, metricName: `${this.options.durationName}_count` });
    }
    return { name: this.options.durationName, help: 'HTTP request duration.', type: 'histogram', values, aggregator: 'sum' };
  }
}
