import { type AdditionEventPayload } from '../vocabulary.js';

/** A ledger row as the add-service writes it (and the republish tool reads it). */
export interface AdditionRecord {
  id: string;
  a: bigint;
  b: bigint;
  result: bigint;
  acceptedAt: Date;
}

/** Builds the event payload of an addition: the single definition used by every producer. */
export function additionEventPayload(record: AdditionRecord): AdditionEventPayload {
  return {
    id: record.id,
    a: record.a.toString(),
    b: record.b.toString(),
    amount: record.result.toString(),
    acceptedAt: record.acceptedAt.toISOString(),
  };
}
