/** Every metric name and label key SumStream exports, defined once. Base units, `_total` counters, histograms. */
export const METRIC = {
  grpcRequests: 'sumstream_grpc_requests_total',
  grpcRequestDuration: 'sumstream_grpc_request_duration_seconds',
  addTransactionDuration: 'sumstream_add_transaction_duration_seconds',
  addIdempotentReplays: 'sumstream_add_idempotent_replays_total',
  additionsAccepted: 'sumstream_additions_accepted_total',
  addBatchSize: 'sumstream_add_batch_size',
  ledgerPartitions: 'sumstream_ledger_partitions',
  ledgerPartitionsExpired: 'sumstream_ledger_partitions_expired_total',
  ledgerDefaultRows: 'sumstream_ledger_default_partition_rows',
  ledgerMaintenanceFailures: 'sumstream_ledger_maintenance_failures_total',
  idempotencyKeysPruned: 'sumstream_idempotency_keys_pruned_total',

  relayEventsPublished: 'sumstream_relay_events_published_total',
  relayConfirmDuration: 'sumstream_relay_publish_confirm_duration_seconds',
  relayBatchSize: 'sumstream_relay_batch_size',
  relaySlotLag: 'sumstream_relay_slot_lag_bytes',
  relaySecondsSinceConfirm: 'sumstream_relay_seconds_since_last_confirm',
  relayReconnects: 'sumstream_relay_reconnects_total',
  relayActive: 'sumstream_relay_active',
  relaySlotLost: 'sumstream_relay_slot_lost',
  relayPublishRejected: 'sumstream_relay_publish_rejected_total',
  relayBackpressure: 'sumstream_relay_backpressure',
  queueMaxLength: 'sumstream_queue_max_length',
  relaySlotRetainedWal: 'sumstream_relay_slot_retained_wal_bytes',
  relaySlotSafeWal: 'sumstream_relay_slot_safe_wal_bytes',
  relaySlotWalLimit: 'sumstream_relay_slot_wal_limit_bytes',

  eventsApplied: 'sumstream_events_applied_total',
  duplicatesSkipped: 'sumstream_duplicates_skipped_total',
  deadLettered: 'sumstream_dead_lettered_total',
  applyDuration: 'sumstream_apply_transaction_duration_seconds',
  endToEndLatency: 'sumstream_end_to_end_latency_seconds',
  queueTime: 'sumstream_queue_time_seconds',
  eventsIgnored: 'sumstream_events_ignored_total',
  applyBatchSize: 'sumstream_apply_batch_size',
  applyRetries: 'sumstream_apply_retries_total',
  inboxPruned: 'sumstream_inbox_pruned_total',
  inboxHorizon: 'sumstream_inbox_horizon_timestamp_seconds',
  inboxRetention: 'sumstream_inbox_retention_seconds',
  inboxEventAge: 'sumstream_inbox_event_age_seconds',
  inboxPruneFailures: 'sumstream_inbox_prune_failures_total',
  httpRequests: 'sumstream_http_requests_total',
  httpRequestDuration: 'sumstream_http_request_duration_seconds',
  currentSum: 'sumstream_sum',

  watchers: 'sumstream_watchers',
  watchUpdatesSent: 'sumstream_watch_updates_sent_total',
  watchUpdatesSkipped: 'sumstream_watch_updates_skipped_total',
  watchersDropped: 'sumstream_watchers_dropped_total',
} as const;

export const LABEL = {
  service: 'service',
  method: 'method',
  code: 'code',
  route: 'route',
  status: 'status',
  reason: 'reason',
  transport: 'transport',
  queue: 'queue',
} as const;

/** Buckets from 100 µs to 10 s: sub-millisecond RPCs and multi-second stalls both resolve. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Buckets for batch sizes (events per transaction or per publish batch). */
export const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
