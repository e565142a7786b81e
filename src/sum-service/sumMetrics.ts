import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { RequestMetrics } from '../shared/metrics/requestMetrics.js';
import { BATCH_SIZE_BUCKETS, LABEL, LATENCY_BUCKETS_SECONDS, METRIC } from '../shared/metrics/metricNames.js';
import { createWatchMetrics } from '../shared/metrics/watchMetrics.js';

export type SumMetrics = ReturnType<typeof createSumMetrics>;

export function createSumMetrics(registry: Registry) {
  return {
    applied: new Counter({ name: METRIC.eventsApplied, help: 'Events applied to the sum.', registers: [registry] }),
    duplicates: new Counter({
      name: METRIC.duplicatesSkipped,
      help: 'Events skipped because they were applied before.',
      registers: [registry],
    }),
    ignored: new Counter({
      name: METRIC.eventsIgnored,
      help: 'Messages understood but not additions (tombstones, update/delete change events).',
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: METRIC.deadLettered,
      help: 'Messages sent to the dead-letter queue, by reason.',
      labelNames: [LABEL.reason],
      registers: [registry],
    }),
    applyDuration: new Histogram({
      name: METRIC.applyDuration,
      help: 'Duration of one apply transaction.',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    applyBatchSize: new Histogram({
      name: METRIC.applyBatchSize,
      help: 'Messages per apply transaction.',
      buckets: BATCH_SIZE_BUCKETS,
      registers: [registry],
    }),
    applyRetries: new Counter({
      name: METRIC.applyRetries,
      help: 'Apply transactions retried after a database error.',
      registers: [registry],
    }),
    inboxPruned: new Counter({
      name: METRIC.inboxPruned,
      help: 'Inbox rows deleted because they fell behind the deduplication horizon.',
      registers: [registry],
    }),
    inboxPruneFailures: new Counter({
      name: METRIC.inboxPruneFailures,
      help: 'Inbox prune rounds that failed (retried at the next interval).',
      registers: [registry],
    }),
    inboxHorizon: new Gauge({
      name: METRIC.inboxHorizon,
      help: 'The deduplication horizon (unix seconds): events accepted before it are refused.',
      registers: [registry],
    }),
    inboxRetention: new Gauge({
      name: METRIC.inboxRetention,
      help: 'INBOX_RETENTION_SECONDS: how long inbox rows are kept (0: forever).',
      registers: [registry],
    }),
    inboxEventAge: new Gauge({
      name: METRIC.inboxEventAge,
      help: 'Age of the oldest event in the last applied batch, by its acceptedAt; near the retention, events are about to be refused.',
      registers: [registry],
    }),
    endToEnd: new Histogram({
      name: METRIC.endToEndLatency,
      help: 'From Add commit to the sum change committed.',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    queueTime: new Histogram({
      name: METRIC.queueTime,
      help: 'From the relay publishing an event to the sum-service receiving it.',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    http: new RequestMetrics({
      registry,
      requests: { name: METRIC.httpRequests, help: 'HTTP requests, by route, method and status.' },
      duration: { name: METRIC.httpRequestDuration, help: 'HTTP request duration.' },
      labelNames: [LABEL.route, LABEL.method],
      outcomeLabel: LABEL.status,
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    currentSum: new Gauge({
      name: METRIC.currentSum,
      help: 'The running sum as last read (a float: exact value at GET /sum).',
      registers: [registry],
    }),
    watch: createWatchMetrics(registry, 'sse'),
  };
}
