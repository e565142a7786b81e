import type { ConfirmChannel, ChannelModel } from 'amqplib';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type { TopologyConfig } from '../shared/config/commonConfig.js';
import type { Logger } from '../shared/log/createLogger.js';
import { assertTopology } from '../shared/messaging/assertTopology.js';
import { connectAmqp, dropConnection, withDeadline } from '../shared/messaging/connectAmqp.js';
import { ConfirmTracker } from './confirmTracker.js';
import { decodeOutboxInsert, type InsertMessage, type OutboxEvent } from './decodeOutboxInsert.js';
import { formatLsn, parseLsn } from './lsn.js';
import { PublishBackpressure } from './publishBackpressure.js';
import { publishOutboxEvent } from './publishOutboxEvent.js';
import type { RelayMetrics } from './relayMetrics.js';
import { replicationSocket } from './replicationSocket.js';
import { SyncStandbyGate } from './syncStandbyGate.js';

/** Opening the channel and declaring the topology on a connected node, ms; longer means a stuck node. */
const SETUP_TIMEOUT_MS = 10_000;

export const REPLICATION_SESSION_DEFAULTS = {
  maxInFlight: 1000,
  statusIntervalMs: 200,
  confirmTimeoutMs: 15_000,
  awaitSyncStandby: false,
} as const;

export interface ReplicationSessionOptions {
  databaseUrl: string;
  amqpUrl: string;
  topology: TopologyConfig;
  slot: string;
  publication: string;
  table: { schema: string; name: string };
  /** Most unconfirmed events before the stream is paused. Default `REPLICATION_SESSION_DEFAULTS.maxInFlight`. */
  maxInFlight?: number;
  /** How often the confirmed LSN is reported, in ms; also the keepalive period. Default `REPLICATION_SESSION_DEFAULTS.statusIntervalMs`. */
  statusIntervalMs?: number;
  /** The session fails when events are unconfirmed and no confirm came for this long, in ms (a broker node cut off). Default `REPLICATION_SESSION_DEFAULTS.confirmTimeoutMs`. */
  confirmTimeoutMs?: number;
  /**
   * Publish a transaction only once a synchronous standby has flushed its commit (see
   * SyncStandbyGate), so a failover cannot take back what was published. Default
   * `REPLICATION_SESSION_DEFAULTS.awaitSyncStandby`.
   */
  awaitSyncStandby?: boolean;
  metrics: RelayMetrics;
  logger: Logger;
  /** Called whenever an LSN is confirmed to PostgreSQL. */
  onConfirmed?: (lsn: string) => void;
  /** Called when RabbitMQ starts refusing publishes (queue full): the session holds back, it has not failed. */
  onHeldBack?: () => void;
}

/**
 * One replication session: streams the slot from its confirmed LSN, publishes each outbox
 * insert with publisher confirms (pipelined, up to `maxInFlight` unconfirmed), and reports an
 * LSN to PostgreSQL only once RabbitMQ confirmed every event before it. A publish RabbitMQ
 * refuses (a nack: the queue is at its length bound) is backpressure, not a failure: the stream is
 * paused and the refused events are published again in order until confirmed
 * (`PublishBackpressure`), while status updates keep the walsender from timing out. Any failure
 * ends the session (the promise rejects); the next one resumes from the last confirmed LSN, so
 * events may be published again but never lost: the sum-service de-duplicates by event id.
 */
export async function runReplicationSession(options: ReplicationSessionOptions, signal: AbortSignal): Promise<void> {
  const { topology, metrics, logger } = options;
  const maxInFlight = options.maxInFlight ?? REPLICATION_SESSION_DEFAULTS.maxInFlight;
  const tracker = new ConfirmTracker();
  const gate =
    (options.awaitSyncStandby ?? REPLICATION_SESSION_DEFAULTS.awaitSyncStandby)
      ? new SyncStandbyGate(options.databaseUrl)
      : undefined;
  let connection: ChannelModel | undefined;
  const service = new LogicalReplicationService(
    { connectionString: options.databaseUrl, application_name: 'sumstream-cdc-relay' },
    // Never acknowledge on receipt or on a timer: only what RabbitMQ confirmed. Flow control
    // stays off so data and keepalives reach the handlers synchronously, in stream order;
    // backpressure pauses the socket instead (see `pause`).
    { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
  );
  let fail: (error: Error) => void = () => undefined;
  let hasFailed = false;
  const failed = new Promise<never>((_, reject) => (fail = (error) => ((hasFailed = true), reject(error))));
  failed.catch(() => undefined);
  let reported = 0n;
  let lastReportAt = 0;
  let lastConfirmAt = Date.now();
  // Publishes RabbitMQ has not answered yet (ack or nack), and when it last answered one.
  let unanswered = 0;
  let lastAnswerAt = Date.now();
  // True while the replication socket is not read (too many unconfirmed events, or held back).
  let paused = false;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? REPLICATION_SESSION_DEFAULTS.confirmTimeoutMs;
  const socket = replicationSocket(service);
  const report = (force: boolean) => {
    const lsn = tracker.confirmedLsn;
    if (lsn > reported || force || Date.now() - lastReportAt > 5000) {
      lastReportAt = Date.now();
      // Nothing confirmed yet this session (held back from its first event, say): still answer.
      if (lsn === 0n) return socket.keepalive();
      void service.acknowledge(formatLsn(lsn - 1n)); // acknowledge() reports its argument + 1 ("last byte + 1"); lsn already is an end position
      if (lsn > reported) {
        reported = lsn;
        lastConfirmAt = Date.now();
        options.onConfirmed?.(formatLsn(lsn));
      }
    }
  };
  let backpressure: PublishBackpressure<{ seq: number; event: OutboxEvent }> | undefined;
  const timer = setInterval(() => {
    // While the socket is not read, the walsender's keepalive requests go unseen: send a status every tick.
    report(paused);
    if (unanswered > 0 && Date.now() - lastAnswerAt > confirmTimeoutMs)
      fail(new Error(`RabbitMQ answered none of ${unanswered} publishes for ${confirmTimeoutMs} ms`));
    metrics.secondsSinceConfirm.set((Date.now() - lastConfirmAt) / 1000);
  }, options.statusIntervalMs ?? REPLICATION_SESSION_DEFAULTS.statusIntervalMs);

  try {
    connection = await connectAmqp(options.amqpUrl, 'sumstream-cdc-relay');
    // An error (a heartbeat timeout, say) ends the session at once: on a cut link 'close' comes only
    // after TCP gives up, minutes later.
    connection.on('error', (error: Error) => {
      logger.warn({ err: error }, 'RabbitMQ connection error');
      fail(new Error(`RabbitMQ connection failed: ${error.message}`, { cause: error }));
    });
    connection.once('close', () => fail(new Error('RabbitMQ connection closed')));
    const channel: ConfirmChannel = await withDeadline(
      connection.createConfirmChannel(),
      SETUP_TIMEOUT_MS,
      'opening a confirm channel',
    );
    channel.on('error', (error: Error) =>
      fail(new Error(`RabbitMQ closed the channel: ${error.message}`, { cause: error })),
    );
    channel.once('close', () => fail(new Error('RabbitMQ channel closed')));
    await withDeadline(assertTopology(channel, topology), SETUP_TIMEOUT_MS, 'declaring the topology');
    // Published with mandatory: an event no queue would take comes back instead of vanishing.
    channel.on('return', (message: { properties: { messageId?: string } }) =>
      fail(
        new Error(
          `RabbitMQ could not route event ${message.properties.messageId} (no queue bound to ${topology.exchange}/${topology.routingKey}); will retry.`,
        ),
      ),
    );

    let eventsInTransaction = 0;
    // With the gate: the transaction being received, and those waiting for the synchronous standby.
    let receiving: OutboxEvent[] | undefined;
    const waiting: { events: OutboxEvent[]; endLsn: bigint }[] = [];
    let held = 0;
    let gatePolling = false;
    const pause = () => {
      if (!paused) {
        paused = true;
        socket.pause();
      }
    };
    const pauseIfFull = () => {
      if (tracker.inFlight + held >= maxInFlight) pause();
    };
    const resumeIfDrained = () => {
      if (paused && !backpressure!.holding && tracker.inFlight + held < maxInFlight / 2) {
        paused = false;
        socket.resume();
      }
    };
    let rejectedInEpisode = 0;
    backpressure = new PublishBackpressure({
      publish: ({ seq, event }) => {
        // Also called from a retry timer: a throw (the channel just closed) ends the session.
        try {
          publish(seq, event);
        } catch (error) {
          fail(error instanceof Error ? error : new Error(String(error)));
        }
      },
      onStart: () => {
        pause();
        metrics.backpressure.set(1);
        logger.warn(
          { queue: topology.queue, maxLength: topology.maxLength, unconfirmed: tracker.inFlight },
          'RabbitMQ refuses publishes (queue full?); holding the replication stream back and retrying until it accepts them',
        );
        options.onHeldBack?.();
      },
      onEnd: (heldMs) => {
        metrics.backpressure.set(0);
        logger.info(
          { queue: topology.queue, heldMs, rejected: rejectedInEpisode },
          'RabbitMQ accepts publishes again; replication stream resumed',
        );
        rejectedInEpisode = 0;
        resumeIfDrained();
      },
    });
    // Hands an event from the stream over in stream order: published now, or kept behind refused ones.
    const publishEvent = (event: OutboxEvent) => {
      const seq = tracker.published();
      if (backpressure!.holding) backpressure!.hold({ seq, event });
      else publish(seq, event);
    };
    const publish = (seq: number, event: OutboxEvent) => {
      if (unanswered++ === 0) lastAnswerAt = Date.now();
      const started = process.hrtime.bigint();
      publishOutboxEvent(channel, topology, event, (outcome) => {
        if (hasFailed) return;
        unanswered--;
        lastAnswerAt = Date.now();
        try {
          if (outcome === 'refused') {
            metrics.publishRejected.inc();
            rejectedInEpisode++;
            logger.debug({ eventId: event.id }, 'event refused by RabbitMQ; will retry');
            return backpressure!.refused({ seq, event });
          }
          if (outcome !== 'confirmed')
            return fail(new Error(`RabbitMQ did not take event ${event.id}`, { cause: outcome }));
          metrics.confirmDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
          metrics.published.inc();
          tracker.confirm(seq);
          backpressure!.confirmed(seq);
          resumeIfDrained();
        } catch (cause) {
          // A throw in a confirm callback would go uncaught: it ends the session instead.
          fail(cause instanceof Error ? cause : new Error(String(cause)));
        }
      });
      logger.debug({ eventId: event.id }, 'event published');
    };
    // Publishes, in commit order, every waiting transaction the synchronous standby has flushed;
    // asks the server again while some still wait.
    const releaseFlushed = () => {
      try {
        while (waiting.length > 0 && (waiting[0]!.events.length === 0 || waiting[0]!.endLsn <= gate!.safeLsn)) {
          const { events, endLsn } = waiting.shift()!;
          held -= events.length;
          tracker.begin();
          for (const event of events) publishEvent(event);
          tracker.commit(endLsn);
          if (events.length > 0) metrics.batchSize.observe(events.length);
        }
      } catch (error) {
        return fail(error instanceof Error ? error : new Error(String(error)));
      }
      if (waiting.length === 0 || gatePolling || hasFailed) return;
      gatePolling = true;
      const before = gate!.safeLsn;
      gate!.refresh().then(
        async (safe) => {
          if (safe === before) await new Promise((r) => setTimeout(r, 5));
          gatePolling = false;
          if (!hasFailed) releaseFlushed();
        },
        (error: Error) =>
          fail(new Error(`Could not read the synchronous standby's position: ${error.message}`, { cause: error })),
      );
    };
    await gate?.connect();
    service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => {
      // After a failure, data is no longer tracked: a keepalive must not confirm past it.
      if (hasFailed) return;
      // Nor past a transaction the gate still holds.
      if (receiving === undefined && waiting.length === 0) tracker.idleAt(parseLsn(lsn));
      report(shouldRespond);
    });
    service.on('error', (error: Error) => fail(error));
    service.on('data', (_lsn: string, message: { tag: string; commitEndLsn?: string | null }) => {
      // Handlers run inside the replication socket's data callback: a throw here (e.g. publishing on a
      // channel RabbitMQ just closed) would be an uncaught exception. It ends the session instead.
      if (hasFailed) return;
      try {
        if (gate) {
          if (message.tag === 'begin') receiving = [];
          else if (message.tag === 'insert') {
            const event = decodeOutboxInsert(message as InsertMessage, options.table);
            if (!event) return;
            (receiving ??= []).push(event);
            held++;
            pauseIfFull();
          } else if (message.tag === 'commit') {
            if (!message.commitEndLsn) throw new Error('A commit message came without its end LSN');
            waiting.push({ events: receiving ?? [], endLsn: parseLsn(message.commitEndLsn) });
            receiving = undefined;
            releaseFlushed();
          }
        } else if (message.tag === 'begin') {
          tracker.begin();
          eventsInTransaction = 0;
        } else if (message.tag === 'insert') {
          const event = decodeOutboxInsert(message as InsertMessage, options.table);
          if (!event) return;
          eventsInTransaction++;
          publishEvent(event);
          pauseIfFull();
        } else if (message.tag === 'commit') {
          if (message.commitEndLsn) tracker.commit(parseLsn(message.commitEndLsn));
          if (eventsInTransaction > 0) metrics.batchSize.observe(eventsInTransaction);
        }
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    });

    const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    const streaming = service
      .subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication] }), options.slot)
      .then(() => {
        if (!signal.aborted) throw new Error('The replication stream ended');
      });
    logger.info({ slot: options.slot, publication: options.publication }, 'replication streaming');
    await Promise.race([streaming, failed, stopped]);
    // Stopping cleanly: wait briefly for outstanding confirms so their LSN can be reported.
    const deadline = Date.now() + 2000;
    while (unanswered > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    report(true);
  } finally {
    clearInterval(timer);
    backpressure?.close();
    if (backpressure?.holding) {
      metrics.backpressure.set(0);
      logger.info({ queue: topology.queue }, 'replication session ended while held back by RabbitMQ');
    }
    await gate?.close();
    await service.destroy().catch(() => undefined);
    // destroy() removes every listener; a late error from its dying connection must not crash us.
    service.on('error', () => undefined);
    if (connection) await dropConnection(connection);
  }
}
