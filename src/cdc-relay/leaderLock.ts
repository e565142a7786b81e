import pg from 'pg';
import { sleep } from '../shared/backoff.js';

export const LEADER_LOCK_DEFAULTS = { pollMs: 1000 } as const;

/** A lease check (SELECT 1 on the lock's connection) that takes longer than this many polls loses the lock. */
const LEASE_CHECK_POLLS = 3;

export interface LeaderLockOptions {
  url: string;
  /** Lock name; relays sharing a slot share it. */
  name: string;
  /** How often a standby retries, and the holder checks its connection, in ms. Default `LEADER_LOCK_DEFAULTS.pollMs`. */
  pollMs?: number;
}

/**
 * Leadership by a PostgreSQL session advisory lock, held on a connection of its own. The
 * holder keeps it while its connection lives: when the process dies, PostgreSQL drops the
 * connection and a standby acquires the lock on its next poll. The holder also checks its
 * connection every poll: one that stops answering (the holder was cut from PostgreSQL) counts as
 * lost, so the holder steps down while PostgreSQL, by its TCP timeouts, ends the session and frees
 * the lock for a standby. The slot itself (one walsender at a time) remains the final fence.
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
    const pollMs = this.options.pollMs ?? LEADER_LOCK_DEFAULTS.pollMs;
    while (!signal.aborted) {
      const client = new pg.Client({
        connectionString: this.options.url,
        application_name: 'sumstream-cdc-relay-lock',
        connectionTimeoutMillis: pollMs * LEASE_CHECK_POLLS,
        query_timeout: pollMs * LEASE_CHECK_POLLS,
      });
      try {
        await client.connect();
        let markLost: () => void = () => undefined;
        // `on`, not `once`: a second error on a dying connection must not go unhandled.
        const lost = new Promise<void>((resolve) => {
          markLost = resolve;
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
            const lease = setInterval(() => {
              client.query('SELECT 1').catch(() => {
                markLost();
                void client.end().catch(() => undefined);
              });
            }, pollMs);
            void lost.then(() => clearInterval(lease));
            return { lost };
          }
          if (!warned) onWaiting?.();
          warned = true;
          await sleep(pollMs, signal);
        }
      } catch {
        // Connection trouble: start over after a pause.
      }
      await client.end().catch(() => undefined);
      await sleep(pollMs, signal);
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
