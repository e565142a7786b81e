import pg from 'pg';
import { sleep } from '../shared/backoff.js';

export const LEADER_LOCK_DEFAULTS = { pollMs: 1000 } as const;

export interface LeaderLockOptions {
  url: string;
  /** Lock name; relays sharing a slot share it. */
  name: string;
  /** How often a standby retries, in ms. Default `LEADER_LOCK_DEFAULTS.pollMs`. */
  pollMs?: number;
}

/**
 * Leadership by a PostgreSQL session advisory lock, held on a connection of its own. The
 * holder keeps it while its connection lives: when the process dies, PostgreSQL drops the
 * connection and a standby acquires the lock on its next poll. The slot itself (one walsender
 * at a time) remains the final fence.
 */
export class LeaderLock {
  private client: pg.Client | undefined;

  constructor(private readonly options: LeaderLockOptions) {}

  /**
   * Waits until this process holds the lock. Resolves with `lost`, a promise that settles
   * when the lock is lost (its connection failed), or undefined when `signal` aborted first.
   */
  async acquire(signal: AbortSignal, onWaiting?: () => void): Promise<{ lost: Promise<void> } | undefined> {
    let warned = false;
    while (!signal.aborted) {
      const client = new pg.Client({
        connectionString: this.options.url,
        application_name: 'sumstream-cdc-relay-lock',
      });
      try {
        await client.connect();
        // `on`, not `once`: a second error on a dying connection must not go unhandled.
        const lost = new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.once('end', () => resolve());
        });
        while (!signal.aborted) {
          const { rows } = await client.query<{ locked: boolean }>(
            'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
            [this.options.name],
          );
          if (rows[0]?.locked) {
            this.client = client;
            return { lost };
          }
          if (!warned) onWaiting?.();
          warned = true;
          await sleep(this.options.pollMs ?? LEADER_LOCK_DEFAULTS.pollMs, signal);
        }
      } catch {
        // Connection trouble: start over after a pause.
      }
      await client.end().catch(() => undefined);
      await sleep(this.options.pollMs ?? LEADER_LOCK_DEFAULTS.pollMs, signal);
    }
    return undefined;
  }

  /** Gives the lock up (by closing its connection). */
  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
