import type pg from 'pg';

export interface SlotOptions {
  slot: string;
  publication: string;
  /** The outbox table, schema-qualified. */
  table: string;
}

/**
 * Creates the publication (outbox inserts only) and the pgoutput logical slot when missing.
 * Safe to run from every relay at once: a lost creation race is ignored.
 */
export async function ensureSlot(db: Pick<pg.Pool, 'query'>, options: SlotOptions): Promise<void> {
  const publication = await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [options.publication]);
  if (publication.rowCount === 0) {
    await db
      .query(
        `CREATE PUBLICATION "${options.publication.replaceAll('"', '""')}" FOR TABLE ${options.table} WITH (publish = 'insert')`,
      )
      .catch((error: { code?: string }) => {
        if (error.code !== '42710') throw error; // duplicate_object: another relay won
      });
  }
  const slot = await db.query<{ plugin: string }>('SELECT plugin FROM pg_replication_slots WHERE slot_name = $1', [
    options.slot,
  ]);
  const plugin = slot.rows[0]?.plugin;
  if (plugin === undefined) {
    await db
      .query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [options.slot])
      .catch((error: { code?: string }) => {
        if (error.code !== '42710') throw error;
      });
  } else {
    assertPgoutput(options.slot, plugin);
  }
}

/** Throws, with the fix, when the relay's slot decodes with another plugin than pgoutput. */
export function assertPgoutput(slot: string, plugin: string): void {
  if (plugin !== 'pgoutput')
    throw new Error(
      `Replication slot ${slot} uses plugin ${plugin}, not pgoutput. Drop it (SELECT pg_drop_replication_slot('${slot}')) or set RELAY_SLOT to another name.`,
    );
}
