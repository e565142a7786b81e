import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import { ConfigError } from '../shared/config/ConfigError.js';
import { type Env, envReader } from '../shared/config/envReader.js';

export interface RelayConfig extends CommonConfig {
  /** Logical replication slot (`RELAY_SLOT`). Default `sumstream_relay`. */
  slot: string;
  /** Publication of outbox inserts (`RELAY_PUBLICATION`). Default `sumstream_outbox`. */
  publication: string;
  /** Outbox table, `schema.table` (`RELAY_OUTBOX_TABLE`). Default `public.outbox`. */
  table: { schema: string; name: string };
  /** Unconfirmed events before the stream pauses (`RELAY_MAX_IN_FLIGHT`). Default 1000. */
  maxInFlight: number;
  /** Period of LSN reports and keepalives, ms (`RELAY_STATUS_INTERVAL_MS`). Default 200. */
  statusIntervalMs: number;
  /** How often a standby tries to take over, ms (`RELAY_STANDBY_POLL_MS`). Default 1000. */
  standbyPollMs: number;
  /** HTTP port of /metrics, /healthz, /readyz (`RELAY_METRICS_PORT`). Default 3002. */
  metricsPort: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function relayConfig(env: Env): RelayConfig {
  const read = envReader(env);
  const slot = read.string('RELAY_SLOT', 'sumstream_relay');
  const publication = read.string('RELAY_PUBLICATION', 'sumstream_outbox');
  const [schema, name, extra] = read.string('RELAY_OUTBOX_TABLE', 'public.outbox').split('.');
  for (const [knob, value] of [['RELAY_SLOT', slot], ['RELAY_PUBLICATION', publication], ['RELAY_OUTBOX_TABLE', schema], ['RELAY_OUTBOX_TABLE', name]] as const) {
    if (value === undefined || !IDENTIFIER.test(value) || extra !== undefined) {
      throw new ConfigError(`${knob} must be lower-case PostgreSQL identifiers (a-z, 0-9, _)${knob === 'RELAY_OUTBOX_TABLE' ? ' written schema.table' : ''}.`);
    }
  }
  return {
    ...commonConfig(env),
    slot,
    publication,
    table: { schema: schema!, name: name! },
    maxInFlight: read.int('RELAY_MAX_IN_FLIGHT', 1000, { min: 1, max: 1_000_000 }),
    statusIntervalMs: read.int('RELAY_STATUS_INTERVAL_MS', 200, { min: 10, max: 30_000 }),
    standbyPollMs: read.int('RELAY_STANDBY_POLL_MS', 1000, { min: 50, max: 60_000 }),
    metricsPort: read.port('RELAY_METRICS_PORT', 3002),
  };
}
