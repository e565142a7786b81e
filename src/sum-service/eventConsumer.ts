import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type pg from 'pg';
import { backoffMs, sleep } from '../shared/backoff.js';
import type { TopologyConfig } from '../shared/config/commonConfig.js';
import type { Logger } from '../shared/log/createLogger.js';
import { assertTopology } from '../shared/messaging/assertTopology.js';
import { connectAmqp, dropConnection, withDeadline } from '../shared/messaging/connectAmqp.js';
import { type ApplicableEvent, PUBLISHED_AT_HEADER } from '../shared/vocabulary.js';
import { applyEvents } from './applyEvents.js';
import { type DeadLetterReason, decodeEvent } from './decodeEvent.js';
import type { SumMetrics } from './sumMetrics.js';

/** Opening channels, declaring the topology and starting to consume on a connected node, ms; longer means a stuck node. */
const SETUP_TIMEOUT_MS = 10_000;

/** The consumer's defaults (CONSUMER_PREFETCH and CONSUMER_MAX_BATCH take theirs from here). */
export const EVENT_CONSUMER_DEFAULTS = { prefetch: 256, maxBatch: 256 } as const;

export interface EventConsumerOptions {
  amqpUrl: string;
  topology: TopologyConfig;
  pool: pg.Pool;
  metrics: SumMetrics;
  logger: Logger;
  /** Unacknowledged messages RabbitMQ may push to this consumer. Default `EVENT_CONSUMER_DEFAULTS.prefetch`. */
  prefetch?: number;
  /** Most messages per apply transaction. Default `EVENT_CONSUMER_DEFAULTS.maxBatch`. */
  maxBatch?: number;
  /** Which shard of the sum this instance adds to. Default random. */
  shard?: number;
  /** Called after a commit that changed the sum. */
  onSumChanged?: () => void;
  /** Payload of the sum-changed notification of this consumer's commits (SumCache.origin). Default ''. */
  notifyOrigin?: string;
}

/** One connection's worth of state; a reconnect starts a fresh one so stale delivery tags are never acked. */
interface Session {
  connection: ChannelModel;
  channel: Channel;
  deadLetters: ConfirmChannel;
  /** Opened on first use for passive queue checks; a failed check closes only this channel. */
  inspect?: Promise<Channel>;
  consumerTag?: string;
  buffer: ConsumeMessage[];
  flushing: Promise<void> | undefined;
  closed: boolean;
}

/**
 * Consumes addition events and applies them to the sum exactly once: each batch is one
 * transaction (inbox rows + sum change), acknowledged with `multiple` only after it commits.
 * Undecodable messages are published to the dead-letter exchange with their reason (with
 * publisher confirms) before they are acknowledged. Database errors are retried with backoff
 * while the messages stay unacknowledged. Lost connections are re-established with backoff.
 */
export class EventConsumer {
  private readonly prefetch: number;
  private readonly maxBatch: number;
  private readonly shard: number;
  private session: Session | undefined;
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: EventConsumerOptions) {
    this.prefetch = options.prefetch ?? EVENT_CONSUMER_DEFAULTS.prefetch;
    this.maxBatch = options.maxBatch ?? EVENT_CONSUMER_DEFAULTS.maxBatch;
    this.shard = options.shard ?? Math.floor(Math.random() * 1_000_000);
  }

  /** True while consuming. */
  get ready(): boolean {
    return this.session !== undefined && !this.session.closed;
  }

  /**
   * Ready messages and consumers of a queue, by a passive declare on a channel of its own on this
   * consumer's connection: it never creates the queue, and a missing queue closes only that channel.
   */
  async checkQueue(queue: string): Promise<{ messageCount: number; consumerCount: number }> {
    const session = this.session;
    if (!session || session.closed)
      throw new Error('Not connected to RabbitMQ (see the log for the connection error).');
    if (!session.inspect) {
      const opening = session.connection.createChannel().then((channel) => {
        channel.on('error', () => undefined);
        channel.once('close', () => session.inspect === opening && (session.inspect = undefined));
        return channel;
      });
      opening.catch(() => session.inspect === opening && (session.inspect = undefined));
      session.inspect = opening;
    }
    const { messageCount, consumerCount } = await (await session.inspect).checkQueue(queue);
    return { messageCount, consumerCount };
  }

  /** Starts consuming in the background, reconnecting until `close()`. Resolves after the first attempt. */
  async start(): Promise<void> {
    let first: (value?: unknown) => void = () => undefined;
    const firstAttempt = new Promise((resolve) => (first = resolve));
    this.running = this.loop(() => first());
    await firstAttempt;
  }

  /** Stops taking messages, finishes the batch in hand (commit + ack), then disconnects. */
  async close(): Promise<void> {
    this.stop.abort();
    const session = this.session;
    if (session?.consumerTag) await session.channel.cancel(session.consumerTag).catch(() => undefined);
    await session?.flushing;
    if (session) await dropConnection(session.connection);
    await this.running;
  }

  private async loop(afterFirstAttempt: () => void): Promise<void> {
    for (let attempt = 0; !this.stop.signal.aborted; attempt++) {
      try {
        const { closed } = await this.connect();
        afterFirstAttempt();
        attempt = 0;
        await closed;
      } catch (error) {
        afterFirstAttempt();
        this.options.logger.warn({ err: error }, 'RabbitMQ consumer not connected; retrying');
      }
      if (this.session) this.session.closed = true;
      if (!this.stop.signal.aborted) await sleep(backoffMs(attempt, 200, 5_000), this.stop.signal);
    }
  }

  /** Connects, declares the topology and consumes; `closed` settles when the connection ends. */
  private async connect(): Promise<{ closed: Promise<void> }> {
    const { topology, logger } = this.options;
    const connection = await connectAmqp(this.options.amqpUrl, 'sumstream-sum-service');
    // An error (a heartbeat timeout, say) counts as closed at once: on a cut link 'close' comes only
    // after TCP gives up, minutes later. The socket is dropped so nothing more is taken from it.
    const closed = new Promise<void>((resolve) => {
      connection.once('close', () => resolve());
      connection.on('error', (error: Error) => {
        logger.warn({ err: error }, 'RabbitMQ connection error; reconnecting');
        void dropConnection(connection);
        resolve();
      });
    });
    try {
      const channel = await withDeadline(connection.createChannel(), SETUP_TIMEOUT_MS, 'opening a channel');
      const deadLetters = await withDeadline(
        connection.createConfirmChannel(),
        SETUP_TIMEOUT_MS,
        'opening a confirm channel',
      );
      // A channel the server closes (e.g. a precondition failure) reports here, then the
      // connection is closed so the loop reconnects; without a listener it would crash the process.
      for (const ch of [channel, deadLetters]) {
        ch.on('error', (error: Error) => {
          logger.warn({ err: error }, 'RabbitMQ channel closed by the server; reconnecting');
          void dropConnection(connection);
        });
      }
      await withDeadline(assertTopology(channel, topology), SETUP_TIMEOUT_MS, 'declaring the topology');
      await channel.prefetch(this.prefetch);
      const session: Session = { connection, channel, deadLetters, buffer: [], flushing: undefined, closed: false };
      this.session = session;
      const { consumerTag } = await withDeadline(
        channel.consume(topology.queue, (message) => {
          if (message === null) {
            logger.warn('consumer cancelled by RabbitMQ (queue deleted?); reconnecting');
            void dropConnection(connection);
            return;
          }
          const headers: Record<string, unknown> | undefined = message.properties.headers;
          const publishedAt = headers?.[PUBLISHED_AT_HEADER];
          if (typeof publishedAt === 'number' && !message.fields.redelivered)
            this.options.metrics.queueTime.observe(Math.max(0, Date.now() - publishedAt) / 1000);
          session.buffer.push(message);
          session.flushing ??= this.drain(session).finally(() => (session.flushing = undefined));
        }),
        SETUP_TIMEOUT_MS,
        'starting the consumer',
      );
      session.consumerTag = consumerTag;
      logger.info({ queue: topology.queue, prefetch: this.prefetch }, 'consuming');
    } catch (error) {
      await dropConnection(connection);
      throw error;
    }
    return { closed };
  }

  private async drain(session: Session): Promise<void> {
    while (session.buffer.length > 0 && !session.closed) {
      await this.handleBatch(session, session.buffer.splice(0, this.maxBatch));
    }
  }

  private async handleBatch(session: Session, batch: ConsumeMessage[]): Promise<void> {
    const { metrics, logger } = this.options;
    const toApply: ApplicableEvent[] = [];
    const messagesOf = new Map<string, ConsumeMessage[]>();
    const toDeadLetter: { message: ConsumeMessage; reason: DeadLetterReason; detail: string }[] = [];
    for (const message of batch) {
      const { messageId, type, headers } = message.properties as {
        messageId?: string;
        type?: string;
        headers?: Record<string, unknown>;
      };
      const decoded = decodeEvent(message.content, { messageId, type, headers });
      if (decoded.kind === 'apply') {
        toApply.push(decoded.event);
        messagesOf.set(decoded.event.eventId, [...(messagesOf.get(decoded.event.eventId) ?? []), message]);
      } else if (decoded.kind === 'dead-letter') toDeadLetter.push({ message, ...decoded });
      else {
        metrics.ignored.inc();
        logger.debug({ eventId: messageId, why: decoded.why }, 'message ignored');
      }
    }
    try {
      if (toDeadLetter.length > 0) await this.deadLetter(session, toDeadLetter);
      if (toApply.length > 0) {
        const refused = await this.applyWithRetry(session, toApply);
        if (refused === undefined) return;
        // Committed: the refusals are dead-lettered (confirmed) before the batch is acked, so none is lost.
        const beyond = refused.flatMap((event) =>
          (messagesOf.get(event.eventId) ?? []).map((message) => ({
            message,
            reason: 'beyond_horizon' as const,
            detail: `Accepted at ${event.positionMs === undefined ? '?' : new Date(event.positionMs).toISOString()}, before the inbox's deduplication horizon (INBOX_RETENTION_SECONDS): its inbox row may be pruned, so it cannot be told whether it was applied.`,
          })),
        );
        if (beyond.length > 0) await this.deadLetter(session, beyond);
      }
      const last = batch[batch.length - 1];
      if (last) session.channel.ack(last, true);
      metrics.applyBatchSize.observe(batch.length);
    } catch (error) {
      // The channel went away: nothing acknowledged here is lost; RabbitMQ redelivers and the inbox de-duplicates.
      logger.warn({ err: error }, 'batch not acknowledged; it will be redelivered');
    }
  }

  private async deadLetter(
    session: Session,
    items: { message: ConsumeMessage; reason: DeadLetterReason; detail: string }[],
  ): Promise<void> {
    const { topology, metrics, logger } = this.options;
    for (const { message, reason, detail } of items) {
      session.deadLetters.publish(topology.deadLetterExchange, topology.deadLetterQueue, message.content, {
        persistent: true,
        messageId: message.properties.messageId as string | undefined,
        contentType: message.properties.contentType as string | undefined,
        headers: {
          ...(message.properties.headers ?? {}),
          'x-sumstream-reason': reason,
          'x-sumstream-detail': detail,
          'x-original-exchange': message.fields.exchange,
          'x-original-routing-key': message.fields.routingKey,
        },
      });
      metrics.deadLettered.inc({ reason });
      logger.warn({ eventId: message.properties.messageId, reason, detail }, 'message dead-lettered');
    }
    await session.deadLetters.waitForConfirms();
  }

  /**
   * Applies with retries; returns the events refused as older than the inbox horizon, or undefined when
   * it gave up because the consumer is stopping or the channel closed (nothing acked).
   */
  private async applyWithRetry(session: Session, events: ApplicableEvent[]): Promise<ApplicableEvent[] | undefined> {
    const { pool, metrics, logger } = this.options;
    for (let attempt = 0; ; attempt++) {
      const started = process.hrtime.bigint();
      try {
        const result = await applyEvents(pool, events, this.shard, this.options.notifyOrigin);
        metrics.applyDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
        metrics.applied.inc(result.applied.length);
        if (result.applied.length > 0) this.options.onSumChanged?.();
        metrics.duplicates.inc(result.duplicates);
        const now = Date.now();
        let oldest = now;
        for (const event of result.applied) {
          if (event.acceptedAtMs !== undefined) metrics.endToEnd.observe(Math.max(0, now - event.acceptedAtMs) / 1000);
          if (event.positionMs !== undefined) oldest = Math.min(oldest, event.positionMs);
          logger.debug({ eventId: event.eventId, amount: event.amount.toString() }, 'event applied');
        }
        if (result.applied.length > 0) metrics.inboxEventAge.set(Math.max(0, now - oldest) / 1000);
        return result.refused;
      } catch (error) {
        if (this.stop.signal.aborted || session.closed) return undefined;
        metrics.applyRetries.inc();
        logger.warn({ err: error, attempt, events: events.length }, 'apply failed; retrying without acknowledging');
        await sleep(backoffMs(attempt, 100, 5_000), this.stop.signal);
      }
    }
  }
}
