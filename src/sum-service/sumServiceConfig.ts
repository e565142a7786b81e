import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import type { Env } from '../shared/config/envReader.js';
import { knob, type KnobValues, readKnobs } from '../shared/config/knob.js';
import { PORT_KNOBS } from '../shared/config/portKnobs.js';
import { POOL_DEFAULTS } from '../shared/db/createPool.js';
import { type LiveSumConfig, liveSumConfig } from '../sum-view/liveSumConfig.js';
import { EVENT_CONSUMER_DEFAULTS } from './eventConsumer.js';
import { INBOX_PRUNER_DEFAULTS } from './inboxPruner.js';

export const SUM_SERVICE_KNOBS = {
  httpPort: PORT_KNOBS.sumPort,
  prefetch: knob.int(
    'CONSUMER_PREFETCH',
    EVENT_CONSUMER_DEFAULTS.prefetch,
    { min: 1, max: 65_535 },
    'Unacknowledged messages RabbitMQ may push to the consumer.',
  ),
  maxBatch: knob.int(
    'CONSUMER_MAX_BATCH',
    EVENT_CONSUMER_DEFAULTS.maxBatch,
    { min: 1, max: 10_000 },
    'Most messages per apply transaction.',
  ),
  poolSize: knob.int(
    'SUM_DB_POOL_SIZE',
    POOL_DEFAULTS.max,
    { min: 2, max: 500 },
    'PostgreSQL connections of the sum-service.',
  ),
  inboxRetentionSeconds: knob.int(
    'INBOX_RETENTION_SECONDS',
    INBOX_PRUNER_DEFAULTS.retentionSeconds,
    { min: 0, max: 10 * 365 * 24 * 3600 },
    'The deduplication horizon: inbox rows are kept this long after their event was accepted, then pruned; an event older than it is refused (dead-lettered, reason beyond_horizon). 0 keeps the inbox forever.',
  ),
  inboxPruneIntervalSeconds: knob.int(
    'INBOX_PRUNE_INTERVAL_SECONDS',
    INBOX_PRUNER_DEFAULTS.intervalSeconds,
    { min: 1, max: 86_400 },
    'Seconds between two inbox prune rounds.',
  ),
  inboxPruneBatch: knob.int(
    'INBOX_PRUNE_BATCH',
    INBOX_PRUNER_DEFAULTS.batchSize,
    { min: 1, max: 1_000_000 },
    'Inbox rows deleted per statement while pruning.',
  ),
  rateLimit: knob.int(
    'SUM_RATE_LIMIT',
    0,
    { min: 0, max: 10_000_000 },
    'GET /sum requests per second this process answers; beyond it 429. 0: unlimited.',
  ),
} as const;

export interface SumServiceConfig extends CommonConfig, LiveSumConfig, KnobValues<typeof SUM_SERVICE_KNOBS> {}

export function sumServiceConfig(env: Env): SumServiceConfig {
  return { ...commonConfig(env), ...liveSumConfig(env), ...readKnobs(env, SUM_SERVICE_KNOBS) };
}
