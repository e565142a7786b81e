import { backoffMs } from '../shared/backoff.js';

/** An event with its place in the stream (the ConfirmTracker's sequence number). */
export interface Sequenced {
  seq: number;
}

export const PUBLISH_BACKPRESSURE_DEFAULTS = { retryBaseMs: 50, retryMaxMs: 1_000 } as const;

export interface PublishBackpressureOptions<T extends Sequenced> {
  /** Publishes `item` again; its outcome comes back through `confirmed` or `refused`. */
  publish: (item: T) => void;
  /** The first refusal of an episode: stop taking changes from the stream. */
  onStart: () => void;
  /** Every refused or held event is confirmed: take changes again. */
  onEnd: (heldMs: number) => void;
  /** First retry after at most this many ms, doubling. Default `PUBLISH_BACKPRESSURE_DEFAULTS.retryBaseMs`. */
  retryBaseMs?: number;
  /** Longest wait between two retries, in ms. Default `PUBLISH_BACKPRESSURE_DEFAULTS.retryMaxMs`. */
  retryMaxMs?: number;
}

/**
 * What the relay does when RabbitMQ refuses a publish (a nack: the queue is at its length bound,
 * `x-overflow: reject-publish`): not a failure but backpressure. An episode starts at the first
 * refusal. The refused events, and every event the stream hands over while the episode lasts, wait
 * here in stream order; the oldest is published again with backoff (one probe at a time) until
 * RabbitMQ confirms it, then the rest follow, and the episode ends once every one of them is
 * confirmed. The events stay unconfirmed in the ConfirmTracker meanwhile, so no LSN past them is
 * reported. Holds no I/O of its own: the session publishes and reports the outcomes.
 */
export class PublishBackpressure<T extends Sequenced> {
  /** Refused or held events not yet published again, by seq. */
  private readonly waiting: T[] = [];
  /** Seqs refused or held in this episode and not yet confirmed. */
  private readonly unsettled = new Set<number>();
  private since: number | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The seq of the retry in flight, while one is. */
  private probe: number | undefined;

  constructor(private readonly options: PublishBackpressureOptions<T>) {}

  /** True from the first refusal until every refused or held event is confirmed. */
  get holding(): boolean {
    return this.since !== undefined;
  }

  /** RabbitMQ refused `item`: start an episode (if none runs) and retry it. */
  refused(item: T): void {
    if (item.seq === this.probe) this.probe = undefined;
    this.insert(item);
    if (this.since === undefined) {
      this.since = Date.now();
      this.options.onStart();
    }
    this.scheduleRetry();
  }

  /**
   * An event the stream handed over while `holding`: published at once when the last retry was
   * confirmed (RabbitMQ takes events again), else kept behind the refused ones.
   */
  hold(item: T): void {
    this.insert(item);
    if (this.probe === undefined && this.timer === undefined) this.flush();
  }

  /** RabbitMQ confirmed the event `seq` (any event: those of no episode are ignored). */
  confirmed(seq: number): void {
    if (!this.unsettled.delete(seq)) return;
    if (seq === this.probe) {
      this.probe = undefined;
      this.attempt = 0;
      this.flush();
    }
    if (this.unsettled.size === 0 && this.since !== undefined) {
      const heldMs = Date.now() - this.since;
      this.since = undefined;
      this.options.onEnd(heldMs);
    }
  }

  /** Stops retrying (the session ends). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private insert(item: T): void {
    this.unsettled.add(item.seq);
    let i = this.waiting.length;
    while (i > 0 && this.waiting[i - 1]!.seq > item.seq) i--;
    this.waiting.splice(i, 0, item);
  }

  private scheduleRetry(): void {
    if (this.timer !== undefined || this.probe !== undefined) return;
    const delay = backoffMs(
      this.attempt++,
      this.options.retryBaseMs ?? PUBLISH_BACKPRESSURE_DEFAULTS.retryBaseMs,
      this.options.retryMaxMs ?? PUBLISH_BACKPRESSURE_DEFAULTS.retryMaxMs,
    );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const head = this.waiting.shift();
      if (!head) return;
      this.probe = head.seq;
      this.options.publish(head);
    }, delay);
  }

  private flush(): void {
    while (this.waiting.length > 0) this.options.publish(this.waiting.shift()!);
  }
}
