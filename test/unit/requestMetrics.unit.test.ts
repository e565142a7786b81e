import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestMetrics } from '../../src/shared/metrics/requestMetrics.js';
import { LATENCY_BUCKETS_SECONDS } from '../../src/shared/metrics/metricNames.js';

describe('RequestMetrics', () => {
  it('writes exactly what prom-client writes for the same requests', async () => {
    const ours = new Registry();
    ours.setDefaultLabels({ service: 'sum-service' });
    const reference = new Registry();
    reference.setDefaultLabels({ service: 'sum-service' });
    const metrics = new RequestMetrics({
      registry: ours,
      requests: { name: 'x_http_requests_total', help: 'HTTP requests, by route, method and status.' },
      duration: { name: 'x_http_request_duration_seconds', help: 'HTTP request duration.' },
      labelNames: ['route', 'method'],
      outcomeLabel: 'status',
      buckets: LATENCY_BUCKETS_SECONDS,
    });
    const counter = new Counter({
      name: 'x_http_requests_total',
      help: 'HTTP requests, by route, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers: [reference],
    });
    const histogram = new Histogram({
      name: 'x_http_request_duration_seconds',
      help: 'HTTP request duration.',
      labelNames: ['route', 'method'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [reference],
    });

    // Durations on bucket bounds, between them, below the first and above the last.
    const requests: [string, string, number, number][] = [
      ['/sum', 'GET', 200, 0.00005],
      ['/sum', 'GET', 200, 0.001],
      ['/sum', 'GET', 200, 0.0011],
      ['/sum', 'GET', 503, 0.3],
      ['/sum?after', 'GET', 504, 5],
      ['unmatched', 'POST', 404, 12],
      ['/metrics', 'GET', 200, 0.01],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [route, method, status, seconds] of requests) {
        metrics.observe([route, method], status, seconds);
        counter.inc({ route, method, status: String(status) });
        histogram.observe({ route, method }, seconds);
      }
    }
    // Label order inside the braces carries no meaning in the exposition format.
    const normal = (line: string): string =>
      line.replace(/\{([^}]*)\}/, (_m, labels: string) => `{${labels.split(',').sort().join(',')}}`);
    // A stream that ends is counted without a duration.
    metrics.count(['/sum/stream', 'GET'], 200);
    counter.inc({ route: '/sum/stream', method: 'GET', status: '200' });
    const sorted = (text: string): string[] => text.split('\n').filter(Boolean).map(normal).sort();
    expect(sorted(await ours.metrics())).toEqual(sorted(await reference.metrics()));

    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('route=');
  });
});
