import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/shared/db/migrate.js';
import { readSum, type SumSnapshot } from '../../src/sum-view/readSum.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { SumCache } from '../../src/sum-view/sumCache.js';
import { SumFeed } from '../../src/sum-view/sumFeed.js';
import { applyEvents } from '../../src/sum-service/applyEvents.js';
import { eventually } from '../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

describe('SumFeed over real LISTEN/NOTIFY', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let cache: SumCache;
  let feed: SumFeed;
  let reads = 0;
  const logger = createLogger('test', 'silent');

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'sumfeed');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    await migrate(pool);
    cache = new SumCache({
      databaseUrl: db.url,
      read: () => (reads++, readSum(pool)),
      logger,
      applicationName: 'sumstream-test',
    });
    await cache.start();
    feed = new SumFeed({ source: cache, logger, intervalMs: 20 });
    feed.start();
  });
  afterAll(async () => {
    feed?.close();
    await cache?.close();
    await pool?.end();
    await db?.drop();
  });

  it('brings 1,000 watchers the sum of 100 commits by another process with far fewer reads than watchers', async () => {
    const latest: (SumSnapshot | undefined)[] = Array.from({ length: 1000 }, () => undefined);
    const offers = latest.map(() => 0);
    latest.forEach((_, i) => {
      feed.add({
        offer: (snapshot) => {
          offers[i]!++;
          latest[i] = snapshot;
        },
        end: () => undefined,
      });
    });
    const before = reads;
    // When another process commits 100 times (each commit notifies)
    let expected = 0n;
    for (let i = 1; i <= 100; i++) {
      await applyEvents(pool, [{ eventId: `feed-${i}`, amount: BigInt(i), acceptedAtMs: undefined }], i);
      expected += BigInt(i);
    }
    // Then every watcher sees the final sum
    await eventually(
      () => expect(latest.every((s) => s?.sum === String(expected) && s.appliedEvents === '100')).toBe(true),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const feedReads = reads - before;
    console.info(
      `1,000 watchers, 100 commits: ${feedReads} reads of the sum, ${offers.reduce((a, b) => a + b, 0)} offers`,
    );
    // At most one read per notification (the feed coalesces further by interval), never one per watcher.
    expect(feedReads).toBeLessThanOrEqual(101);
    expect(feedReads).toBeLessThan(1000);
    // Every read that found a newer sum went to every watcher: all watchers got the same number of offers.
    expect(new Set(offers).size).toBe(1);
  });
});
