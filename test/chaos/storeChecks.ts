/**
 * What a chaos run reads from the stores once its faults are over, whatever ran them (the single-node
 * ChaosStack or the cluster): drained, slot caught up, unacknowledged messages, and the ledger,
 * inbox and sum shards the checker compares with the clients' history.
 */
import type pg from 'pg';
import { sleep } from '../../src/dev-stack/index.js';
import type { StoreSnapshot } from './checkHistory.js';

export const QUEUE = 'addition';
export const DEAD_LETTER_QUEUE = 'addition.dead-letter';

/** The stores of a system under chaos. */
export interface ChaosStores {
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Ready-message counts of queues. */
  queueDepths(queues: readonly string[]): Promise<Record<string, number>>;
  /** The RabbitMQ management HTTP API. */
  management(method: 'GET' | 'DELETE', apiPath: string, headers?: Record<string, string>): Promise<Response>;
}

/** Polls until every ledger row is in the inbox and the queue holds nothing ready; the time, or undefined. */
export async function waitDrained(stack: ChaosStores, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const [counts] = await stack.query<{ ledger: string; applied: string }>(
        'SELECT (SELECT count(*) FROM additions) AS ledger, (SELECT count(*) FROM processed_events) AS applied',
      );
      if (counts && counts.ledger === counts.applied) {
        const [gap] = await stack.query<{ missing: string }>(
          'SELECT count(*) AS missing FROM additions a WHERE NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.event_id = a.id::text)',
        );
        if (gap?.missing === '0' && (await stack.queueDepths([QUEUE]))[QUEUE] === 0) return Date.now();
      }
    } catch {
      // A server is still coming back; keep polling.
    }
    await sleep(200);
  }
  return undefined;
}

/** Takes pg_current_wal_lsn() now and polls until the slot's confirmed_flush_lsn reaches it. */
export async function waitSlotCaughtUp(
  stack: ChaosStores,
  slot: string,
  timeoutMs: number,
): Promise<StoreSnapshot['slot'] & { ms: number }> {
  const t0 = Date.now();
  const [{ lsn: targetLsn } = { lsn: '0/0' }] = await retry(
    () => stack.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'),
    10_000,
  );
  let confirmedLsn = '?';
  while (Date.now() - t0 < timeoutMs) {
    const [row] = await stack
      .query<{ confirmed: string | null; caught_up: boolean | null }>(
        'SELECT confirmed_flush_lsn::text AS confirmed, confirmed_flush_lsn >= $2::pg_lsn AS caught_up FROM pg_replication_slots WHERE slot_name = $1',
        [slot, targetLsn],
      )
      .catch(() => []);
    confirmedLsn = row?.confirmed ?? '?';
    if (row?.caught_up) return { confirmedLsn, targetLsn, caughtUp: true, ms: Date.now() - t0 };
    await sleep(100);
  }
  return { confirmedLsn, targetLsn, caughtUp: false, ms: Date.now() - t0 };
}

/** messages_unacknowledged of the queue per the management API (its statistics lag a few seconds: poll for 0). */
export async function unacknowledged(stack: ChaosStores, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  while (Date.now() < deadline) {
    const res = await stack.management('GET', `/api/queues/%2F/${encodeURIComponent(QUEUE)}`).catch(() => undefined);
    if (res?.ok) {
      last = ((await res.json()) as { messages_unacknowledged?: number }).messages_unacknowledged;
      if (last === 0) return 0;
    }
    await sleep(500);
  }
  return last;
}

export async function readStores(stack: ChaosStores): Promise<Pick<StoreSnapshot, 'ledger' | 'inbox' | 'shards'>> {
  const ledger = await retry(
    () =>
      stack.query<{
        id: string;
        a: string;
        b: string;
        result: string;
        idempotency_key: string | null;
        accepted_ms: number;
      }>(
        'SELECT id::text AS id, a::text AS a, b::text AS b, result::text AS result, idempotency_key, (extract(epoch FROM accepted_at) * 1000)::float8 AS accepted_ms FROM additions',
      ),
    10_000,
  );
  const inbox = await retry(
    () =>
      stack.query<{ event_id: string; amount: string }>(
        'SELECT event_id, amount::text AS amount FROM processed_events',
      ),
    10_000,
  );
  const [shards] = await retry(
    () =>
      stack.query<{ total: string; applied: string }>(
        'SELECT coalesce(sum(total), 0)::text AS total, coalesce(sum(applied_events), 0)::text AS applied FROM sum_shards',
      ),
    10_000,
  );
  return {
    ledger: ledger.map((r) => ({
      id: r.id,
      a: BigInt(r.a),
      b: BigInt(r.b),
      result: BigInt(r.result),
      idempotencyKey: r.idempotency_key,
      acceptedAt: r.accepted_ms,
    })),
    inbox: inbox.map((r) => ({ eventId: r.event_id, amount: BigInt(r.amount) })),
    shards: { total: BigInt(shards?.total ?? '0'), appliedEvents: BigInt(shards?.applied ?? '0') },
  };
}

export async function retry<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}
