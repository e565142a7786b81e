/**
 * Decides which LSN may be confirmed to PostgreSQL: the end of the newest transaction all of
 * whose events RabbitMQ has confirmed, and nothing beyond an unconfirmed event. Pure; the
 * replication session feeds it.
 */
export class ConfirmTracker {
  private nextSeq = 1;
  /** Every event with seq ≤ this is confirmed. */
  private contiguous = 0;
  private readonly confirmedOutOfOrder = new Set<number>();
  private readonly commits: { lsn: bigint; lastSeq: number }[] = [];
  private open = false;
  private confirmed: bigint;

  constructor(startLsn = 0n) {
    this.confirmed = startLsn;
  }

  /** A transaction starts streaming. */
  begin(): void {
    this.open = true;
  }

  /** An event is about to be published; returns its sequence number. */
  published(): number {
    return this.nextSeq++;
  }

  /** RabbitMQ confirmed the event `seq`. */
  confirm(seq: number): void {
    this.confirmedOutOfOrder.add(seq);
    while (this.confirmedOutOfOrder.delete(this.contiguous + 1)) this.contiguous++;
    this.release();
  }

  /** The transaction ends at `endLsn`; it may be confirmed once its events are. */
  commit(endLsn: bigint): void {
    this.open = false;
    this.commits.push({ lsn: endLsn, lastSeq: this.nextSeq - 1 });
    this.release();
  }

  /**
   * A keepalive reported the server's WAL end. With no transaction open and nothing
   * unconfirmed, everything before it is either ours and confirmed or not ours at all:
   * confirming it lets an idle slot release WAL.
   */
  idleAt(walEnd: bigint): void {
    if (!this.open && this.commits.length === 0 && this.inFlight === 0 && walEnd > this.confirmed)
      this.confirmed = walEnd;
  }

  /** Events published but not yet confirmed. */
  get inFlight(): number {
    return this.nextSeq - 1 - this.contiguous;
  }

  /** The highest LSN safe to confirm. */
  get confirmedLsn(): bigint {
    return this.confirmed;
  }

  private release(): void {
    while (this.commits.length > 0 && this.commits[0]!.lastSeq <= this.contiguous) {
      const { lsn } = this.commits.shift()!;
      if (lsn > this.confirmed) this.confirmed = lsn;
    }
  }
}
