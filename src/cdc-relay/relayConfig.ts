import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import { type Env, envReader } from '../shared/config/envReader.js';
import { type ReplicationConfig, replicationConfig } from '../shared/config/replicationConfig.js';

export interface RelayConfig extends CommonConfig, ReplicationConfig {
  /** Unconfirmed events before the stream pauses (`RELAY_MAX_IN_FLIGHT`). Default 1000. */
  maxInFlight: number;
  /** Period of LSN reports and keepalives, ms (`RELAY_STATUS_INTERVAL_MS`). Default 200. */
  statusIntervalMs: number;
  /** How often a standby tries to take over, ms (`RELAY_STANDBY_POLL_MS`). Default 1000. */
  standbyPollMs: number;
  /** HTTP port of /metrics, /healthz, /readyz (`RELAY_METRICS_PORT`). Default 3002. */
  metricsPort: number;
}

export function relayConfig(env: Env): RelayConfig {
  const read = envReader(env);
  return {
    ...commonConfig(env),
    ...replicationConfig(env),
    maxInFlight: read.int('RELAY_MAX_IN_FLIGHT', 1000, { min: 1, max: 1_000_000 }),
    statusIntervalMs: read.int('RELAY_STATUS_INTERVAL_MS', 200, { min: 10, max: 30_000 }),
    standbyPollMs: read.int('RELAY_STANDBY_POLL_MS', 1000, { min: 50, max: 60_000 }),
    metricsPort: read.port('RELAY_METRICS_PORT', 3002),
  };
}
