import { sleep } from '../shared/backoff.js';
import type { SumIfApplied } from './readSumIfApplied.js';
import type { SumSnapshot } from './readSum.js';
import { SumStreamError } from '../shared/errors.js';
import type { Logger } from '../shared/log/createLogger.js';
import { eventIdOfReadToken, readAfterWaitMs } from './readToken.js';

export const READ_AFTER_DEFAULTS = { maxWaitMs: 5_000, retryPauseMs: 250 } as const;

export interface ReadAfterWaiterOptions {
  /** Which of the event ids are applied, and the sum in the same database snapshot (readSumIfApplied). */
  check: (eventIds: readonly string[]) => Promise<SumIfApplied>;
  /** Change notifications (a SumCache): every pending event id is checked again after each. */
  changes: { onChange(listener: () => void): () => void };
  logger: Logger;
  /** Longest wait in ms (`READ_AFTER_TIMEOUT_MS`); a request may only lower it. Default `READ_AFTER_DEFAULTS.maxWaitMs`. */
  maxWaitMs?: number;
  /** Pause in ms before checking again after a failed check. Default `READ_AFTER_DEFAULTS.retryPauseMs`. */
  retryPauseMs?: number;
}

export interface WaitOptions {
  /** The token as the client sent it, for messages. */
  token: string;
  /** This request's wait in ms (already capped by the caller with readAfterWaitMs). */
  waitMs: number;
  /** The client went away: stop waiting. */
  signal?: AbortSignal;
}

interface Waiter {
  resolve: (snapshot: SumSnapshot) => void;
  reject: (error: unknown) => void;
}

/**
 * Read-your-writes: answers the sum once a given event is applied, with a sum that provably
 * includes it (inbox and sum read in one statement). Every waiter of the process shares one
 * check at a time: a check covers all pending event ids, runs when a waiter arrives and after
 * each change notification, and never in a loop per request.
 */
export class ReadAfterWaiter {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private readonly maxWaitMs: number;
  private unsubscribe: (() => void) | undefined;
  private dirty = false;
  private running = false;
  private closed = false;
  private lastFailure: unknown;
  /** Checks run (one statement each, whatever the number of waiters). */
  checks = 0;

  constructor(private readonly options: ReadAfterWaiterOptions) {
    this.maxWaitMs = options.maxWaitMs ?? READ_AFTER_DEFAULTS.maxWaitMs;
  }

  start(): void {
    this.unsubscribe = this.options.changes.onChange(() => {
      if (this.waiting.size > 0) this.schedule();
    });
  }

  /** Pending waiters. */
  get size(): number {
    let n = 0;
    for (const set of this.waiting.values()) n += set.size;
    return n;
  }

  /**
   * waitFor() for a read token as a client sends it, with the client's wait (0 or undefined: this
   * waiter's limit, which a request can lower but never raise); a malformed token rejects `invalid`.
   */
  async waitForToken(token: string, requestedMs: number | undefined, signal?: AbortSignal): Promise<SumSnapshot> {
    return this.waitFor(eventIdOfReadToken(token), {
      token,
      waitMs: readAfterWaitMs(requestedMs, this.maxWaitMs),
      signal,
    });
  }

  /** Resolves with a sum that includes `eventId`, or rejects: `timeout` when it is not applied within the wait. */
  waitFor(eventId: string, options: WaitOptions): Promise<SumSnapshot> {
    if (this.closed) return Promise.reject(shuttingDown());
    const waitMs = Math.min(options.waitMs, this.maxWaitMs);
    return new Promise<SumSnapshot>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const forget = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const set = this.waiting.get(eventId);
        set?.delete(waiter);
        if (set?.size === 0) this.waiting.delete(eventId);
      };
      const waiter: Waiter = {
        resolve: (snapshot) => {
          forget();
          resolve(snapshot);
        },
        reject: (error) => {
          forget();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      };
      const onAbort = () => waiter.reject(new SumStreamError('unavailable', 'The client cancelled the read.'));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => waiter.reject(this.timedOut(options.token, waitMs)), waitMs);
      let set = this.waiting.get(eventId);
      if (!set) this.waiting.set(eventId, (set = new Set()));
      set.add(waiter);
      this.schedule();
    });
  }

  /** Rejects every pending waiter (UNAVAILABLE / 503: retry elsewhere) and stops. */
  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    for (const set of [...this.waiting.values()]) for (const waiter of [...set]) waiter.reject(shuttingDown());
  }

  private timedOut(token: string, waitMs: number): SumStreamError {
    if (this.lastFailure !== undefined) {
      return new SumStreamError(
        'unavailable',
        `Cannot tell whether read token ${token} is applied: the sum store cannot be read (${(this.lastFailure as Error).message}). Retry shortly.`,
        { cause: this.lastFailure },
      );
    }
    return new SumStreamError(
      'timeout',
      `The addition of read token ${token} is not applied yet after waiting ${waitMs} ms, so no sum is answered (it would not include it). ` +
        'Check that the cdc-relay is active and the sum-service is consuming (their /readyz, sumstream_relay_slot_lag_bytes, the RabbitMQ queue "addition"), then retry; ' +
        'a token from another SumStream deployment never applies.',
    );
  }

  /** Runs a check soon, joined by every waiter that arrives in the meantime. */
  private schedule(): void {
    this.dirty = true;
    if (this.running) return;
    this.running = true;
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    try {
      while (this.dirty && this.waiting.size > 0 && !this.closed) {
        this.dirty = false;
        this.checks++;
        try {
          const { applied, snapshot } = await this.options.check([...this.waiting.keys()]);
          this.lastFailure = undefined;
          for (const eventId of applied)
            for (const waiter of [...(this.waiting.get(eventId) ?? [])]) waiter.resolve(snapshot);
        } catch (error) {
          if (this.lastFailure === undefined)
            this.options.logger.warn({ err: error }, 'cannot check whether awaited additions are applied; retrying');
          this.lastFailure = error;
          this.dirty = true;
          await sleep(this.options.retryPauseMs ?? READ_AFTER_DEFAULTS.retryPauseMs);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

function shuttingDown(): SumStreamError {
  return new SumStreamError(
    'unavailable',
    'This process is shutting down; retry the read (the addition itself is safe).',
  );
}
