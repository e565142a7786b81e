import type { Env } from './envReader.js';
import { envReader } from './envReader.js';

/** Live sum (watchers) and read-your-writes, for both processes that serve the sum. */
export interface LiveSumConfig {
  /** Least ms between two reads of the sum for watchers, so between two updates (`WATCH_INTERVAL_MS`). Default 100. */
  watchIntervalMs: number;
  /** Watchers one process serves at most (`WATCH_MAX_CLIENTS`); beyond it RESOURCE_EXHAUSTED / 503. Default 10000. */
  watchMaxClients: number;
  /** Ms a watcher whose buffer is full may stay so before it is disconnected (`WATCH_STALL_TIMEOUT_MS`). Default 10000. */
  watchStallTimeoutMs: number;
  /** Ms between two `: keepalive` comments on an idle Server-Sent Events stream (`WATCH_HEARTBEAT_MS`). Default 15000. */
  watchHeartbeatMs: number;
  /** Longest wait in ms of a read-after request (`READ_AFTER_TIMEOUT_MS`); a request may only lower it. Default 5000. */
  readAfterTimeoutMs: number;
}

export function liveSumConfig(env: Env): LiveSumConfig {
  const read = envReader(env);
  return {
    watchIntervalMs: read.int('WATCH_INTERVAL_MS', 100, { min: 1, max: 60_000 }),
    watchMaxClients: read.int('WATCH_MAX_CLIENTS', 10_000, { min: 0, max: 1_000_000 }),
    watchStallTimeoutMs: read.int('WATCH_STALL_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    watchHeartbeatMs: read.int('WATCH_HEARTBEAT_MS', 15_000, { min: 1_000, max: 600_000 }),
    readAfterTimeoutMs: read.int('READ_AFTER_TIMEOUT_MS', 5_000, { min: 1, max: 600_000 }),
  };
}
