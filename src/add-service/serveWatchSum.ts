import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../shared/log/createLogger.js';
import type { WatchMetrics } from '../shared/metrics/watchMetrics.js';
import type { SumFeed } from '../sum-view/sumFeed.js';
import { WatchPacer } from '../sum-view/watchPacer.js';

export interface WatchSumRequest {
  min_interval_ms?: number;
}

export interface ServeWatchSumOptions {
  feed: SumFeed;
  metrics: WatchMetrics;
  logger: Logger;
  /** The server's own interval (`WATCH_INTERVAL_MS`): no watcher is written to more often. */
  intervalMs: number;
  /** Ms a watcher whose stream buffer is full may stay so before it is ended (`WATCH_STALL_TIMEOUT_MS`). */
  stallTimeoutMs: number;
  /** Called once with the status the call ended with. */
  onEnd: (code: grpc.status) => void;
}

/** The most a watcher may ask to wait between two messages: one hour. */
const MAX_MIN_INTERVAL_MS = 3_600_000;

/**
 * Serves one `WatchSum` call: the current sum at once, then the feed's snapshots through a
 * WatchPacer (call.write() returning false blocks the watcher until 'drain'; stuck past the
 * bound, the call ends with RESOURCE_EXHAUSTED and no more is written to it). When the process
 * shuts down the call ends with UNAVAILABLE, so clients watch again elsewhere.
 */
export function serveWatchSum(
  call: grpc.ServerWritableStream<WatchSumRequest, unknown>,
  options: ServeWatchSumOptions,
): void {
  const { feed, metrics, logger } = options;
  const requested = Math.min(Number(call.request?.min_interval_ms ?? 0) || 0, MAX_MIN_INTERVAL_MS);
  let ended = false;
  let remove: (() => void) | undefined;
  const finish = (code: grpc.status, details: string) => {
    if (ended) return;
    ended = true;
    remove?.();
    pacer.close();
    options.onEnd(code);
    if (call.cancelled) return;
    if (code === grpc.status.OK) call.end();
    else call.emit('error', { code, details });
  };
  const pacer = new WatchPacer({
    minIntervalMs: Math.max(requested, options.intervalMs),
    stallTimeoutMs: options.stallTimeoutMs,
    write: (snapshot) => {
      metrics.sent();
      return call.write({ sum: snapshot.sum, applied_events: snapshot.appliedEvents });
    },
    onSkipped: () => metrics.skipped(),
    onStalled: () => {
      metrics.dropped();
      logger.info({ peer: call.getPeer() }, 'sum watcher stopped reading; disconnected');
      finish(
        grpc.status.RESOURCE_EXHAUSTED,
        `This watcher read nothing for WATCH_STALL_TIMEOUT_MS=${options.stallTimeoutMs} ms while updates waited, so it was disconnected. Read the stream continuously (or ask for a longer min_interval_ms) and watch again.`,
      );
    },
  });
  remove = feed.add({
    offer: (snapshot) => pacer.offer(snapshot),
    end: () =>
      finish(grpc.status.UNAVAILABLE, 'This add-service is shutting down; watch again (another replica answers).'),
  });
  if (!remove) {
    finish(
      grpc.status.RESOURCE_EXHAUSTED,
      `This add-service already serves WATCH_MAX_CLIENTS=${feed.capacity} watchers; retry later, watch through another replica, or raise WATCH_MAX_CLIENTS.`,
    );
    return;
  }
  call.on('drain', () => pacer.drained());
  call.on('cancelled', () => finish(grpc.status.CANCELLED, 'Cancelled by the client.'));
  feed.current().then(
    (snapshot) => pacer.offer(snapshot),
    (error: unknown) => {
      logger.warn({ err: error }, 'cannot read the sum for a new watcher');
      finish(grpc.status.UNAVAILABLE, 'The sum store cannot be read right now; watch again shortly.');
    },
  );
}
