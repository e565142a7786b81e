import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAddMetrics } from '../../src/add-service/addMetrics.js';
import { AdditionWriter, type RecordedAddition } from '../../src/add-service/additionWriter.js';
import { pruneOutbox } from '../../src/add-service/pruneOutbox.js';
import { type AddCommand, INT64_MAX, INT64_MIN, validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { SumStreamError } from '../../src/shared/errors.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { ADDITION_AGGREGATE_TYPE, ADDITION_EVENT_TYPE } from '../../src/shared/vocabulary.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

const add = (a: bigint | number, b: bigint | number, idempotencyKey?: string): AddCommand =>
  validateAddRequest({ a: a.toString(), b: b.toString(), idempotency_key: idempotencyKey ?? null });

interface LedgerRow {
  id: string;
  a: string;
  b: string;
  result: string;
  idempotency_key: string | null;
  accepted_at: Date;
}
interface OutboxRow {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  payload: Record<string, unknown>;
}

describe('AdditionWriter (PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase(inject('databaseUrl'), 'addition_writer');
    pool = new pg.Pool({ connectionString: db.url, max: 10 });
    pool.on('error', () => undefined); // idle clients die when the database is dropped
    await migrate(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const ledgerRow = async (id: string): Promise<LedgerRow | undefined> =>
    (
      await pool.query<LedgerRow>(
        'SELECT id, a::text, b::text, result::text, idempotency_key, accepted_at FROM additions WHERE id = $1',
        [id],
      )
    ).rows[0];
  const outboxRow = async (id: string): Promise<OutboxRow | undefined> =>
    (
      await pool.query<OutboxRow>('SELECT id, aggregatetype, aggregateid, type, payload FROM outbox WHERE id = $1', [
        id,
      ])
    ).rows[0];
  const count = async (sql: string, params: unknown[] = []): Promise<number> =>
    Number((await pool.query<{ n: string }>(sql, params)).rows[0]?.n);

  it('writes the ledger row and its outbox row together', async () => {
    const writer = new AdditionWriter(pool);

    // When one addition is written
    const result = await writer.write(add(2, 3));

    // Then both rows exist, under the same event id
    expect(result).toMatchObject({ sum: 5n, replayed: false });
    expect(await ledgerRow(result.id)).toMatchObject({
      id: result.id,
      a: '2',
      b: '3',
      result: '5',
      idempotency_key: null,
    });
    expect(await outboxRow(result.id)).toMatchObject({
      id: result.id,
      aggregatetype: ADDITION_AGGREGATE_TYPE,
      aggregateid: result.id,
      type: ADDITION_EVENT_TYPE,
    });
  });

  it('commits nothing of a batch whose outbox insert fails (ledger and outbox are one transaction)', async () => {
    // Given an outbox that refuses any event whose a is 666
    await pool.query(`CREATE FUNCTION refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.payload->>'a' = '666' THEN RAISE EXCEPTION 'outbox refuses 666'; END IF; RETURN NEW; END $$`);
    await pool.query('CREATE TRIGGER refuse_666 BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_666()');
    try {
      const additionsBefore = await count('SELECT count(*) AS n FROM additions');
      const outboxBefore = await count('SELECT count(*) AS n FROM outbox');
      // When the refused addition is written alone, and again in one batch with good ones
      const alone = new AdditionWriter(pool);
      const aloneError = await alone.write(add(666, 1)).catch((e: unknown) => e);
      const sizes: number[] = [];
      const batchedWithSizes = new AdditionWriter(pool, {
        maxConcurrentFlushes: 1,
        maxBatchSize: 10,
        onFlush: (size) => sizes.push(size),
      });
      // The first write goes out alone; the next three queue up behind it and share one transaction.
      const first = batchedWithSizes.write(add(1, 1));
      const group = await Promise.allSettled([
        batchedWithSizes.write(add(7, 7)),
        batchedWithSizes.write(add(666, 2)),
        batchedWithSizes.write(add(8, 8)),
      ]);
      await first;
      await batchedWithSizes.drain();

      // Then the refused write fails as retryable, its batch-mates with it, and no ledger row is left without its outbox row
      expect(aloneError).toBeInstanceOf(SumStreamError);
      expect((aloneError as SumStreamError).kind).toBe('unavailable');
      expect(sizes).toEqual([1]); // onFlush reports committed transactions only; the failed one of 3 is not among them
      expect(group.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      for (const r of group) expect(r.status === 'rejected' && (r.reason as SumStreamError).kind).toBe('unavailable');
      expect(await count('SELECT count(*) AS n FROM additions')).toBe(additionsBefore + 1); // only add(1, 1)
      expect(await count('SELECT count(*) AS n FROM outbox')).toBe(outboxBefore + 1);
      expect(await count('SELECT count(*) AS n FROM additions WHERE a IN (666, 7, 8)')).toBe(0);
      expect(
        await count('SELECT count(*) AS n FROM additions l LEFT JOIN outbox o USING (id) WHERE o.id IS NULL'),
      ).toBe(0);
    } finally {
      await pool.query('DROP TRIGGER refuse_666 ON outbox');
      await pool.query('DROP FUNCTION refuse_666()');
    }
  });

  it('groups 500 concurrent writes into fewer transactions, and every one lands', async () => {
    // Given a writer that reports each transaction's size
    const sizes: number[] = [];
    const metrics = createAddMetrics(createRegistry('test'));
    const writer = new AdditionWriter(pool, {
      onFlush: (size, seconds) => {
        sizes.push(size);
        metrics.batchSize.observe(size);
        metrics.transactionDuration.observe(seconds);
      },
    });
    const before = await count('SELECT count(*) AS n FROM additions');

    // When 500 additions arrive at once
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => writer.write(add(i, 1_000_000))));
    await writer.drain();

    // Then they were grouped (fewer transactions than writes, some with more than one addition)
    expect(sizes.reduce((s, n) => s + n, 0)).toBe(500);
    expect(sizes.length).toBeLessThan(500);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256); // the default maxBatchSize
    const histogram = (await metrics.batchSize.get()).values;
    expect(histogram.find((v) => v.metricName === 'sumstream_add_batch_size_sum')?.value).toBe(500);
    expect(histogram.find((v) => v.metricName === 'sumstream_add_batch_size_count')?.value).toBe(sizes.length);
    // And each got its own id, was not a replay, and is in the ledger and the outbox
    const ids = results.map((r) => r.id);
    expect(new Set(ids).size).toBe(500);
    expect(results.every((r, i) => !r.replayed && r.sum === BigInt(i + 1_000_000))).toBe(true);
    expect(await count('SELECT count(*) AS n FROM additions')).toBe(before + 500);
    expect(await count('SELECT count(*) AS n FROM additions WHERE id = ANY($1::uuid[])', [ids])).toBe(500);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE id = ANY($1::uuid[])', [ids])).toBe(500);
    expect(
      await count('SELECT count(*) AS n FROM additions WHERE id = ANY($1::uuid[]) AND result = a + b AND b = 1000000', [
        ids,
      ]),
    ).toBe(500);
  });

  it('records one addition for 20 concurrent requests with the same idempotency key', async () => {
    // Given one key sent 20 times at once
    const key = `retry-${randomUUID()}`;
    const writer = new AdditionWriter(pool);

    // When all 20 are written concurrently
    const results = await Promise.all(Array.from({ length: 20 }, () => writer.write(add(40, 2, key))));

    // Then exactly one ledger row exists, every answer carries its id, and 19 are replays
    const { rows } = await pool.query<LedgerRow>(
      'SELECT id, a::text, b::text, result::text FROM additions WHERE idempotency_key = $1',
      [key],
    );
    expect(rows).toHaveLength(1);
    const id = rows[0]!.id;
    expect(results.map((r) => r.id)).toEqual(Array(20).fill(id));
    expect(results.every((r) => r.sum === 42n)).toBe(true);
    expect(results.filter((r) => r.replayed)).toHaveLength(19);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE id = $1', [id])).toBe(1);

    // And a later retry (new writer, e.g. after a restart) is answered from the ledger too
    const later = await new AdditionWriter(pool).write(add(40, 2, key));
    expect(later).toEqual({ id, sum: 42n, replayed: true });
  });

  it('refuses the same idempotency key with different operands as a conflict', async () => {
    const key = `conflict-${randomUUID()}`;
    const writer = new AdditionWriter(pool);
    // Given a recorded addition under the key
    const original = await writer.write(add(1, 2, key));

    // When the key is reused for another addition
    const error = await writer.write(add(3, 4, key)).catch((e: unknown) => e);

    // Then it is a conflict, and the ledger still holds only the original
    expect(error).toBeInstanceOf(SumStreamError);
    expect((error as SumStreamError).kind).toBe('conflict');
    expect((error as SumStreamError).message).toContain('Add(1, 2)');
    const { rows } = await pool.query<LedgerRow>(
      'SELECT id, a::text, b::text FROM additions WHERE idempotency_key = $1',
      [key],
    );
    expect(rows).toEqual([{ id: original.id, a: '1', b: '2' }]);

    // And when both are sent at once, exactly one wins and the other is a conflict
    const raceKey = `conflict-race-${randomUUID()}`;
    const race = await Promise.allSettled([writer.write(add(5, 6, raceKey)), writer.write(add(7, 8, raceKey))]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = race.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0]!.reason as SumStreamError).kind).toBe('conflict');
    expect(await count('SELECT count(*) AS n FROM additions WHERE idempotency_key = $1', [raceKey])).toBe(1);
  });

  it('writes an outbox payload that matches the ledger, exactly, as decimal strings', async () => {
    const writer = new AdditionWriter(pool);
    // Given additions at the edges of int64 (beyond what a JSON number keeps exact)
    const commands = [
      add(INT64_MAX, 0),
      add(INT64_MIN, 0),
      add(INT64_MAX - 1n, 1),
      add(-4_611_686_018_427_387_904n, -4_611_686_018_427_387_904n),
      add(0, 0),
    ];
    const results: RecordedAddition[] = await Promise.all(commands.map((c) => writer.write(c)));

    for (const [i, result] of results.entries()) {
      const ledger = (await ledgerRow(result.id))!;
      const outbox = (await outboxRow(result.id))!;
      // Then the payload carries the ledger's id, operands and result as strings
      expect(outbox.payload).toEqual({
        id: ledger.id,
        a: ledger.a,
        b: ledger.b,
        amount: ledger.result,
        acceptedAt: ledger.accepted_at.toISOString(),
      });
      expect(outbox.payload['a']).toBe(commands[i]!.a.toString());
      expect(outbox.payload['b']).toBe(commands[i]!.b.toString());
      expect(outbox.payload['amount']).toBe(commands[i]!.sum.toString());
      expect(result.sum).toBe(commands[i]!.sum);
      expect(outbox).toMatchObject({
        aggregatetype: ADDITION_AGGREGATE_TYPE,
        aggregateid: ledger.id,
        type: ADDITION_EVENT_TYPE,
      });
    }
    // And the JSON text itself holds strings (no number that a parser could round)
    const { rows } = await pool.query<{ t: string }>(
      "SELECT jsonb_typeof(payload->'amount') AS t FROM outbox WHERE id = $1",
      [results[0]!.id],
    );
    expect(rows[0]?.t).toBe('string');
  });

  it('pruneOutbox deletes only outbox rows older than the retention, and never ledger rows', async () => {
    const writer = new AdditionWriter(pool);
    // Given three rows aged an hour, one aged 30 s and two fresh ones
    const written = await Promise.all(Array.from({ length: 6 }, (_, i) => writer.write(add(i, 100))));
    const [old1, old2, old3, recent, fresh1, fresh2] = written.map((r) => r.id) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    await pool.query(
      "UPDATE outbox SET created_at = clock_timestamp() - interval '1 hour' WHERE id = ANY($1::uuid[])",
      [[old1, old2, old3]],
    );
    await pool.query("UPDATE outbox SET created_at = clock_timestamp() - interval '30 seconds' WHERE id = $1", [
      recent,
    ]);
    // (rows of earlier tests are younger than 120 s as well)
    const outboxBefore = await count('SELECT count(*) AS n FROM outbox');
    const additionsBefore = await count('SELECT count(*) AS n FROM additions');

    // When the outbox is pruned with a retention of 120 s
    const deleted = await pruneOutbox(pool, 120);

    // Then exactly the hour-old rows are gone
    expect(deleted).toBe(3);
    expect(await count('SELECT count(*) AS n FROM outbox')).toBe(outboxBefore - 3);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE id = ANY($1::uuid[])', [[old1, old2, old3]])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE id = ANY($1::uuid[])', [[recent, fresh1, fresh2]])).toBe(
      3,
    );
    expect(await count('SELECT count(*) AS n FROM additions')).toBe(additionsBefore);

    // And a retention of 10 s also takes the 30-second-old row, not the fresh ones; a long retention finds nothing more
    expect(await pruneOutbox(pool, 10)).toBeGreaterThanOrEqual(1);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE id = $1', [recent])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM outbox WHERE id = ANY($1::uuid[])', [[fresh1, fresh2]])).toBe(2);
    expect(await pruneOutbox(pool, 3600)).toBe(0);
  });
});
