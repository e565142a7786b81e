/**
 * The soak's exactness check, pure. The ledger and the inbox are pruned while the soak runs, so a
 * full-table comparison (as the chaos checker makes) is impossible; like the chaos checker, the
 * expected sum comes from what the clients saw: every acknowledged Add, plus every Add of unknown
 * outcome that the ledger showed recorded (looked up while its rows were still retained, matched by
 * its operands, which are unique per Add). Then:
 * - GET /sum must equal the sum after the ramp plus that total;
 * - the applied-event count of sum_shards (never pruned) must have grown by exactly the number of
 *   those Adds: fewer is a loss, more is a double count;
 * - every ledger row still retained by both the ledger and the inbox must be in the inbox;
 * - nothing dead-lettered or unacknowledged, the slot caught up, every unknown outcome resolved.
 */

export interface SumEvidence {
  /** GET /sum and the applied-event count once the ramp had drained: the soak starts from there. */
  baselineSum: bigint;
  baselineApplied: bigint;
  acknowledged: number;
  acknowledgedTotal: bigint;
  /** Adds of unknown outcome that the ledger shows recorded, and their a + b. */
  recorded: number;
  recordedTotal: bigint;
  notRecorded: number;
  /** Unknown outcomes the ledger could not settle (unreadable until the run ended). */
  unresolved: number;
  /** Answers whose sum was not a + b. */
  wrongAnswers: number;
  /** After the drain; undefined when unreadable. */
  restSum: bigint | undefined;
  appliedEvents: bigint | undefined;
  /** Ledger rows accepted within the window that both retentions still keep, and how many of them the inbox holds. */
  window: { seconds: number; ledgerRows: number; inInbox: number } | undefined;
  deadLettered: number | undefined;
  unacknowledged: number | undefined;
  slotCaughtUp: boolean;
  /** The applied count reached the expected one and the queue emptied within the drain timeout. */
  drained: boolean;
}

export interface SumVerdict {
  ok: boolean;
  expectedSum: bigint;
  expectedApplied: bigint;
  /** Expected applications missing (count), and applications beyond the expected ones. */
  lost: number;
  doubleCounted: number;
  /** Retained ledger rows missing from the inbox. */
  notInInbox: number;
  violations: string[];
}

export function checkSoakSum(e: SumEvidence): SumVerdict {
  const violations: string[] = [];
  const expectedSum = e.baselineSum + e.acknowledgedTotal + e.recordedTotal;
  const expectedApplied = e.baselineApplied + BigInt(e.acknowledged + e.recorded);
  const countGap = e.appliedEvents === undefined ? 0n : e.appliedEvents - expectedApplied;
  const lost = countGap < 0n ? Number(-countGap) : 0;
  const doubleCounted = countGap > 0n ? Number(countGap) : 0;
  const notInInbox = e.window ? e.window.ledgerRows - e.window.inInbox : 0;

  if (e.restSum === undefined) violations.push('sum: GET /sum could not be read after the drain');
  else if (e.restSum !== expectedSum)
    violations.push(
      `sum: GET /sum answered ${e.restSum}, expected ${expectedSum} (difference ${e.restSum - expectedSum})`,
    );
  if (e.appliedEvents === undefined) violations.push('count: sum_shards could not be read after the drain');
  if (lost > 0)
    violations.push(`lost: ${lost} Adds were never applied (applied ${e.appliedEvents}, expected ${expectedApplied})`);
  if (doubleCounted > 0)
    violations.push(
      `double-counted: ${doubleCounted} applications beyond one per Add (applied ${e.appliedEvents}, expected ${expectedApplied})`,
    );
  if (notInInbox > 0)
    violations.push(`lost: ${notInInbox} ledger rows of the last ${e.window?.seconds} s are not in the inbox`);
  if (e.unresolved > 0)
    violations.push(`unknown: ${e.unresolved} Adds of unknown outcome could not be looked up in the ledger`);
  if (e.wrongAnswers > 0) violations.push(`mismatch: ${e.wrongAnswers} Adds were answered with a sum other than a + b`);
  if ((e.deadLettered ?? 0) > 0) violations.push(`queue: ${e.deadLettered} messages in the dead-letter queue`);
  if (e.deadLettered === undefined) violations.push('queue: the dead-letter queue could not be read');
  if ((e.unacknowledged ?? 0) > 0)
    violations.push(`queue: ${e.unacknowledged} messages unacknowledged after the drain`);
  if (!e.slotCaughtUp) violations.push("slot: the relay's slot did not catch up with the WAL after the drain");
  if (!e.drained) violations.push('drain: the pipeline did not apply every Add within the drain timeout');
  return { ok: violations.length === 0, expectedSum, expectedApplied, lost, doubleCounted, notInInbox, violations };
}
