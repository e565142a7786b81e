import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { RequestMetrics } from '../shared/metrics/requestMetrics.js';
import { BATCH_SIZE_BUCKETS, LABEL, LATENCY_BUCKETS_SECONDS, METRIC } from '../shared/metrics/metricNames.js';
import { createWatchMetrics } from '../shared/metrics/watchMetrics.js';

export type AddMetrics = ReturnType<typeof createAddMetrics>;

export function createAddMetrics(registry: Registry) {
  return {
    grpc: new RequestMetrics({
      registry,
      requests: { name: METRIC.grpcRequests, help: 'gRPC requests handled, by method and status code.' },
      duration: { name: METRIC.grpcRequestDuration, help: 'gRPC request duration.' },
      labelNames: [LABEL.method],
      outcomeLabel: LABEL.code,
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    transactionDuration: new Histogram({
      name: METRIC.addTransactionDuration,
      help: 'Duration of one group-commit transaction (ledger + outbox).',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: METRIC.addBatchSize,
      help: 'Additions per group-commit transaction.',
      buckets: BATCH_SIZE_BUCKETS,
      registers: [registry],
    }),
    accepted: new Counter({
      name: METRIC.additionsAccepted,
      help: 'Additions newly recorded (ledger + outbox committed); replays excluded.',
      registers: [registry],
    }),
    idempotentReplays: new Counter({
      name: METRIC.addIdempotentReplays,
      help: 'Adds answered from an earlier request with the same idempotency key.',
      registers: [registry],
    }),
    ledgerPartitions: new Gauge({
      name: METRIC.ledgerPartitions,
      help: 'Time partitions of the ledger (attached).',
      registers: [registry],
    }),
    ledgerPartitionsExpired: new Counter({
      name: METRIC.ledgerPartitionsExpired,
      help: 'Ledger partitions detached or dropped past LEDGER_RETENTION_SECONDS.',
      registers: [registry],
    }),
    ledgerDefaultRows: new Gauge({
      name: METRIC.ledgerDefaultRows,
      help: 'Ledger rows in the default partition (0 unless maintenance fell behind; counted up to 100000).',
      registers: [registry],
    }),
    ledgerMaintenanceFailures: new Counter({
      name: METRIC.ledgerMaintenanceFailures,
      help: 'Ledger maintenance rounds that failed (retried at the next interval).',
      registers: [registry],
    }),
    idempotencyKeysPruned: new Counter({
      name: METRIC.idempotencyKeysPruned,
      help: 'Idempotency keys deleted past IDEMPOTENCY_KEY_RETENTION_SECONDS.',
      registers: [registry],
    }),
    watch: createWatchMetrics(registry, 'grpc'),
  };
}
