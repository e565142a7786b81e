import { type AdditionEventPayload } from '../vocabulary.js';

/** A ledger row as the add-service writes it (and the republish tool reads it). */
export interface AdditionRecord {
  id: string;
  a: bigint;
  b: bigint;
  result: bigint;
  acceptedAt: Date;
}

/**
 * Builds the event payload of an addition. Its twin, ADDITION_PAYLOAD_SQL, builds the same
 * document inside PostgreSQL (the add-service's group commit); test/int/additionWriter proves
 * the two equal.
 */
export function additionEventPayload(record: AdditionRecord): AdditionEventPayload {
  return {
    id: record.id,
    a: record.a.toString(),
    b: record.b.toString(),
    amount: record.result.toString(),
    acceptedAt: record.acceptedAt.toISOString(),
  };
}

/**
 * The same payload as additionEventPayload, as a SQL expression over a row with columns id (uuid),
 * a, b, result (bigint) and accepted_at (timestamptz, millisecond precision): built by PostgreSQL,
 * so a group commit sends no JSON per addition.
 */
export const ADDITION_PAYLOAD_SQL = `jsonb_build_object('id', id, 'a', a::text, 'b', b::text, 'amount', result::text, 'acceptedAt', to_char(accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;
