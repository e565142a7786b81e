/** An outbox row as the relay publishes it. */
export interface OutboxEvent {
  id: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  /** The payload column, re-serialised as JSON text. */
  body: string;
}

/** The subset of a pgoutput insert message the relay reads. */
export interface InsertMessage {
  tag: 'insert';
  relation: { schema: string; name: string };
  new: Record<string, unknown>;
}

/**
 * Turns a pgoutput insert into the event to publish, or undefined when it is not a row of the
 * outbox table. Missing columns are reported, not guessed: the publication must carry full rows.
 */
export function decodeOutboxInsert(
  message: InsertMessage,
  table: { schema: string; name: string },
): OutboxEvent | undefined {
  if (message.relation.schema !== table.schema || message.relation.name !== table.name) return undefined;
  const row = message.new;
  const text = (column: string): string => {
    const value = row[column];
    if (value === undefined || value === null) {
      throw new Error(
        `Outbox row lacks column ${column}; the outbox needs id, aggregatetype, aggregateid, type and payload (see migrations/0001).`,
      );
    }
    if (typeof value === 'string') return value;
    return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean'
      ? value.toString()
      : JSON.stringify(value);
  };
  const payload = row['payload'];
  return {
    id: text('id'),
    type: text('type'),
    aggregateType: text('aggregatetype'),
    aggregateId: text('aggregateid'),
    body: typeof payload === 'string' ? payload : JSON.stringify(payload ?? null),
  };
}
