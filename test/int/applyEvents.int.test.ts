import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/shared/db/migrate.js';
import { readSum } from '../../src/sum-view/readSum.js';
import type { ApplicableEvent } from '../../src/shared/vocabulary.js';
import { applyEvents, SUM_SHARDS } from '../../src/sum-service/applyEvents.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

const INT64_MAX = 2n ** 63n - 1n;
const event = (amount: bigint, eventId: string = randomUUID()): ApplicableEvent => ({
  eventId,
  amount,
  acceptedAtMs: undefined,
});

describe('applyEvents (PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'apply_events');
    pool = new pg.Pool({ connectionString: db.url, max: 12 });
    pool.on('error', () => undefined); // idle clients die when the database is dropped
    await migrate(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /** The sum and applied-event count as bigints. */
  const snapshot = async () => {
    const { sum, appliedEvents } = await readSum(pool);
    return { sum: BigInt(sum), applied: BigInt(appliedEvents) };
  };

  const shardRows = async () => {
    const { rows } = await pool.query<{ shard: number; total: string; applied_events: string }>(
      'SELECT shard, total::text, applied_events::text FROM sum_shards',
    );
    return new Map(rows.map((r) => [r.shard, { total: BigInt(r.total), applied: BigInt(r.applied_events) }]));
  };

  it('changes the sum once when the same batch is applied twice', async () => {
    const before = await snapshot();
    const batch = [event(5n), event(7n), event(-3n)];

    // When the batch is applied, then redelivered and applied again
    const first = await applyEvents(pool, batch, 0);
    const second = await applyEvents(pool, batch, 0);

    // Then the first application took all three, the second none
    expect(new Set(first.applied)).toEqual(new Set(batch));
    expect(first.duplicates).toBe(0);
    expect(second).toEqual({ applied: [], duplicates: 3, refused: [] });
    // And the sum moved by 9 exactly once
    expect(await snapshot()).toEqual({ sum: before.sum + 9n, applied: before.applied + 3n });

    // And a redelivery on another shard (another consumer) is skipped as well
    expect(await applyEvents(pool, batch, 5)).toEqual({ applied: [], duplicates: 3, refused: [] });
    expect(await snapshot()).toEqual({ sum: before.sum + 9n, applied: before.applied + 3n });
  });

  it('counts an event repeated within one batch once', async () => {
    const before = await snapshot();
    const repeated = event(100n);
    const other = event(1n);

    // When one batch carries the same event three times
    const result = await applyEvents(pool, [repeated, other, repeated, { ...repeated }], 3);

    // Then it is applied once and the repeats are reported as duplicates
    expect(new Set(result.applied.map((e) => e.eventId))).toEqual(new Set([repeated.eventId, other.eventId]));
    expect(result.applied).toHaveLength(2);
    expect(result.duplicates).toBe(2);
    expect(await snapshot()).toEqual({ sum: before.sum + 101n, applied: before.applied + 2n });
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM processed_events WHERE event_id = $1', [
      repeated.eventId,
    ]);
    expect(rows[0]?.n).toBe('1');
  });

  it('leaves the sum alone for an empty batch', async () => {
    const before = await snapshot();
    expect(await applyEvents(pool, [], 0)).toEqual({ applied: [], duplicates: 0, refused: [] });
    expect(await snapshot()).toEqual(before);
  });

  it('counts each event once when 4 consumers on different shards apply overlapping batches concurrently, exactly beyond 2^53', async () => {
    // Given 400 events with amounts near int64 max (far beyond what a double keeps exact)
    const events = Array.from({ length: 400 }, (_, i) => event(INT64_MAX - BigInt(i) * 7_919n));
    const expectedDelta = events.reduce((sum, e) => sum + e.amount, 0n);
    expect(expectedDelta > 2n ** 64n).toBe(true);
    const before = await snapshot();
    const shardsBefore = await shardRows();
    // Consumer k sees events [k*100, k*100 + 250): every event reaches 2 or 3 consumers,
    // in batches of 25, consumers 1 and 3 in reverse order (as after redeliveries).
    const consumers = [0, 1, 2, 3].map((k) => {
      const seen = events.slice(k * 100, k * 100 + 250).concat(k === 3 ? events.slice(0, 150) : []);
      const ordered = k % 2 === 1 ? [...seen].reverse() : seen;
      const batches: ApplicableEvent[][] = [];
      for (let i = 0; i < ordered.length; i += 25) batches.push(ordered.slice(i, i + 25));
      return { shard: k * 4 + 2, batches };
    });
    const delivered = consumers.reduce((n, c) => n + c.batches.flat().length, 0);
    expect(delivered).toBeGreaterThan(events.length);

    // When the four apply their batches at the same time, each one batch after another
    const results = await Promise.all(
      consumers.map(async ({ shard, batches }) => {
        const applied: ApplicableEvent[] = [];
        let duplicates = 0;
        for (const batch of batches) {
          const result = await applyEvents(pool, batch, shard);
          applied.push(...result.applied);
          duplicates += result.duplicates;
        }
        return { shard, applied, duplicates };
      }),
    );

    // Then every event was applied by exactly one consumer, the others saw it as a duplicate
    const appliedIds = results.flatMap((r) => r.applied.map((e) => e.eventId));
    expect(appliedIds).toHaveLength(events.length);
    expect(new Set(appliedIds)).toEqual(new Set(events.map((e) => e.eventId)));
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(delivered - events.length);

    // And the sum is exact (NUMERIC, compared as decimal text)
    const after = await snapshot();
    expect(after.sum - before.sum).toBe(expectedDelta);
    expect(after.applied - before.applied).toBe(BigInt(events.length));
    // And each shard holds exactly what its consumer applied
    const shardsAfter = await shardRows();
    for (const { shard, applied } of results) {
      const was = shardsBefore.get(shard % SUM_SHARDS)!;
      const now = shardsAfter.get(shard % SUM_SHARDS)!;
      expect(now.applied - was.applied).toBe(BigInt(applied.length));
      expect(now.total - was.total).toBe(applied.reduce((s, e) => s + e.amount, 0n));
    }
    // And the inbox holds each amount exactly
    const inbox = await pool.query<{ event_id: string; amount: string }>(
      'SELECT event_id, amount::text FROM processed_events WHERE event_id = ANY($1::text[])',
      [events.map((e) => e.eventId)],
    );
    const byId = new Map(inbox.rows.map((r) => [r.event_id, r.amount]));
    expect(events.every((e) => byId.get(e.eventId) === e.amount.toString())).toBe(true);
  });

  it('does not deadlock when two consumers apply the same events in opposite orders', async () => {
    // Given two events x and y whose inbox inserts each take 300 ms (a trigger sleeps), so two
    // transactions inserting them in opposite orders would each hold one and wait for the other
    const x = event(11n);
    const y = event(13n);
    await pool.query(`CREATE FUNCTION slow_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.event_id IN ('${x.eventId}', '${y.eventId}') THEN PERFORM pg_sleep(0.3); END IF; RETURN NEW; END $$`);
    await pool.query(
      'CREATE TRIGGER slow_inbox BEFORE INSERT ON processed_events FOR EACH ROW EXECUTE FUNCTION slow_inbox()',
    );
    try {
      const before = await snapshot();
      // When consumer A applies [x, y] while consumer B applies [y, x]
      const results = await Promise.allSettled([applyEvents(pool, [x, y], 6), applyEvents(pool, [y, x], 7)]);

      // Then neither fails (PostgreSQL would abort one with "deadlock detected"), and each event counts once
      expect(results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok'))).toEqual([
        'ok',
        'ok',
      ]);
      const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.applied.map((e) => e.eventId) : []));
      expect(applied.sort()).toEqual([x.eventId, y.eventId].sort());
      expect(await snapshot()).toEqual({ sum: before.sum + 24n, applied: before.applied + 2n });
    } finally {
      await pool.query('DROP TRIGGER slow_inbox ON processed_events');
      await pool.query('DROP FUNCTION slow_inbox()');
    }
  });
});
