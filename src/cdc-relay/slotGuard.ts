import pg from 'pg';
import { decideSlot, parseTimelineHistory, type SlotDecision, type TimelineSwitch } from './decideSlot.js';
import { assertPgoutput, ensureSlot } from './ensureSlot.js';
import { parseLsn } from './lsn.js';

export interface SlotGuardOptions {
  /** For `TIMELINE_HISTORY`, which only a replication connection answers. */
  databaseUrl: string;
  slot: string;
  publication: string;
  table: { schema: string; name: string };
}

/** What the guard decided and did; `lost` means the relay must not stream until `sumstream cdc resync`. */
export type SlotVerdict = Exclude<SlotDecision, { action: 'read-history' }>;

/** Where docs/operations.md explains the recovery. */
const RESYNC_DOC = 'docs/operations.md#a-lost-replication-slot';

/** The readiness problem and log message of a lost slot: what happened and how to fix it. */
export function slotLostProblem(slot: string, reason: string): string {
  return `Replication slot ${slot} was lost: ${reason}. Nothing is streamed until an operator runs \`sumstream cdc resync\` (${RESYNC_DOC}).`;
}

/**
 * Run by the relay at start and before every replication session: decides (see `decideSlot`) whether
 * the slot still holds every event since the relay last streamed, and records what it learnt in
 * `cdc_slots`. Creates the publication and slot only on a first install (no marker): a missing slot
 * the relay streamed from before is never created again silently.
 */
export async function guardSlot(pool: pg.Pool, options: SlotGuardOptions): Promise<SlotVerdict> {
  const timeline = await currentTimeline(pool);
  const { rows: slots } = await pool.query<{ plugin: string | null; confirmed: string | null; invalidated: boolean }>(
    `SELECT plugin, confirmed_flush_lsn::text AS confirmed, wal_status IS NOT DISTINCT FROM 'lost' AS invalidated
     FROM pg_replication_slots WHERE slot_name = $1`,
    [options.slot],
  );
  const slot = slots[0];
  if (slot) assertPgoutput(options.slot, slot.plugin ?? 'none (a physical slot)');
  const { rows: markers } = await pool.query<{ timeline: number; lost_reason: string | null; updated_at: string }>(
    'SELECT timeline, lost_reason, updated_at::text FROM cdc_slots WHERE slot_name = $1',
    [options.slot],
  );
  const marker = markers[0];
  const observation = {
    slot: options.slot,
    existing: slot
      ? { confirmedFlushLsn: slot.confirmed ? parseLsn(slot.confirmed) : 0n, invalidated: slot.invalidated }
      : undefined,
    marker: marker && { timeline: marker.timeline, lostReason: marker.lost_reason },
    timeline,
  };
  let decision = decideSlot(observation);
  if (decision.action === 'read-history')
    decision = decideSlot({ ...observation, history: await readTimelineHistory(options.databaseUrl, timeline) });
  // Updates apply only to the marker as read, so a resync that cleared it meanwhile is not undone.
  const updateMarker = (set: string, value: string | number) =>
    pool.query(
      `UPDATE cdc_slots SET ${set} = $2, updated_at = now() WHERE slot_name = $1 AND updated_at = $3::timestamptz`,
      [options.slot, value, marker?.updated_at],
    );
  switch (decision.action) {
    case 'create':
      await ensureSlot(pool, {
        slot: options.slot,
        publication: options.publication,
        table: `${options.table.schema}.${options.table.name}`,
      });
      await recordMarker(pool, options.slot, timeline);
      return decision;
    case 'record':
      await recordMarker(pool, options.slot, timeline);
      return decision;
    case 'advance':
      await updateMarker('timeline', decision.timeline);
      return decision;
    case 'lost':
      if (decision.record) await updateMarker('lost_reason', decision.reason);
      return decision;
    case 'ok':
      return decision;
    case 'read-history':
      throw new Error(`The history of timeline ${timeline} did not settle whether slot ${options.slot} is intact.`);
  }
}

/** The server's current timeline, from the name of the WAL file being written. */
export async function currentTimeline(db: Pick<pg.Pool, 'query'>): Promise<number> {
  const { rows } = await db.query<{ timeline: number }>(
    "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline",
  );
  return rows[0]!.timeline;
}

/** A marker for a slot that holds every event from now on (a first install); an existing one is kept. */
function recordMarker(pool: pg.Pool, slot: string, timeline: number): Promise<unknown> {
  return pool.query('INSERT INTO cdc_slots (slot_name, timeline) VALUES ($1, $2) ON CONFLICT (slot_name) DO NOTHING', [
    slot,
    timeline,
  ]);
}

/** The timeline history of `timeline` (timeline 1 has none), over a replication connection. */
async function readTimelineHistory(databaseUrl: string, timeline: number): Promise<TimelineSwitch[]> {
  if (timeline <= 1) return [];
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'sumstream-cdc-relay',
    replication: 'database',
  } as pg.ClientConfig);
  client.on('error', () => undefined); // a dying connection fails the query below
  await client.connect();
  try {
    const { rows } = await client.query<{ content: Buffer | string }>(`TIMELINE_HISTORY ${timeline}`);
    const content = rows[0]?.content;
    if (content === undefined) throw new Error(`TIMELINE_HISTORY ${timeline} returned no row.`);
    return parseTimelineHistory(typeof content === 'string' ? content : content.toString('utf8'));
  } finally {
    await client.end().catch(() => undefined);
  }
}
