/**
 * Settles Adds of unknown outcome against the ledger, as the chaos checker does, but while the run
 * goes on: the ledger is pruned after LEDGER_RETENTION_SECONDS, so each one is looked up a settle
 * time after its last attempt (a commit in flight at the deadline has landed by then) and long
 * before its rows could be dropped. Every soak Add has operands of its own, so a row with them is
 * that Add, and no row means it was not recorded: nothing is guessed.
 */
import type { ChaosStores } from '../../test/chaos/storeChecks.js';

/** An Add whose outcome the client could not know (no answer within the deadline, connection lost ...). */
export interface UnknownAdd {
  a: bigint;
  b: bigint;
  /** Epoch ms of the first attempt and of giving up. */
  invokedAt: number;
  completedAt: number;
}

export interface Resolution {
  recorded: UnknownAdd[];
  notRecorded: UnknownAdd[];
}

/** Slack around the Adds' time span when looking for their rows (clocks of one machine; commit after the deadline). */
const WINDOW_SLACK_MS = 15_000;

/** Which of `adds` the ledger rows (a, b) show recorded. Pure. */
export function matchUnknowns(adds: readonly UnknownAdd[], rows: readonly { a: bigint; b: bigint }[]): Resolution {
  const inLedger = new Set(rows.map((r) => `${r.a},${r.b}`));
  const recorded: UnknownAdd[] = [];
  const notRecorded: UnknownAdd[] = [];
  for (const add of adds) (inLedger.has(`${add.a},${add.b}`) ? recorded : notRecorded).push(add);
  return { recorded, notRecorded };
}

/** Looks `adds` up in the ledger (one query over the partitions of their time span); throws when it cannot. */
export async function resolveUnknowns(
  stores: Pick<ChaosStores, 'query'>,
  adds: readonly UnknownAdd[],
): Promise<Resolution> {
  if (adds.length === 0) return { recorded: [], notRecorded: [] };
  const from = adds.reduce((m, u) => Math.min(m, u.invokedAt), Infinity) - WINDOW_SLACK_MS;
  const to = adds.reduce((m, u) => Math.max(m, u.completedAt), -Infinity) + WINDOW_SLACK_MS;
  const rows = await stores.query<{ a: string; b: string }>(
    `SELECT a::text AS a, b::text AS b FROM additions
      WHERE accepted_at BETWEEN to_timestamp($2::float8 / 1000) AND to_timestamp($3::float8 / 1000)
        AND a = ANY($1::bigint[])`,
    [adds.map((u) => u.a.toString()), from, to],
  );
  return matchUnknowns(
    adds,
    rows.map((r) => ({ a: BigInt(r.a), b: BigInt(r.b) })),
  );
}

/** Where the unknown outcomes wait (SoakAddTarget). */
export interface UnknownSource {
  pending: UnknownAdd[];
  takeSettled(before: number): UnknownAdd[];
}

/** The running tally of unknown outcomes settled against the ledger. */
export class OutcomeTally {
  recorded = 0;
  recordedTotal = 0n;
  notRecorded = 0;

  constructor(
    private readonly stores: Pick<ChaosStores, 'query'>,
    private readonly source: UnknownSource,
  ) {}

  /** Settles the unknown outcomes that completed before `before` (epoch ms); on a failed lookup they wait for the next call. */
  async settle(before: number): Promise<void> {
    const adds = this.source.takeSettled(before);
    if (adds.length === 0) return;
    try {
      const { recorded, notRecorded } = await resolveUnknowns(this.stores, adds);
      this.recorded += recorded.length;
      for (const add of recorded) this.recordedTotal += add.a + add.b;
      this.notRecorded += notRecorded.length;
    } catch {
      this.source.pending.push(...adds);
    }
  }
}
