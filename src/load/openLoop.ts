/**
 * Open loop: arrivals at a constant rate, independent of how fast answers come back. Arrival i is due
 * at start + i / rate; its latency is measured from that due time, not from when it was actually sent,
 * so a stalled client or server shows up as latency instead of silently sending less (no coordinated
 * omission). Requests past `maxInFlight` outstanding are not sent and are counted as dropped.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadTarget } from './loadTarget.js';
import type { TargetStats } from './targetStats.js';

export interface OpenLoopOptions {
  /** Arrivals per second. */
  rate: number;
  /** performance.now() at which the first arrival is due. */
  startAt: number;
  durationMs: number;
  maxRequests: number | undefined;
  maxInFlight: number;
  connections: number;
  signal: AbortSignal;
}

export async function runOpenLoop(target: LoadTarget, stats: TargetStats, options: OpenLoopOptions): Promise<void> {
  const interval = 1000 / options.rate;
  const endAt = options.startAt + options.durationMs;
  const limit = options.maxRequests ?? Number.POSITIVE_INFINITY;
  let arrivals = 0;
  let drained: (() => void) | undefined;

  const send = (due: number): void => {
    stats.inFlight++;
    stats.started++;
    void target.call(arrivals % options.connections).then((outcome) => {
      stats.inFlight--;
      stats.complete(performance.now() - due, outcome);
      if (stats.inFlight === 0) drained?.();
    });
  };

  while (!options.signal.aborted && arrivals < limit) {
    const now = performance.now();
    const horizon = Math.min(now, endAt);
    // Every arrival due by now (several when the timer or the event loop ran late).
    while (arrivals < limit && options.startAt + arrivals * interval < horizon) {
      const due = options.startAt + arrivals * interval;
      arrivals++;
      if (stats.inFlight >= options.maxInFlight) stats.drop();
      else send(due);
    }
    if (now >= endAt) break;
    const wait = options.startAt + arrivals * interval - performance.now();
    await (wait >= 1
      ? sleep(Math.floor(wait), undefined, { signal: options.signal }).catch(() => undefined)
      : new Promise((resolve) => setImmediate(resolve)));
  }
  if (stats.inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
}
