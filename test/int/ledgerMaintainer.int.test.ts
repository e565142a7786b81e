import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAddMetrics } from '../../src/add-service/addMetrics.js';
import { AdditionWriter } from '../../src/add-service/additionWriter.js';
import { type ExpiredPartitions, LedgerMaintainer } from '../../src/add-service/ledgerMaintainer.js';
import { type AddCommand, validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { migrate, MIGRATIONS_DIR, migrationFiles } from '../../src/shared/db/migrate.js';
import { createLogger } from '../../src/shared/log/createLogger.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { applyEvents } from '../../src/sum-service/applyEvents.js';
import { readSum } from '../../src/sum-view/readSum.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

const logger = createLogger('test', 'silent');
const add = (a: number, b: number, idempotencyKey?: string): AddCommand =>
  validateAddRequest({ a: a.toString(), b: b.toString(), idempotency_key: idempotencyKey ?? null });
const count = async (pool: pg.Pool, sql: string, values: unknown[] = []) =>
  Number((await pool.query<{ n: string }>(sql, values)).rows[0]?.n);

describe('LedgerMaintainer (PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const metrics = createAddMetrics(createRegistry('test'));
  const maintainer = (
    partitionSeconds: number,
    retentionSeconds = 0,
    expired: ExpiredPartitions = 'detach',
    keys = 3600,
  ) =>
    new LedgerMaintainer({
      pool,
      partitionSeconds,
      retentionSeconds,
      expired,
      idempotencyKeyRetentionSeconds: keys,
      metrics,
      logger,
    });
  const partitions = async () =>
    (
      await pool.query<{ partition_name: string; lower_bound: Date; upper_bound: Date }>(
        'SELECT * FROM ledger_partitions ORDER BY upper_bound',
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'ledger_maintainer');
    pool = new pg.Pool({ connectionString: db.url, max: 10 });
    pool.on('error', () => undefined); // idle clients die when the database is dropped
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('migrates an unpartitioned ledger with its rows and idempotency keys', async () => {
    // Given a ledger written before migration 0004, with a keyed addition
    const dir = await mkdtemp(join(tmpdir(), 'sumstream-migrations-'));
    try {
      const before = (await migrationFiles()).filter((name) => name < '0004');
      for (const name of before) await copyFile(join(MIGRATIONS_DIR, name), join(dir, name));
      await migrate(pool, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const keyedId = '6f1d2c5e-8a4b-4c3d-9e2f-1a2b3c4d5e6f';
    await pool.query(
      `INSERT INTO additions (id, a, b, result, idempotency_key) VALUES
         ($1, 20, 22, 42, 'before-0004'), (gen_random_uuid(), 1, 1, 2, NULL)`,
      [keyedId],
    );

    // When 0004 is applied
    expect(await migrate(pool)).toEqual(['0004_bounded_ledger_inbox.sql']);

    // Then the rows are in the history partition, and the key is still answered from the ledger
    expect(await count(pool, 'SELECT count(*) AS n FROM additions_history')).toBe(2);
    const writer = new AdditionWriter(pool);
    expect(await writer.write(add(20, 22, 'before-0004'))).toEqual({ id: keyedId, sum: 42n, replayed: true });
    expect(await count(pool, 'SELECT count(*) AS n FROM additions')).toBe(2);
  });

  it('expires partitions past the retention (detach keeps them, drop deletes them) and the sum is unchanged', async () => {
    // Given one-second partitions holding additions whose events were applied to the sum
    await maintainer(1).maintain();
    const writer = new AdditionWriter(pool);
    const written = await Promise.all([writer.write(add(100, 1)), writer.write(add(200, 2))]);
    await applyEvents(
      pool,
      written.map((w) => ({ eventId: w.id, amount: w.sum, acceptedAtMs: undefined })),
      0,
    );
    const sum = (await readSum(pool)).sum;
    const ledgerBefore = await count(pool, 'SELECT count(*) AS n FROM additions');
    await new Promise((r) => setTimeout(r, 2500));

    // When maintenance expires partitions older than one second, detaching them
    const detached = await maintainer(1, 1, 'detach').maintain();

    // Then the old partitions left the ledger but are kept as tables, and the sum did not move
    expect(detached.expired).toBeGreaterThanOrEqual(2);
    expect(
      await count(pool, 'SELECT count(*) AS n FROM additions WHERE id = ANY($1::uuid[])', [written.map((w) => w.id)]),
    ).toBe(0);
    expect(await count(pool, 'SELECT count(*) AS n FROM additions')).toBeLessThan(ledgerBefore);
    expect(await count(pool, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'additions_history'")).toBe(1);
    expect(
      await count(pool, "SELECT count(*) AS n FROM pg_inherits WHERE inhrelid = 'additions_history'::regclass"),
    ).toBe(0);
    expect((await readSum(pool)).sum).toBe(sum);
    // And new additions still work
    await writer.write(add(7, 7));

    // When later partitions expire with `drop`
    await new Promise((r) => setTimeout(r, 2500));
    const dropped = await maintainer(1, 1, 'drop').maintain();
    expect(dropped.expired).toBeGreaterThanOrEqual(1);
    const gone = (await partitions()).length;
    expect(gone).toBe(dropped.partitions);
    expect(await count(pool, "SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE 'additions_p%'")).toBe(
      // attached ones plus the ones detached before
      dropped.partitions + detached.expired - 1,
    );
    expect((await readSum(pool)).sum).toBe(sum);
  });

  it('makes partitions ahead of now, so additions land in them and not in the default partition', async () => {
    // When maintenance runs with one-minute partitions
    const round = await maintainer(60).maintain();

    // Then partitions exist up to two to three minutes ahead, contiguous from the history partition
    expect(round.created).toBeGreaterThanOrEqual(3);
    const made = await partitions();
    for (let i = 1; i < made.length; i++) expect(made[i]!.lower_bound).toEqual(made[i - 1]!.upper_bound);
    expect(made.at(-1)!.upper_bound.getTime()).toBeGreaterThan(Date.now() + 120_000);
    // And new additions go to a time partition
    const writer = new AdditionWriter(pool);
    await Promise.all([writer.write(add(1, 2)), writer.write(add(3, 4))]);
    expect(await count(pool, 'SELECT count(*) AS n FROM additions_default')).toBe(0);
    // And running it again makes nothing new
    expect((await maintainer(60).maintain()).created).toBeLessThanOrEqual(1);
  });

  it('moves rows out of the default partition when their partition is made', async () => {
    // Given a row beyond every partition (a clock far ahead)
    const ahead = new Date(Date.now() + 3_600_000);
    await pool.query('INSERT INTO additions (id, a, b, result, accepted_at) VALUES (gen_random_uuid(), 5, 5, 10, $1)', [
      ahead,
    ]);
    expect(await count(pool, 'SELECT count(*) AS n FROM additions_default')).toBe(1);
    const before = await count(pool, 'SELECT count(*) AS n FROM additions');

    // When maintenance runs with two-hour partitions (the next one covers it)
    const round = await maintainer(7200).maintain();

    // Then the row moved to its partition, and none was lost
    expect(round.defaultRows).toBe(0);
    expect(await count(pool, 'SELECT count(*) AS n FROM additions_default')).toBe(0);
    expect(await count(pool, 'SELECT count(*) AS n FROM additions')).toBe(before);
  });

  it('answers an idempotency key within its window and forgets it after', async () => {
    const writer = new AdditionWriter(pool);
    const first = await writer.write(add(3, 3, 'window-key'));
    expect(await writer.write(add(3, 3, 'window-key'))).toEqual({ id: first.id, sum: 6n, replayed: true });

    // When the key's window (1 s) has passed and maintenance ran
    await new Promise((r) => setTimeout(r, 1500));
    const round = await maintainer(3600, 0, 'detach', 1).maintain();

    // Then the key is forgotten: the same request is a new addition
    expect(round.keysPruned).toBeGreaterThanOrEqual(1);
    const again = await writer.write(add(3, 3, 'window-key'));
    expect(again.replayed).toBe(false);
    expect(again.id).not.toBe(first.id);
  });
});
