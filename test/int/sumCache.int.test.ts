import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/shared/db/migrate.js';
import { readSum } from '../../src/sum-view/readSum.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { applyEvents } from '../../src/sum-service/applyEvents.js';
import { SumCache } from '../../src/sum-view/sumCache.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

describe('SumCache (real PostgreSQL LISTEN/NOTIFY)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let cache: SumCache;
  let reads = 0;

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'sumcache');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    await migrate(pool);
    cache = new SumCache({
      databaseUrl: db.url,
      read: () => (reads++, readSum(pool)),
      logger: createLogger('test', 'silent'),
    });
    await cache.start();
  });
  afterAll(async () => {
    await cache?.close();
    await pool?.end();
    await db?.drop();
  });

  it('answers a burst of reads with one database read when nothing changed', async () => {
    await cache.get();
    const before = reads;
    const answers = await Promise.all(Array.from({ length: 200 }, () => cache.get()));
    expect(new Set(answers.map((a) => a.sum))).toEqual(new Set(['0']));
    expect(reads - before).toBe(0);
  });

  it("shows another instance's commit as soon as its notification arrives, and its own commits at once", async () => {
    // When another sum-service instance commits (it notifies; this cache did not apply it)
    await applyEvents(pool, [{ eventId: 'other-1', amount: 40n, acceptedAtMs: undefined }], 3);
    await eventually(async () => expect((await cache.get()).sum).toBe('40'), { timeoutMs: 5_000, intervalMs: 10 });
    // When this instance commits and says so, the next read cannot be stale
    await applyEvents(pool, [{ eventId: 'own-1', amount: 2n, acceptedAtMs: undefined }], 4);
    cache.changed();
    expect((await cache.get()).sum).toBe('42');
  });

  it('coalesces concurrent reads after a change into one refresh', async () => {
    await applyEvents(pool, [{ eventId: 'own-2', amount: 8n, acceptedAtMs: undefined }], 4);
    cache.changed();
    const before = reads;
    const answers = await Promise.all(Array.from({ length: 100 }, () => cache.get()));
    expect(new Set(answers.map((a) => a.sum))).toEqual(new Set(['50']));
    expect(reads - before).toBeLessThanOrEqual(2); // the notification of the same commit may add one
  });
});
