import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/shared/db/migrate.js';
import { readSum } from '../../src/sum-view/readSum.js';
import { readSumIfApplied } from '../../src/sum-view/readSumIfApplied.js';
import { SumStreamError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { ReadAfterWaiter } from '../../src/sum-view/readAfterWaiter.js';
import { SumCache } from '../../src/sum-view/sumCache.js';
import { applyEvents } from '../../src/sum-service/applyEvents.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

describe('ReadAfterWaiter (real PostgreSQL, LISTEN/NOTIFY)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let cache: SumCache;
  let waiter: ReadAfterWaiter;
  const logger = createLogger('test', 'silent');

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'readafter');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    await migrate(pool);
    cache = new SumCache({ databaseUrl: db.url, read: () => readSum(pool), logger, applicationName: 'sumstream-test' });
    await cache.start();
    waiter = new ReadAfterWaiter({
      check: (ids) => readSumIfApplied(pool, ids),
      changes: cache,
      logger,
      maxWaitMs: 30_000,
    });
    waiter.start();
  });
  afterAll(async () => {
    waiter?.close();
    await cache?.close();
    await pool?.end();
    await db?.drop();
  });

  it('answers 500 waiters as their events are applied by another process, each with a sum that includes its event, in few checks', async () => {
    // Given 500 waiters for events not applied yet (event i will add i + 1)
    const ids = Array.from({ length: 500 }, () => randomUUID());
    const checksBefore = waiter.checks;
    const answers = ids.map((id) => waiter.waitFor(id, { token: id, waitMs: 30_000 }));
    // When another process applies them in 10 commits of 50
    let total = 0n;
    const totalAfterBatch: bigint[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const events = ids
        .slice(batch * 50, batch * 50 + 50)
        .map((eventId, i) => ({ eventId, amount: BigInt(batch * 50 + i + 1), acceptedAtMs: undefined }));
      await applyEvents(pool, events, batch);
      total += events.reduce((sum, e) => sum + e.amount, 0n);
      totalAfterBatch.push(total);
    }
    const snapshots = await Promise.all(answers);
    // Then each answer is the sum after its own batch's commit or a later one: it includes its event
    snapshots.forEach((snapshot, i) => {
      const ownBatch = Math.floor(i / 50);
      expect(BigInt(snapshot.sum)).toBeGreaterThanOrEqual(totalAfterBatch[ownBatch]!);
      expect(totalAfterBatch.slice(ownBatch)).toContain(BigInt(snapshot.sum));
      expect(BigInt(snapshot.appliedEvents)).toBeGreaterThanOrEqual(BigInt((ownBatch + 1) * 50));
    });
    // And the waiters shared their checks: about one per commit notification, not one per waiter
    const checks = waiter.checks - checksBefore;
    console.info(`500 waiters answered after 10 commits with ${checks} checks`);
    expect(checks).toBeLessThanOrEqual(15);
    expect(waiter.size).toBe(0);
  });

  it('answers at once when the event is already applied', async () => {
    const id = randomUUID();
    await applyEvents(pool, [{ eventId: id, amount: 5n, acceptedAtMs: undefined }], 1);
    const [{ sum }] = (await pool.query<{ sum: string }>('SELECT sum(total)::text AS sum FROM sum_shards')).rows as [
      { sum: string },
    ];
    expect((await waiter.waitFor(id, { token: id, waitMs: 30_000 })).sum).toBe(sum);
  });

  it('gives up after the wait with a timeout that says what to check, and never answers a sum', async () => {
    const id = randomUUID();
    const error = await waiter.waitFor(id, { token: id, waitMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SumStreamError);
    expect((error as SumStreamError).kind).toBe('timeout');
    expect((error as Error).message).toMatch(
      new RegExp(`read token ${id} is not applied yet after waiting 300 ms.*cdc-relay.*consuming`),
    );
    expect(waiter.size).toBe(0);
  });

  it('stops waiting when the client goes away, and rejects what is pending at close', async () => {
    const gone = new AbortController();
    const first = waiter.waitFor(randomUUID(), { token: 't', waitMs: 30_000, signal: gone.signal });
    gone.abort();
    await expect(first).rejects.toMatchObject({ kind: 'unavailable' });
    const other = new ReadAfterWaiter({ check: (ids) => readSumIfApplied(pool, ids), changes: cache, logger });
    other.start();
    const pending = other.waitFor(randomUUID(), { token: 't', waitMs: 30_000 });
    other.close();
    await expect(pending).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/shutting down/),
    });
    await expect(other.waitFor(randomUUID(), { token: 't', waitMs: 10 })).rejects.toMatchObject({
      kind: 'unavailable',
    });
  });
});
