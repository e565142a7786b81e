import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import type { Env } from '../shared/config/envReader.js';
import { knob, type KnobValues, readKnobs } from '../shared/config/knob.js';
import { PORT_KNOBS } from '../shared/config/portKnobs.js';
import { type ReplicationConfig, replicationConfig } from '../shared/config/replicationConfig.js';
import { LEADER_LOCK_DEFAULTS } from './leaderLock.js';
import { RELAY_DEFAULTS } from './relay.js';
import { REPLICATION_SESSION_DEFAULTS } from './replicationSession.js';

export const RELAY_KNOBS = {
  maxInFlight: knob.int(
    'RELAY_MAX_IN_FLIGHT',
    REPLICATION_SESSION_DEFAULTS.maxInFlight,
    { min: 1, max: 1_000_000 },
    'Unconfirmed events before the replication stream pauses.',
  ),
  statusIntervalMs: knob.int(
    'RELAY_STATUS_INTERVAL_MS',
    REPLICATION_SESSION_DEFAULTS.statusIntervalMs,
    { min: 10, max: 30_000 },
    'Ms between two reports of the confirmed LSN to PostgreSQL (also the keepalive period).',
  ),
  standbyPollMs: knob.int(
    'RELAY_STANDBY_POLL_MS',
    LEADER_LOCK_DEFAULTS.pollMs,
    { min: 50, max: 60_000 },
    'Ms between two attempts of a standby relay to take the leader lock.',
  ),
  stepDownAfterMs: knob.int(
    'RELAY_STEP_DOWN_AFTER_MS',
    RELAY_DEFAULTS.stepDownAfterMs,
    { min: 1000, max: 3_600_000 },
    'Ms of failing replication sessions (no LSN confirmed) after which the active relay gives the leader lock to a standby.',
  ),
  slotRecheckMs: knob.int(
    'RELAY_SLOT_RECHECK_MS',
    RELAY_DEFAULTS.slotRecheckMs,
    { min: 100, max: 600_000 },
    'Ms between two checks of a lost replication slot, so the relay streams again soon after `sumstream cdc resync`.',
  ),
  confirmTimeoutMs: knob.int(
    'RELAY_CONFIRM_TIMEOUT_MS',
    REPLICATION_SESSION_DEFAULTS.confirmTimeoutMs,
    { min: 100, max: 600_000 },
    'Ms without a publisher confirm, with events unconfirmed, after which the session is restarted on another broker node.',
  ),
  awaitSyncStandby: knob.bool(
    'RELAY_AWAIT_SYNC_STANDBY',
    REPLICATION_SESSION_DEFAULTS.awaitSyncStandby,
    'Publish a transaction only once a synchronous standby has flushed it, so a failover cannot take back a published event (PostgreSQL HA before 17; docs/postgres-ha.md).',
  ),
  metricsPort: PORT_KNOBS.relayMetricsPort,
} as const;

export interface RelayConfig extends CommonConfig, ReplicationConfig, KnobValues<typeof RELAY_KNOBS> {}

export function relayConfig(env: Env): RelayConfig {
  return { ...commonConfig(env), ...replicationConfig(env), ...readKnobs(env, RELAY_KNOBS) };
}
