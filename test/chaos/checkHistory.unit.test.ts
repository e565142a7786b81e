import { describe, expect, it } from 'vitest';
import { type AddOperation, checkHistory, type InboxRow, type LedgerRow, type StoreSnapshot } from './checkHistory.js';

const T0 = 1_700_000_000_000;
let nextIndex = 0;

function ok(a: bigint, b: bigint, id: string, extra: Partial<AddOperation> = {}): AddOperation {
  return {
    index: nextIndex++,
    client: 0,
    a,
    b,
    invokedAt: T0,
    completedAt: T0 + 50,
    attempts: 1,
    outcome: 'ok',
    operationId: id,
    sum: a + b,
    replayed: false,
    ...extra,
  };
}

function unknown(a: bigint, b: bigint, extra: Partial<AddOperation> = {}): AddOperation {
  return {
    index: nextIndex++,
    client: 1,
    a,
    b,
    invokedAt: T0,
    completedAt: T0 + 3000,
    attempts: 1,
    outcome: 'unknown',
    lastError: 'DEADLINE_EXCEEDED: Deadline exceeded',
    ...extra,
  };
}

function row(id: string, a: bigint, b: bigint, extra: Partial<LedgerRow> = {}): LedgerRow {
  return { id, a, b, result: a + b, idempotencyKey: null, acceptedAt: T0 + 10, ...extra };
}

/** A healthy store holding exactly these ledger rows, each applied once. */
function store(ledger: LedgerRow[], overrides: Partial<StoreSnapshot> = {}): StoreSnapshot {
  const inbox: InboxRow[] = ledger.map((r) => ({ eventId: r.id, amount: r.result }));
  const total = inbox.reduce((s, r) => s + r.amount, 0n);
  return {
    ledger,
    inbox,
    shards: { total, appliedEvents: BigInt(inbox.length) },
    restSum: total,
    queues: { ready: 0, unacknowledged: 0, deadLettered: 0 },
    slot: { confirmedLsn: '0/2000', targetLsn: '0/2000', caughtUp: true },
    ...overrides,
  };
}

describe('checkHistory', () => {
  it('passes a clean run: every acknowledged Add in the ledger and applied once', () => {
    const history = [
      ok(2n, 3n, 'id-1'),
      ok(-7n, 4n, 'id-2'),
      ok(1n, 1n, 'id-3', { idempotencyKey: 'k-3', replayed: true, attempts: 2 }),
    ];
    const verdict = checkHistory(
      history,
      store([row('id-1', 2n, 3n), row('id-2', -7n, 4n), row('id-3', 1n, 1n, { idempotencyKey: 'k-3' })]),
    );
    expect(verdict.violations).toEqual([]);
    expect(verdict).toMatchObject({
      ok: true,
      acknowledged: 3,
      replayed: 1,
      lost: 0,
      doubleCounted: 0,
      expectedSum: 4n,
      storeSum: 4n,
    });
  });

  it('reports a lost acknowledgement: the client saw a reply but the ledger has no such row', () => {
    const history = [ok(2n, 3n, 'id-1'), ok(10n, 20n, 'id-2')];
    // The stores only ever saw id-1.
    const verdict = checkHistory(history, store([row('id-1', 2n, 3n)]));
    expect(verdict.ok).toBe(false);
    expect(verdict.lost).toBe(1);
    expect(verdict.lostFromLedger).toEqual(['id-2']);
    expect(verdict.expectedSum).toBe(35n);
    expect(verdict.violations.join('\n')).toMatch(/lost: 1 acknowledged Adds are not in the ledger: id-2/);
    expect(verdict.violations.join('\n')).toMatch(/sum: stores hold 5, expected 35/);
  });

  it('reports a ledger row that never reached the sum as lost', () => {
    const ledger = [row('id-1', 2n, 3n), row('id-2', 10n, 20n)];
    const healthy = store(ledger);
    const verdict = checkHistory([ok(2n, 3n, 'id-1'), ok(10n, 20n, 'id-2')], {
      ...healthy,
      inbox: healthy.inbox.slice(0, 1),
      shards: { total: 5n, appliedEvents: 1n },
      restSum: 5n,
    });
    expect(verdict.lost).toBe(1);
    expect(verdict.notApplied).toEqual(['id-2']);
    expect(verdict.ok).toBe(false);
  });

  it('reports a double count: the shards counted an event the inbox holds once', () => {
    const ledger = [row('id-1', 2n, 3n), row('id-2', 10n, 20n)];
    const healthy = store(ledger);
    const verdict = checkHistory([ok(2n, 3n, 'id-1'), ok(10n, 20n, 'id-2')], {
      ...healthy,
      shards: { total: 65n, appliedEvents: 3n }, // id-2 applied twice
      restSum: 65n,
    });
    expect(verdict.doubleCounted).toBe(1);
    expect(verdict.lost).toBe(0);
    expect(verdict.violations.join('\n')).toMatch(/double-counted: 1 /);
    expect(verdict.violations.join('\n')).toMatch(/sum_shards total 65 ≠ inbox amounts 35/);
    expect(verdict.violations.join('\n')).toMatch(/GET \/sum answered 65, expected 35/);
  });

  it('resolves unknown outcomes through the ledger: recorded ones count, unrecorded ones do not, nothing is guessed', () => {
    const history = [
      ok(1n, 1n, 'id-1'),
      unknown(5n, 6n), // its row committed before the connection broke
      unknown(7n, 8n), // never recorded
      unknown(9n, 9n, { idempotencyKey: 'k-9', attempts: 40, lastError: 'UNAVAILABLE: gave up' }), // keyed, recorded under its key
    ];
    const ledger = [
      row('id-1', 1n, 1n),
      row('id-x', 5n, 6n, { acceptedAt: T0 + 1200 }),
      row('id-k', 9n, 9n, { idempotencyKey: 'k-9' }),
    ];
    const verdict = checkHistory(history, store(ledger));
    expect(verdict.violations).toEqual([]);
    expect(verdict).toMatchObject({
      unknown: 3,
      unknownRecorded: 2,
      unknownNotRecorded: 1,
      expectedSum: 2n + 11n + 18n,
      lost: 0,
    });
  });

  it('matches unknown requests as a multiset: two requests cannot explain three rows', () => {
    const history = [unknown(4n, 4n), unknown(4n, 4n, { client: 2 })];
    const ledger = [row('id-a', 4n, 4n), row('id-b', 4n, 4n), row('id-c', 4n, 4n)];
    const verdict = checkHistory(history, store(ledger));
    expect(verdict.unknownRecorded).toBe(2);
    expect(verdict.phantomLedgerRows).toHaveLength(1);
    expect(verdict.violations.join('\n')).toMatch(/phantom: 1 ledger rows match no acknowledged or unknown Add/);
  });

  it('does not let an unknown request explain a row accepted long outside its time window', () => {
    const history = [unknown(4n, 4n)];
    const verdict = checkHistory(history, store([row('id-late', 4n, 4n, { acceptedAt: T0 + 120_000 })]));
    expect(verdict.phantomLedgerRows).toEqual(['id-late']);
    expect(verdict.ok).toBe(false);
  });

  it('counts a recorded unknown whose error claimed "not recorded" (informational, not a violation)', () => {
    const history = [
      unknown(3n, 3n, { lastError: 'UNAVAILABLE: The addition was not recorded: …', claimedNotRecorded: true }),
    ];
    const verdict = checkHistory(history, store([row('id-1', 3n, 3n)]));
    expect(verdict.ok).toBe(true);
    expect(verdict.claimedNotRecordedButRecorded).toBe(1);
  });

  it('flags wrong answers, leftovers in the queues and a slot that did not catch up', () => {
    const history = [ok(2n, 2n, 'id-1', { sum: 5n })];
    const verdict = checkHistory(
      history,
      store([row('id-1', 2n, 2n)], {
        queues: { ready: 3, unacknowledged: 1, deadLettered: 2 },
        slot: { confirmedLsn: '0/1000', targetLsn: '0/2000', caughtUp: false },
      }),
    );
    const text = verdict.violations.join('\n');
    expect(text).toMatch(/Add\(2, 2\) answered 5/);
    expect(text).toMatch(/3 messages left in the queue/);
    expect(text).toMatch(/1 messages left unacknowledged/);
    expect(text).toMatch(/2 messages in the dead-letter queue/);
    expect(text).toMatch(/slot: confirmed LSN 0\/1000 did not reach 0\/2000/);
  });

  it('reports inbox rows without a ledger row', () => {
    const healthy = store([row('id-1', 1n, 2n)]);
    const verdict = checkHistory([ok(1n, 2n, 'id-1')], {
      ...healthy,
      inbox: [...healthy.inbox, { eventId: 'stray', amount: 0n }],
      shards: { total: 3n, appliedEvents: 2n },
    });
    expect(verdict.phantomInboxRows).toEqual(['stray']);
    expect(verdict.ok).toBe(false);
  });
});
