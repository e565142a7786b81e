import { Counter, Gauge, type Registry } from 'prom-client';
import { LABEL, METRIC } from './metricNames.js';

/** How watchers follow the sum: gRPC `WatchSum` (add-service) or Server-Sent Events `GET /sum/stream` (sum-service). */
export type WatchTransport = 'grpc' | 'sse';

export type WatchMetrics = ReturnType<typeof createWatchMetrics>;

/** Live-sum watcher metrics of one process, by transport; the process's own transport starts at 0 so the series exist. */
export function createWatchMetrics(registry: Registry, transport: WatchTransport) {
  const labels = { [LABEL.transport]: transport };
  const watchers = new Gauge({
    name: METRIC.watchers,
    help: 'Watchers following the live sum now.',
    labelNames: [LABEL.transport],
    registers: [registry],
  });
  const sent = new Counter({
    name: METRIC.watchUpdatesSent,
    help: 'Sum updates written to watchers.',
    labelNames: [LABEL.transport],
    registers: [registry],
  });
  const skipped = new Counter({
    name: METRIC.watchUpdatesSkipped,
    help: 'Sum updates a watcher never got because a newer one replaced them (its interval, or its buffer was full).',
    labelNames: [LABEL.transport],
    registers: [registry],
  });
  const dropped = new Counter({
    name: METRIC.watchersDropped,
    help: 'Watchers disconnected because they stopped reading (blocked longer than WATCH_STALL_TIMEOUT_MS).',
    labelNames: [LABEL.transport],
    registers: [registry],
  });
  watchers.set(labels, 0);
  for (const counter of [sent, skipped, dropped]) counter.inc(labels, 0);
  return {
    setWatchers: (count: number) => watchers.set(labels, count),
    sent: () => sent.inc(labels),
    skipped: () => skipped.inc(labels),
    dropped: () => dropped.inc(labels),
  };
}
