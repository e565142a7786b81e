import type { Routes } from '../shared/http/createHttpServer.js';
import { sendProblem } from '../shared/http/problem.js';
import type { Logger } from '../shared/log/createLogger.js';
import type { WatchMetrics } from '../shared/metrics/watchMetrics.js';
import type { SumFeed } from '../sum-view/sumFeed.js';
import { WatchPacer } from '../sum-view/watchPacer.js';
import { formatRetry, formatSumEvent, KEEPALIVE_COMMENT, parseLastEventId } from './sseEvents.js';

export interface SumStreamOptions {
  feed: SumFeed;
  metrics: WatchMetrics;
  logger: Logger;
  /** Least ms between two events to one watcher (`WATCH_INTERVAL_MS`). */
  intervalMs: number;
  /** Ms a watcher whose socket buffer is full may stay so before it is disconnected (`WATCH_STALL_TIMEOUT_MS`). */
  stallTimeoutMs: number;
  /** Ms between keep-alive comments (`WATCH_HEARTBEAT_MS`). */
  heartbeatMs: number;
  /** Reconnection delay a client is advised (`retry:`), ms. Default 1000. */
  retryMs?: number;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-store',
  // The stream ends only when the process stops or drops the watcher: the connection goes with it.
  connection: 'close',
  // Tells nginx-like proxies not to buffer the stream.
  'x-accel-buffering': 'no',
};

/**
 * `GET /sum/stream`: the live sum as Server-Sent Events. The current sum at once (unless the
 * client's Last-Event-ID says it has it), then one event per change through a WatchPacer:
 * when res.write() reports a full buffer only the latest snapshot waits for 'drain', and a
 * client that stays blocked past the bound is disconnected. At shutdown the response ends.
 */
export function sumStreamRoute(options: SumStreamOptions): Routes {
  const { feed, metrics, logger } = options;
  return {
    '/sum/stream': {
      GET: (req, res) => {
        if (req.method === 'HEAD') {
          res.writeHead(200, SSE_HEADERS);
          res.end();
          return;
        }
        const url = new URL(req.url ?? '/', 'http://localhost');
        const lastEventId = parseLastEventId(req.headers['last-event-id'] ?? url.searchParams.get('lastEventId'));
        let ended = false;
        let heartbeat: NodeJS.Timeout | undefined;
        const finish = (how: 'end' | 'destroy' | 'gone') => {
          if (ended) return;
          ended = true;
          remove?.();
          pacer.close();
          clearInterval(heartbeat);
          if (how === 'end') res.end();
          else if (how === 'destroy') res.destroy();
        };
        const write = (text: string) => (res.destroyed ? true : res.write(text));
        const pacer = new WatchPacer({
          minIntervalMs: options.intervalMs,
          stallTimeoutMs: options.stallTimeoutMs,
          write: (snapshot) => {
            metrics.sent();
            return write(formatSumEvent(snapshot));
          },
          onSkipped: () => metrics.skipped(),
          onStalled: () => {
            metrics.dropped();
            logger.info({ remote: req.socket.remoteAddress }, 'sum watcher stopped reading; disconnected');
            finish('destroy');
          },
        });
        const remove = feed.add({ offer: (snapshot) => pacer.offer(snapshot), end: () => finish('end') });
        if (!remove) {
          pacer.close();
          return sendProblem(
            res,
            503,
            'Service Unavailable',
            `This sum-service already serves WATCH_MAX_CLIENTS=${feed.capacity} watchers (or is shutting down); retry later, use another replica, or raise WATCH_MAX_CLIENTS.`,
            { 'retry-after': '5' },
          );
        }
        res.writeHead(200, SSE_HEADERS);
        write(formatRetry(options.retryMs ?? 1000));
        res.on('drain', () => pacer.drained());
        res.on('close', () => finish('gone'));
        heartbeat = setInterval(() => pacer.writeExtra(() => write(KEEPALIVE_COMMENT)), options.heartbeatMs);
        feed.current().then(
          (snapshot) => {
            if (lastEventId !== undefined && lastEventId === BigInt(snapshot.appliedEvents)) pacer.assume(snapshot);
            else pacer.offer(snapshot);
          },
          (error: unknown) => {
            logger.warn({ err: error }, 'cannot read the sum for a new watcher');
            finish('end');
          },
        );
      },
    },
  };
}
