/**
 * Closed loop: `workers` workers, each sends a request, waits for its answer, optionally pauses, and
 * sends the next, until the duration or the request budget is spent. Throughput follows the server:
 * latency is measured from send to answer (a slow server means fewer requests, not longer queues).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadTarget } from './loadTarget.js';
import type { TargetStats } from './targetStats.js';

export interface ClosedLoopOptions {
  workers: number;
  /** Pause between one worker's calls, ms. */
  thinkMs: number;
  startAt: number;
  durationMs: number;
  maxRequests: number | undefined;
  connections: number;
  signal: AbortSignal;
}

export async function runClosedLoop(target: LoadTarget, stats: TargetStats, options: ClosedLoopOptions): Promise<void> {
  const endAt = options.startAt + options.durationMs;
  const limit = options.maxRequests ?? Number.POSITIVE_INFINITY;

  const worker = async (index: number): Promise<void> => {
    const slot = index % options.connections;
    while (!options.signal.aborted && stats.started < limit && performance.now() < endAt) {
      stats.started++;
      stats.inFlight++;
      const sentAt = performance.now();
      const outcome = await target.call(slot);
      stats.inFlight--;
      stats.complete(performance.now() - sentAt, outcome);
      if (options.thinkMs > 0) {
        const pause = Math.min(options.thinkMs, endAt - performance.now());
        if (pause > 0) await sleep(pause, undefined, { signal: options.signal }).catch(() => undefined);
      }
    }
  };

  await Promise.all(Array.from({ length: options.workers }, (_, index) => worker(index)));
}
