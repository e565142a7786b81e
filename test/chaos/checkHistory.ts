/**
 * The chaos checker: a pure function from what the clients saw (the history) and what the stores
 * hold after the drain (ledger, inbox, sum shards, queues, slot) to a verdict. No I/O, so it is
 * unit-tested with crafted histories.
 *
 * Rules (after Jepsen's "acknowledged writes must survive, indeterminate ones may go either way"):
 * - An acknowledged Add (reply received) must be in the ledger under its operation_id with its
 *   operands, and applied to the sum exactly once (its id in the inbox, its amount once in the sum).
 * - An Add whose outcome the client could not know (deadline, connection reset, UNAVAILABLE, gave up
 *   retrying) is resolved through the ledger, never guessed: a keyed one by its idempotency key, an
 *   unkeyed one by a multiset match of ledger rows nobody acknowledged against unknown requests with
 *   the same operands whose time window contains the row's accepted_at.
 * - A ledger row that matches neither is a phantom; a ledger row missing from the inbox is lost; an
 *   inbox row without a ledger row is a phantom application; shards that add up to more than the
 *   inbox are a double count. The expected sum is acknowledged results plus resolved unknowns.
 */

/** One Add as a client experienced it (possibly several attempts with one idempotency key). */
export interface AddOperation {
  /** Position in the history; unique. */
  index: number;
  client: number;
  a: bigint;
  b: bigint;
  /** Set when the client used an idempotency key (and retried with it on failure). */
  idempotencyKey?: string | undefined;
  /** Client clock (epoch ms) of the first send and of the final answer or giving up. */
  invokedAt: number;
  completedAt: number;
  attempts: number;
  /** 'ok': a reply arrived. 'unknown': no reply; whether it was recorded is for the ledger to say. */
  outcome: 'ok' | 'unknown';
  operationId?: string | undefined;
  sum?: bigint | undefined;
  replayed?: boolean | undefined;
  /** The final error, as `CODE: details`. */
  lastError?: string | undefined;
  /** The final error was the add-service saying the addition was not recorded (UNAVAILABLE). */
  claimedNotRecorded?: boolean | undefined;
}

export interface LedgerRow {
  id: string;
  a: bigint;
  b: bigint;
  result: bigint;
  idempotencyKey: string | null;
  /** accepted_at, epoch ms (the add-service's clock; same machine as the clients). */
  acceptedAt: number;
}

export interface InboxRow {
  eventId: string;
  amount: bigint;
}

/** What the stores hold once the pipeline has drained. */
export interface StoreSnapshot {
  ledger: readonly LedgerRow[];
  inbox: readonly InboxRow[];
  /** Totals over sum_shards. */
  shards: { total: bigint; appliedEvents: bigint };
  /** GET /sum of the sum-service, undefined when it could not be read. */
  restSum: bigint | undefined;
  /** `addition`: ready messages after the consumer stopped, unacknowledged ones; dead letters. */
  queues: { ready: number; unacknowledged: number; deadLettered: number };
  /** The relay's slot: confirmed_flush_lsn against pg_current_wal_lsn() taken after the drain. */
  slot?: { confirmedLsn: string; targetLsn: string; caughtUp: boolean } | undefined;
}

export interface CheckOptions {
  /** Slack around an unknown request's [invokedAt, completedAt] when matching accepted_at. Default 10 s. */
  windowSlackMs?: number;
}

export interface Verdict {
  ok: boolean;
  /** One line per violated rule (with up to a few example ids). */
  violations: string[];
  operations: number;
  acknowledged: number;
  /** Acknowledged answers that were replays of an earlier attempt with the same key. */
  replayed: number;
  unknown: number;
  /** Unknown outcomes the ledger shows were recorded (counted in the expected sum). */
  unknownRecorded: number;
  /** Unknown outcomes the ledger shows were not recorded. */
  unknownNotRecorded: number;
  /** Recorded unknowns whose final error was the add-service claiming "not recorded" (informational). */
  claimedNotRecordedButRecorded: number;
  /** Acknowledged Adds missing from the ledger, plus ledger rows never applied to the sum. */
  lost: number;
  lostFromLedger: string[];
  notApplied: string[];
  /** Applications beyond one per event. */
  doubleCounted: number;
  phantomLedgerRows: string[];
  phantomInboxRows: string[];
  /** Replies or rows whose numbers disagree (reply sum ≠ a + b, ledger ≠ request, inbox amount ≠ ledger result). */
  mismatches: string[];
  expectedSum: bigint;
  storeSum: bigint;
  inboxSum: bigint;
  restSum: bigint | undefined;
  ledgerRows: number;
  inboxRows: number;
}

const EXAMPLES = 5;
const examples = (ids: readonly string[]): string =>
  `${ids.slice(0, EXAMPLES).join(', ')}${ids.length > EXAMPLES ? `, … (${ids.length} in all)` : ''}`;

export function checkHistory(
  history: readonly AddOperation[],
  store: StoreSnapshot,
  options: CheckOptions = {},
): Verdict {
  const slack = options.windowSlackMs ?? 10_000;
  const violations: string[] = [];
  const mismatches: string[] = [];

  // Acknowledged operations, by operation id.
  const acked = history.filter((op) => op.outcome === 'ok');
  const ackedById = new Map<string, AddOperation>();
  for (const op of acked) {
    if (op.operationId === undefined) {
      mismatches.push(`op#${op.index}: acknowledged without an operation_id`);
      continue;
    }
    const earlier = ackedById.get(op.operationId);
    if (earlier)
      mismatches.push(
        `op#${earlier.index} and op#${op.index}: two different Adds answered with one operation_id ${op.operationId}`,
      );
    ackedById.set(op.operationId, op);
    if (op.sum !== op.a + op.b) mismatches.push(`op#${op.index}: Add(${op.a}, ${op.b}) answered ${op.sum}`);
  }

  // Ledger rows: acknowledged ones are checked; the others must each resolve a distinct unknown request.
  const ledgerById = new Map<string, LedgerRow>();
  const duplicateLedgerIds: string[] = [];
  for (const row of store.ledger) {
    if (ledgerById.has(row.id)) duplicateLedgerIds.push(row.id);
    ledgerById.set(row.id, row);
  }
  if (duplicateLedgerIds.length > 0) mismatches.push(`ledger holds an id twice: ${examples(duplicateLedgerIds)}`);

  const unknown = history.filter((op) => op.outcome === 'unknown');
  const unknownByKey = new Map<string, AddOperation>();
  const unkeyedByOperands = new Map<string, AddOperation[]>();
  for (const op of unknown) {
    if (op.idempotencyKey !== undefined) unknownByKey.set(op.idempotencyKey, op);
    else {
      const k = `${op.a},${op.b}`;
      const list = unkeyedByOperands.get(k) ?? [];
      list.push(op);
      unkeyedByOperands.set(k, list);
    }
  }

  let expectedSum = 0n;
  for (const op of ackedById.values()) expectedSum += op.sum ?? 0n;

  const resolved = new Set<AddOperation>();
  const phantomLedgerRows: string[] = [];
  const unkeyedRows = new Map<string, LedgerRow[]>();
  for (const row of store.ledger) {
    if (row.result !== row.a + row.b) mismatches.push(`ledger ${row.id}: ${row.a} + ${row.b} stored as ${row.result}`);
    const op = ackedById.get(row.id);
    if (op) {
      if (op.a !== row.a || op.b !== row.b)
        mismatches.push(
          `ledger ${row.id}: holds Add(${row.a}, ${row.b}) but op#${op.index} asked Add(${op.a}, ${op.b})`,
        );
      if (op.idempotencyKey !== undefined && row.idempotencyKey !== op.idempotencyKey)
        mismatches.push(`ledger ${row.id}: key ${row.idempotencyKey} but op#${op.index} used ${op.idempotencyKey}`);
      continue;
    }
    if (row.idempotencyKey !== null) {
      const keyed = unknownByKey.get(row.idempotencyKey);
      if (keyed && keyed.a === row.a && keyed.b === row.b && !resolved.has(keyed)) {
        resolved.add(keyed);
        expectedSum += row.result;
      } else {
        phantomLedgerRows.push(row.id);
      }
      continue;
    }
    const k = `${row.a},${row.b}`;
    const list = unkeyedRows.get(k) ?? [];
    list.push(row);
    unkeyedRows.set(k, list);
  }

  // Multiset match of unacknowledged, unkeyed rows to unknown requests with the same operands: rows in
  // accepted_at order, each taking the open window that closes first (optimal for interval–point matching);
  // among equal candidates, requests whose error was indeterminate before those the server called unrecorded.
  for (const [k, rows] of unkeyedRows) {
    const candidates = [...(unkeyedByOperands.get(k) ?? [])];
    rows.sort((x, y) => x.acceptedAt - y.acceptedAt);
    for (const row of rows) {
      let best: AddOperation | undefined;
      for (const op of candidates) {
        if (resolved.has(op)) continue;
        if (row.acceptedAt < op.invokedAt - slack || row.acceptedAt > op.completedAt + slack) continue;
        if (
          best === undefined ||
          Number(op.claimedNotRecorded ?? false) < Number(best.claimedNotRecorded ?? false) ||
          (Boolean(op.claimedNotRecorded) === Boolean(best.claimedNotRecorded) && op.completedAt < best.completedAt)
        ) {
          best = op;
        }
      }
      if (best) {
        resolved.add(best);
        expectedSum += row.result;
      } else {
        phantomLedgerRows.push(row.id);
      }
    }
  }
  const claimedNotRecordedButRecorded = [...resolved].filter((op) => op.claimedNotRecorded).length;

  const lostFromLedger = [...ackedById.keys()].filter((id) => !ledgerById.has(id));

  // The inbox: every ledger row exactly once, nothing else, with the ledger's amount.
  const inboxById = new Map<string, InboxRow>();
  let inboxDuplicates = 0;
  let inboxSum = 0n;
  for (const row of store.inbox) {
    if (inboxById.has(row.eventId)) inboxDuplicates++;
    inboxById.set(row.eventId, row);
    inboxSum += row.amount;
  }
  const notApplied = store.ledger.filter((row) => !inboxById.has(row.id)).map((row) => row.id);
  const phantomInboxRows: string[] = [];
  for (const row of inboxById.values()) {
    const ledger = ledgerById.get(row.eventId);
    if (!ledger) phantomInboxRows.push(row.eventId);
    else if (ledger.result !== row.amount)
      mismatches.push(`inbox ${row.eventId}: amount ${row.amount}, ledger result ${ledger.result}`);
  }
  const extraApplications = store.shards.appliedEvents - BigInt(inboxById.size);
  const doubleCounted = inboxDuplicates + (extraApplications > 0n ? Number(extraApplications) : 0);
  const lostIds = new Set([...lostFromLedger, ...notApplied]);

  if (lostFromLedger.length > 0)
    violations.push(
      `lost: ${lostFromLedger.length} acknowledged Adds are not in the ledger: ${examples(lostFromLedger)}`,
    );
  if (notApplied.length > 0)
    violations.push(`lost: ${notApplied.length} ledger rows were never applied to the sum: ${examples(notApplied)}`);
  if (doubleCounted > 0)
    violations.push(
      `double-counted: ${doubleCounted} applications beyond one per event (applied_events ${store.shards.appliedEvents}, inbox ${inboxById.size} distinct of ${store.inbox.length})`,
    );
  if (extraApplications < 0n)
    violations.push(
      `sum_shards count ${store.shards.appliedEvents} applied events but the inbox holds ${inboxById.size}`,
    );
  if (store.shards.total !== inboxSum)
    violations.push(
      `sum_shards total ${store.shards.total} ≠ inbox amounts ${inboxSum} (difference ${store.shards.total - inboxSum})`,
    );
  if (phantomLedgerRows.length > 0)
    violations.push(
      `phantom: ${phantomLedgerRows.length} ledger rows match no acknowledged or unknown Add: ${examples(phantomLedgerRows)}`,
    );
  if (phantomInboxRows.length > 0)
    violations.push(`phantom: ${phantomInboxRows.length} inbox rows have no ledger row: ${examples(phantomInboxRows)}`);
  if (mismatches.length > 0)
    violations.push(
      `mismatch: ${mismatches.length} answers or rows disagree: ${mismatches.slice(0, EXAMPLES).join('; ')}`,
    );
  if (store.shards.total !== expectedSum)
    violations.push(
      `sum: stores hold ${store.shards.total}, expected ${expectedSum} (acknowledged + resolved unknowns; difference ${store.shards.total - expectedSum})`,
    );
  if (store.restSum === undefined) violations.push('sum: GET /sum could not be read after the drain');
  else if (store.restSum !== expectedSum)
    violations.push(`sum: GET /sum answered ${store.restSum}, expected ${expectedSum}`);
  if (store.queues.ready > 0)
    violations.push(`queue: ${store.queues.ready} messages left in the queue after the drain`);
  if (store.queues.unacknowledged > 0)
    violations.push(`queue: ${store.queues.unacknowledged} messages left unacknowledged after the drain`);
  if (store.queues.deadLettered > 0)
    violations.push(`queue: ${store.queues.deadLettered} messages in the dead-letter queue`);
  if (store.slot && !store.slot.caughtUp)
    violations.push(`slot: confirmed LSN ${store.slot.confirmedLsn} did not reach ${store.slot.targetLsn}`);

  return {
    ok: violations.length === 0,
    violations,
    operations: history.length,
    acknowledged: acked.length,
    replayed: acked.filter((op) => op.replayed).length,
    unknown: unknown.length,
    unknownRecorded: resolved.size,
    unknownNotRecorded: unknown.length - resolved.size,
    claimedNotRecordedButRecorded,
    lost: lostIds.size,
    lostFromLedger,
    notApplied,
    doubleCounted,
    phantomLedgerRows,
    phantomInboxRows,
    mismatches,
    expectedSum,
    storeSum: store.shards.total,
    inboxSum,
    restSum: store.restSum,
    ledgerRows: store.ledger.length,
    inboxRows: store.inbox.length,
  };
}
