import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BATCH_SIZE_BUCKETS, LABEL, LATENCY_BUCKETS_SECONDS, METRIC } from '../shared/metrics/metricNames.js';

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;

export function createRelayMetrics(registry: Registry) {
  return {
    published: new Counter({
      name: METRIC.relayEventsPublished,
      help: 'Outbox events published and confirmed by RabbitMQ.',
      registers: [registry],
    }),
    confirmDuration: new Histogram({
      name: METRIC.relayConfirmDuration,
      help: 'From publish to broker confirm.',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: METRIC.relayBatchSize,
      help: 'Events per replicated transaction.',
      buckets: BATCH_SIZE_BUCKETS,
      registers: [registry],
    }),
    slotLag: new Gauge({
      name: METRIC.relaySlotLag,
      help: 'WAL bytes between the server and the slot confirmed position.',
      registers: [registry],
    }),
    secondsSinceConfirm: new Gauge({
      name: METRIC.relaySecondsSinceConfirm,
      help: 'Seconds since the relay last confirmed an LSN.',
      registers: [registry],
    }),
    reconnects: new Counter({
      name: METRIC.relayReconnects,
      help: 'Replication sessions restarted after a failure.',
      registers: [registry],
    }),
    active: new Gauge({
      name: METRIC.relayActive,
      help: '1 while this relay is the active leader, 0 while standby.',
      registers: [registry],
    }),
    slotLost: new Gauge({
      name: METRIC.relaySlotLost,
      help: '1 while the active relay refuses to stream because its replication slot was lost (run `sumstream cdc resync`), else 0.',
      registers: [registry],
    }),
    publishRejected: new Counter({
      name: METRIC.relayPublishRejected,
      help: 'Publishes RabbitMQ refused (nacked), e.g. at the queue length bound; each is retried until confirmed.',
      registers: [registry],
    }),
    backpressure: new Gauge({
      name: METRIC.relayBackpressure,
      help: '1 while the relay holds the replication stream back because RabbitMQ refuses publishes (queue full), else 0.',
      registers: [registry],
    }),
    queueMaxLength: new Gauge({
      name: METRIC.queueMaxLength,
      help: 'The length bound the relay declares on the queue it publishes to (SUMSTREAM_QUEUE_MAX_LENGTH, x-max-length).',
      labelNames: [LABEL.queue],
      registers: [registry],
    }),
    slotRetainedWal: new Gauge({
      name: METRIC.relaySlotRetainedWal,
      help: 'WAL bytes the replication slot keeps on disk (current LSN minus restart_lsn); 0 once invalidated.',
      registers: [registry],
    }),
    slotSafeWal: new Gauge({
      name: METRIC.relaySlotSafeWal,
      help: 'WAL bytes that may still be written before PostgreSQL invalidates the slot (safe_wal_size): at or below 0 the next checkpoint invalidates it, 0 once invalidated, +Inf without max_slot_wal_keep_size.',
      registers: [registry],
    }),
    slotWalLimit: new Gauge({
      name: METRIC.relaySlotWalLimit,
      help: "The server's max_slot_wal_keep_size in bytes, -1 when unlimited.",
      registers: [registry],
    }),
  };
}
