import type { Env } from '../shared/config/envReader.js';
import { knob, type KnobValues, readKnobs } from '../shared/config/knob.js';
import { READ_AFTER_DEFAULTS } from './readAfterWaiter.js';
import { SUM_FEED_DEFAULTS } from './sumFeed.js';
import { WATCH_PACER_DEFAULTS } from './watchPacer.js';

/** Live sum (watchers) and read-your-writes, for both processes that serve the sum. */
export const LIVE_SUM_KNOBS = {
  watchIntervalMs: knob.int(
    'WATCH_INTERVAL_MS',
    SUM_FEED_DEFAULTS.intervalMs,
    { min: 1, max: 60_000 },
    'Least ms between two reads of the sum for watchers, so between two updates.',
  ),
  watchMaxClients: knob.int(
    'WATCH_MAX_CLIENTS',
    SUM_FEED_DEFAULTS.maxWatchers,
    { min: 0, max: 1_000_000 },
    'Watchers one process serves at most; beyond it RESOURCE_EXHAUSTED / 503.',
  ),
  watchStallTimeoutMs: knob.int(
    'WATCH_STALL_TIMEOUT_MS',
    WATCH_PACER_DEFAULTS.stallTimeoutMs,
    { min: 100, max: 600_000 },
    'Ms a watcher whose buffer is full may stay so before it is disconnected.',
  ),
  watchHeartbeatMs: knob.int(
    'WATCH_HEARTBEAT_MS',
    15_000,
    { min: 1_000, max: 600_000 },
    'Ms between two `: keepalive` comments on an idle Server-Sent Events stream.',
  ),
  readAfterTimeoutMs: knob.int(
    'READ_AFTER_TIMEOUT_MS',
    READ_AFTER_DEFAULTS.maxWaitMs,
    { min: 1, max: 600_000 },
    'Longest wait in ms of a read-after request (`?after=`, `GetSum{after}`); a request may only lower it.',
  ),
} as const;

export type LiveSumConfig = KnobValues<typeof LIVE_SUM_KNOBS>;

export function liveSumConfig(env: Env): LiveSumConfig {
  return readKnobs(env, LIVE_SUM_KNOBS);
}
