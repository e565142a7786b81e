import type pg from 'pg';
import { backoffMs, sleep } from '../shared/backoff.js';
import type { Logger } from '../shared/log/createLogger.js';
import { LABEL } from '../shared/metrics/metricNames.js';
import { LeaderLock } from './leaderLock.js';
import type { RelayMetrics } from './relayMetrics.js';
import { readSlotWal } from './readSlotWal.js';
import { type ReplicationSessionOptions, runReplicationSession } from './replicationSession.js';
import { guardSlot, slotLostProblem } from './slotGuard.js';

export const RELAY_DEFAULTS = { stepDownAfterMs: 20_000, slotRecheckMs: 5_000 } as const;

export interface RelayOptions extends Omit<ReplicationSessionOptions, 'onConfirmed' | 'onHeldBack'> {
  pool: pg.Pool;
  standbyPollMs: number;
  /**
   * Active relay whose sessions have failed for this long without one confirmed LSN (it cannot reach
   * RabbitMQ, say) gives the lock up and stays standby for as long again, so a standby that can reach
   * both stores takes over. Default `RELAY_DEFAULTS.stepDownAfterMs`.
   */
  stepDownAfterMs?: number;
  /** While the slot is lost, ms between two checks of it. Default `RELAY_DEFAULTS.slotRecheckMs`. */
  slotRecheckMs?: number;
  metrics: RelayMetrics;
  logger: Logger;
}

export type RelayState = 'standby' | 'active' | 'reconnecting' | 'slot-lost' | 'stopped';

/**
 * The relay's lifecycle: wait as a standby until it holds the leader lock, then run
 * replication sessions, restarting a failed one with backoff, until it loses the lock or
 * is closed. Before each session it checks the slot (`guardSlot`): while the slot is lost it streams
 * nothing and checks again every `slotRecheckMs`. Also samples the slot's lag.
 */
export class Relay {
  state: RelayState = 'standby';
  /** Why the slot is lost, while it is (the relay then streams nothing until `sumstream cdc resync`). */
  slotLost: string | undefined;
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private lagTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RelayOptions) {}

  start(): void {
    const { topology, metrics } = this.options;
    metrics.queueMaxLength.set({ [LABEL.queue]: topology.queue }, topology.maxLength);
    this.running = this.lead();
    this.lagTimer = setInterval(() => void this.sampleLag(), 2000);
  }

  /** Why the relay is not ready (its `/readyz` problem), or undefined while active or standby. */
  readiness(): string | undefined {
    if (this.slotLost !== undefined) return slotLostProblem(this.options.slot, this.slotLost);
    return this.state === 'active' || this.state === 'standby' ? undefined : `Relay is ${this.state}.`;
  }

  async close(): Promise<void> {
    this.stop.abort();
    clearInterval(this.lagTimer);
    await this.running;
    this.state = 'stopped';
  }

  private async lead(): Promise<void> {
    const { logger, metrics } = this.options;
    const lock = new LeaderLock({
      url: this.options.databaseUrl,
      name: `sumstream-relay:${this.options.slot}`,
      pollMs: this.options.standbyPollMs,
    });
    while (!this.stop.signal.aborted) {
      this.setState('standby');
      const held = await lock.acquire(this.stop.signal, () =>
        logger.info({ slot: this.options.slot }, 'another relay is active; waiting as standby'),
      );
      if (!held) break;
      logger.info({ slot: this.options.slot }, 'leader lock acquired; relay active');
      const leadership = new AbortController();
      const onStop = () => leadership.abort();
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      void held.lost.then(() => {
        if (!leadership.signal.aborted) logger.warn('leader lock connection lost; stepping down');
        leadership.abort();
      });
      const stepDownAfterMs = this.options.stepDownAfterMs ?? RELAY_DEFAULTS.stepDownAfterMs;
      let failingSince: number | undefined;
      let steppedDown = false;
      const onConfirmed = () => {
        attempt = 0;
        failingSince = undefined;
        if (this.state !== 'active') this.setState('active');
      };
      let attempt = 0;
      for (; !leadership.signal.aborted; attempt++) {
        this.setState(attempt === 0 ? 'active' : 'reconnecting');
        try {
          if (await this.waitWhileSlotLost(leadership.signal)) {
            failingSince = undefined; // waiting for a resync is no failing session
            if (leadership.signal.aborted) break;
            this.setState(attempt === 0 ? 'active' : 'reconnecting');
          }
          // A session held back by a full queue reaches both stores: no failing to step down for.
          await runReplicationSession({ ...this.options, onConfirmed, onHeldBack: onConfirmed }, leadership.signal);
        } catch (error) {
          if (leadership.signal.aborted) break;
          metrics.reconnects.inc();
          failingSince ??= Date.now();
          if (Date.now() - failingSince >= stepDownAfterMs) {
            logger.warn(
              { err: error, failingForMs: Date.now() - failingSince },
              'replication sessions keep failing; stepping down so a standby can take over',
            );
            steppedDown = true;
            break;
          }
          logger.warn({ err: error, attempt }, 'replication session failed; reconnecting');
          await sleep(backoffMs(attempt, 200, 5_000), leadership.signal);
        }
      }
      this.stop.signal.removeEventListener('abort', onStop);
      // Only the leader reports the slot: the next one checks it again (a lost mark is kept in cdc_slots).
      this.slotLost = undefined;
      metrics.slotLost.set(0);
      await lock.release();
      if (steppedDown) {
        this.setState('standby');
        await sleep(stepDownAfterMs, this.stop.signal);
      }
    }
    metrics.active.set(0);
  }

  /**
   * Checks the slot; while it is lost, reports it (metric, readiness, one error log) and checks again
   * every `slotRecheckMs` until it is resynced or `signal` aborts. True when it waited.
   */
  private async waitWhileSlotLost(signal: AbortSignal): Promise<boolean> {
    const { logger, metrics, slot } = this.options;
    for (let waited = false; ; waited = true) {
      const verdict = await guardSlot(this.options.pool, this.options);
      if (verdict.action !== 'lost') {
        if (this.slotLost !== undefined) logger.info({ slot }, 'replication slot resynced; streaming again');
        this.slotLost = undefined;
        metrics.slotLost.set(0);
        return waited;
      }
      if (this.slotLost !== verdict.reason) logger.error({ slot }, slotLostProblem(slot, verdict.reason));
      this.slotLost = verdict.reason;
      metrics.slotLost.set(1);
      this.setState('slot-lost');
      if (!(await sleep(this.options.slotRecheckMs ?? RELAY_DEFAULTS.slotRecheckMs, signal))) return true;
    }
  }

  private setState(state: RelayState): void {
    this.state = state;
    this.options.metrics.active.set(state === 'standby' ? 0 : 1);
  }

  /** The slot's lag and the WAL it holds against the server's bound (`readSlotWal`). */
  private async sampleLag(): Promise<void> {
    const { metrics } = this.options;
    try {
      const wal = await readSlotWal(this.options.pool, this.options.slot);
      metrics.slotWalLimit.set(wal.limitBytes);
      if (wal.lagBytes !== undefined) metrics.slotLag.set(wal.lagBytes);
      if (wal.retainedBytes !== undefined) metrics.slotRetainedWal.set(wal.retainedBytes);
      if (wal.safeBytes !== undefined) metrics.slotSafeWal.set(wal.safeBytes);
    } catch {
      // The database is down; the session's own errors say so.
    }
  }
}
