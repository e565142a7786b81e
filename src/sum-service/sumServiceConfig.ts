import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import type { Env } from '../shared/config/envReader.js';
import { knob, type KnobValues, readKnobs } from '../shared/config/knob.js';
import { PORT_KNOBS } from '../shared/config/portKnobs.js';
import { POOL_DEFAULTS } from '../shared/db/createPool.js';
import { type LiveSumConfig, liveSumConfig } from '../sum-view/liveSumConfig.js';
import { EVENT_CONSUMER_DEFAULTS } from './eventConsumer.js';

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
