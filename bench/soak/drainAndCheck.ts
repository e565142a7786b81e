/**
 * The end of a soak: wait until sum_shards has applied every Add the clients know of and the queue
 * is empty, then gather the evidence checkSoakSum judges (GET /sum, the applied count, the retained
 * ledger rows against the inbox, dead letters, unacknowledged messages, the slot). The ledger/inbox
 * comparison covers only the window both retentions still keep; the rest of the exactness rests on
 * the sum and the count, which are never pruned.
 */
import { readSum } from '../../src/load/sumCheck.js';
import { sleep } from '../../src/shared/backoff.js';
import { DEAD_LETTER_QUEUE, QUEUE, retry, unacknowledged, waitSlotCaughtUp } from '../../test/chaos/storeChecks.js';
import type { SumEvidence } from './checkSoakSum.js';
import type { RetentionSettings } from './soakOptions.js';
import { SOAK_SLOT, type SoakStack } from './soakStack.js';

/** sum_shards' totals: the sum and the applied-event count, in one snapshot. */
export async function readShards(stack: SoakStack): Promise<{ sum: bigint; applied: bigint }> {
  const [row] = await stack.query<{ total: string; applied: string }>(
    'SELECT coalesce(sum(total), 0)::text AS total, coalesce(sum(applied_events), 0)::text AS applied FROM sum_shards',
  );
  return { sum: BigInt(row?.total ?? '0'), applied: BigInt(row?.applied ?? '0') };
}

/** Polls until `expectedApplied` events are applied (or more) and the queue holds nothing ready. */
async function waitApplied(stack: SoakStack, expectedApplied: bigint, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const shards = await readShards(stack).catch(() => undefined);
    if (shards && shards.applied >= expectedApplied) {
      const depth = await stack.queueDepths([QUEUE]).catch(() => undefined);
      if (depth?.[QUEUE] === 0) return true;
    }
    await sleep(250);
  }
  return false;
}

/** Seconds back from now that both the ledger and the inbox still hold (0: no such window). */
export function retainedWindowSeconds(retention: RetentionSettings): number {
  const keep = (seconds: number): number => (seconds === 0 ? Infinity : seconds);
  const both = Math.min(keep(retention.inboxRetentionSeconds), keep(retention.ledgerRetentionSeconds));
  // Margin for the prune interval and for rows accepted while the statement runs.
  const margin = Math.max(30, 2 * retention.inboxPruneIntervalSeconds);
  return both === Infinity ? 24 * 3600 : Math.max(0, both - margin);
}

export type DrainEvidence = Pick<
  SumEvidence,
  'restSum' | 'appliedEvents' | 'window' | 'deadLettered' | 'unacknowledged' | 'slotCaughtUp' | 'drained'
> & { drainMs: number };

export async function drainAndCheck(
  stack: SoakStack,
  expectedApplied: bigint,
  retention: RetentionSettings,
  timeoutMs: number,
): Promise<DrainEvidence> {
  const t0 = Date.now();
  const drained = await waitApplied(stack, expectedApplied, timeoutMs);
  const drainMs = Date.now() - t0;
  const slot = await waitSlotCaughtUp(stack, SOAK_SLOT, 30_000);
  // Anything still arriving after the slot caught up would show here.
  await waitApplied(stack, expectedApplied, 5_000);
  const shards = await retry(() => readShards(stack), 10_000).catch(() => undefined);
  const restSum = await retry(() => readSum(stack.sumUrl, 3000), 10_000).catch(() => undefined);
  const seconds = retainedWindowSeconds(retention);
  const [window] =
    seconds > 0
      ? await retry(
          () =>
            stack.query<{ ledger: number; applied: number }>(
              `SELECT count(*)::int AS ledger, count(p.event_id)::int AS applied
                 FROM additions a LEFT JOIN processed_events p ON p.event_id = a.id::text
                WHERE a.accepted_at >= now() - make_interval(secs => $1)`,
              [seconds],
            ),
          10_000,
        ).catch(() => [])
      : [];
  const depths = await retry(() => stack.queueDepths([DEAD_LETTER_QUEUE]), 10_000).catch(() => undefined);
  return {
    drained,
    drainMs,
    slotCaughtUp: slot.caughtUp,
    appliedEvents: shards?.applied,
    restSum,
    window: window ? { seconds, ledgerRows: window.ledger, inInbox: window.applied } : undefined,
    deadLettered: depths?.[DEAD_LETTER_QUEUE],
    unacknowledged: await unacknowledged(stack, 15_000),
  };
}
