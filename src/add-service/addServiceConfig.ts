import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import { type Env, envReader } from '../shared/config/envReader.js';

export interface AddServiceConfig extends CommonConfig {
  /** gRPC port (`GRPC_PORT`). Default 50051. */
  grpcPort: number;
  /** HTTP port of /metrics, /healthz, /readyz (`ADD_METRICS_PORT`). Default 3001. */
  metricsPort: number;
  /** PostgreSQL connections (`ADD_DB_POOL_SIZE`). Default 10. */
  poolSize: number;
  /** Most additions per group-commit transaction (`ADD_MAX_BATCH`). Default 256. */
  maxBatchSize: number;
  /** Group-commit transactions in flight (`ADD_CONCURRENT_FLUSHES`). Default 4. */
  concurrentFlushes: number;
  /** Seconds outbox rows are kept before pruning (`OUTBOX_RETENTION_SECONDS`). Default 60. */
  outboxRetentionSeconds: number;
}

export function addServiceConfig(env: Env): AddServiceConfig {
  const read = envReader(env);
  const poolSize = read.int('ADD_DB_POOL_SIZE', 10, { min: 2, max: 500 });
  return {
    ...commonConfig(env),
    grpcPort: read.port('GRPC_PORT', 50051),
    metricsPort: read.port('ADD_METRICS_PORT', 3001),
    poolSize,
    maxBatchSize: read.int('ADD_MAX_BATCH', 256, { min: 1, max: 10_000 }),
    concurrentFlushes: read.int('ADD_CONCURRENT_FLUSHES', Math.min(4, poolSize - 1), { min: 1, max: poolSize - 1 }),
    outboxRetentionSeconds: read.int('OUTBOX_RETENTION_SECONDS', 60, { min: 1, max: 86_400 }),
  };
}
