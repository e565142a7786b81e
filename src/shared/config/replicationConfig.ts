import { ConfigError } from './ConfigError.js';
import type { Env } from './envReader.js';
import { knob, readKnobs } from './knob.js';

/** Where change data capture reads from: shared by the cdc-relay and the tools that inspect it. */
export const REPLICATION_KNOBS = {
  slot: knob.string(
    'RELAY_SLOT',
    'sumstream_relay',
    'Logical replication slot the cdc-relay streams (created at its first start).',
  ),
  publication: knob.string(
    'RELAY_PUBLICATION',
    'sumstream_outbox',
    'Publication of outbox inserts (migration 0001 creates it).',
  ),
  table: knob.string('RELAY_OUTBOX_TABLE', 'public.outbox', 'Outbox table, `schema.table`.'),
} as const;

export interface ReplicationConfig {
  slot: string;
  publication: string;
  table: { schema: string; name: string };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function replicationConfig(env: Env): ReplicationConfig {
  const { slot, publication, table } = readKnobs(env, REPLICATION_KNOBS);
  const [schema, name, extra] = table.split('.');
  if (extra !== undefined)
    throw new ConfigError(
      'RELAY_OUTBOX_TABLE must be lower-case PostgreSQL identifiers (a-z, 0-9, _) written schema.table.',
    );
  for (const [variable, value] of [
    ['RELAY_SLOT', slot],
    ['RELAY_PUBLICATION', publication],
    ['RELAY_OUTBOX_TABLE', schema],
    ['RELAY_OUTBOX_TABLE', name],
  ] as const) {
    if (value === undefined || !IDENTIFIER.test(value)) {
      throw new ConfigError(
        `${variable} must be lower-case PostgreSQL identifiers (a-z, 0-9, _)${variable === 'RELAY_OUTBOX_TABLE' ? ' written schema.table' : ''}.`,
      );
    }
  }
  return { slot, publication, table: { schema: schema!, name: name! } };
}
