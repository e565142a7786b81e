import { ConfigError } from './ConfigError.js';
import { type Env, envReader } from './envReader.js';

/** Where change data capture reads from: shared by the cdc-relay and the tools that inspect it. */
export interface ReplicationConfig {
  /** Logical replication slot (`RELAY_SLOT`). Default `sumstream_relay`. */
  slot: string;
  /** Publication of outbox inserts (`RELAY_PUBLICATION`). Default `sumstream_outbox`. */
  publication: string;
  /** Outbox table, `schema.table` (`RELAY_OUTBOX_TABLE`). Default `public.outbox`. */
  table: { schema: string; name: string };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function replicationConfig(env: Env): ReplicationConfig {
  const read = envReader(env);
  const slot = read.string('RELAY_SLOT', 'sumstream_relay');
  const publication = read.string('RELAY_PUBLICATION', 'sumstream_outbox');
  const [schema, name, extra] = read.string('RELAY_OUTBOX_TABLE', 'public.outbox').split('.');
  if (extra !== undefined) throw new ConfigError('RELAY_OUTBOX_TABLE must be lower-case PostgreSQL identifiers (a-z, 0-9, _) written schema.table.');
  for (const [knob, value] of [['RELAY_SLOT', slot], ['RELAY_PUBLICATION', publication], ['RELAY_OUTBOX_TABLE', schema], ['RELAY_OUTBOX_TABLE', name]] as const) {
    if (value === undefined || !IDENTIFIER.test(value)) {
      throw new ConfigError(`${knob} must be lower-case PostgreSQL identifiers (a-z, 0-9, _)${knob === 'RELAY_OUTBOX_TABLE' ? ' written schema.table' : ''}.`);
    }
  }
  return { slot, publication, table: { schema: schema!, name: name! } };
}
