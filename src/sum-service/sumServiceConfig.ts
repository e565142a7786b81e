import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import { type Env, envReader } from '../shared/config/envReader.js';
import { type LiveSumConfig, liveSumConfig } from '../shared/config/liveSumConfig.js';

export interface SumServiceConfig extends CommonConfig, LiveSumConfig {
  /** REST port of /sum, /healthz, /readyz, /metrics (`SUM_PORT`). Default 4000. */
  httpPort: number;
  /** Unacknowledged messages in flight (`CONSUMER_PREFETCH`). Default 256. */
  prefetch: number;
  /** Most messages per apply transaction (`CONSUMER_MAX_BATCH`). Default 256. */
  maxBatch: number;
  /** PostgreSQL connections (`SUM_DB_POOL_SIZE`). Default 10. */
  poolSize: number;
  /** GET /sum requests per second this process answers (`SUM_RATE_LIMIT`); beyond it 429. Default 0: unlimited. */
  rateLimit: number;
}

export function sumServiceConfig(env: Env): SumServiceConfig {
  const read = envReader(env);
  return {
    ...commonConfig(env),
    ...liveSumConfig(env),
    httpPort: read.port('SUM_PORT', 4000),
    prefetch: read.int('CONSUMER_PREFETCH', 256, { min: 1, max: 65_535 }),
    maxBatch: read.int('CONSUMER_MAX_BATCH', 256, { min: 1, max: 10_000 }),
    poolSize: read.int('SUM_DB_POOL_SIZE', 10, { min: 2, max: 500 }),
    rateLimit: read.int('SUM_RATE_LIMIT', 0, { min: 0, max: 10_000_000 }),
  };
}
