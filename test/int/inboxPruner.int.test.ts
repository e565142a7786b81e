import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/shared/db/migrate.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import type { ApplicableEvent } from '../../src/shared/vocabulary.js';
import { applyEvents, INBOX_HORIZON_LOCK_KEY } from '../../src/sum-service/applyEvents.js';
import { InboxPruner } from '../../src/sum-service/inboxPruner.js';
import { createSumMetrics } from '../../src/sum-service/sumMetrics.js';
import { readSum } from '../../src/sum-view/readSum.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

const logger = createLogger('test', 'silent');
const event = (amount: bigint, positionMs: number): ApplicableEvent => ({
  eventId: randomUUID(),
  amount,
  acceptedAtMs: positionMs,
  positionMs,
});

describe('InboxPruner (PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const metrics = createSumMetrics(createRegistry('test'));
  const pruner = (retentionSeconds: number) =>
    new InboxPruner({ pool, retentionSeconds, batchSize: 7, metrics, logger });
  const sum = async () => BigInt((await readSum(pool)).sum);

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'inbox_pruner');
    pool = new pg.Pool({ connectionString: db.url, max: 12 });
    pool.on('error', () => undefined); // idle clients die when the database is dropped
    await migrate(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('prunes in batches behind the horizon, keeps newer rows and rows without a position, and never moves the horizon back', async () => {
    const now = Date.now();
    const old = Array.from({ length: 20 }, (_, i) => event(1n, now - 3_600_000 - i * 1000));
    const recent = Array.from({ length: 5 }, () => event(1n, now - 60_000));
    const timeless: ApplicableEvent = {
      eventId: `original-outbox:${randomUUID()}`,
      amount: 1n,
      acceptedAtMs: undefined,
    };
    await applyEvents(pool, [...old, ...recent, timeless], 0);

    // When the inbox is pruned with a 30-minute horizon (7 rows per statement)
    const { horizon, pruned } = await pruner(1800).prune();

    // Then the 20 old rows are gone, the recent ones and the one without a position stay
    expect(pruned).toBe(20);
    expect(Math.abs(horizon.getTime() - (Date.now() - 1_800_000))).toBeLessThan(60_000);
    const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM processed_events');
    const left = new Set(rows.map((r) => r.event_id));
    expect(old.some((e) => left.has(e.eventId))).toBe(false);
    expect([...recent, timeless].every((e) => left.has(e.eventId))).toBe(true);
    // And a longer retention later does not move the horizon back (pruned rows stay refused)
    expect((await pruner(7200).prune()).horizon).toEqual(horizon);

    // And a replay of everything applies nothing: old ones refused, the rest duplicates
    const before = await sum();
    const replay = await applyEvents(pool, [...old, ...recent, timeless], 3);
    expect(replay.applied).toEqual([]);
    expect(replay.refused.map((e) => e.eventId).sort()).toEqual(old.map((e) => e.eventId).sort());
    expect(replay.duplicates).toBe(6);
    expect(await sum()).toBe(before);
  });

  it('waits for apply transactions in flight before moving the horizon', async () => {
    // Given an apply transaction in flight (it holds the horizon lock shared)
    const holder = await pool.connect();
    await holder.query(`BEGIN; SELECT pg_advisory_xact_lock_shared(${INBOX_HORIZON_LOCK_KEY})`);
    let done = false;
    const pruning = pruner(600)
      .prune()
      .then(() => (done = true));
    try {
      // Then the prune waits for it
      await new Promise((r) => setTimeout(r, 500));
      expect(done).toBe(false);
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    // And finishes once it committed
    await pruning;
    expect(done).toBe(true);
  });

  it('never counts a replay twice when the horizon passes it while its apply is in flight', async () => {
    // Given an event applied once, and its replay slowed inside the apply statement (a trigger sleeps),
    // after the statement read the horizon
    const x = event(1000n, Date.now() - 60_000);
    await applyEvents(pool, [x], 0);
    const before = await sum();
    await pool.query(`CREATE FUNCTION slow_replay() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.event_id = '${x.eventId}' THEN PERFORM pg_sleep(0.5); END IF; RETURN NEW; END $$`);
    await pool.query(
      'CREATE TRIGGER slow_replay BEFORE INSERT ON processed_events FOR EACH ROW EXECUTE FUNCTION slow_replay()',
    );
    try {
      const replay = applyEvents(pool, [x], 2);
      await new Promise((r) => setTimeout(r, 150));

      // When the horizon passes the event meanwhile (its inbox row is pruned)
      await pruner(30).prune();

      // Then the replay still found the row (the prune waited for it) and the sum is unchanged
      expect((await replay).applied).toEqual([]);
      expect(await sum()).toBe(before);
      expect((await pool.query('SELECT 1 FROM processed_events WHERE event_id = $1', [x.eventId])).rowCount).toBe(0);
    } finally {
      await pool.query('DROP TRIGGER slow_replay ON processed_events');
      await pool.query('DROP FUNCTION slow_replay()');
    }
  });

  it('counts every event exactly once while the horizon sweeps across replays of it', async () => {
    // Given 300 events accepted over the last 25 seconds (the horizon is 30 s back by now), applied once
    const now = Date.now();
    const events = Array.from({ length: 300 }, (_, i) => event(BigInt(i + 1), now - 25_000 + i * 80));
    const before = await sum();
    await applyEvents(pool, events, 5);
    const total = events.reduce((s, e) => s + e.amount, 0n);
    expect((await sum()) - before).toBe(total);

    // When four consumers replay them in shuffled batches while the horizon sweeps from 25 s ago to now
    const replays = [0, 1, 2, 3].map(async (k) => {
      for (let round = 0; round < 4; round++) {
        const shuffled = [...events].sort(() => Math.random() - 0.5);
        for (let i = 0; i < shuffled.length; i += 25) await applyEvents(pool, shuffled.slice(i, i + 25), k + 8);
      }
    });
    const sweep = (async () => {
      for (let seconds = 25; seconds >= 0; seconds -= 1) await pruner(seconds).prune();
    })();
    await Promise.all([...replays, sweep]);

    // Then nothing was counted again: a replay either met its inbox row or was refused
    expect((await sum()) - before).toBe(total);
  });
});
