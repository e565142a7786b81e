import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BATCH_SIZE_BUCKETS, LATENCY_BUCKETS_SECONDS, METRIC } from '../shared/metrics/metricNames.js';

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
  };
}
