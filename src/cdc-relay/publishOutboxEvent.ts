import type { ConfirmChannel } from 'amqplib';
import type { TopologyConfig } from '../shared/config/commonConfig.js';
import { PUBLISHED_AT_HEADER } from '../shared/vocabulary.js';
import type { OutboxEvent } from './decodeOutboxInsert.js';

/** The error amqplib's confirm callback gets for a basic.nack (as opposed to a closed channel). */
const NACK_MESSAGE = 'message nacked';

/**
 * How RabbitMQ answered a publish: `confirmed` (ack), `refused` (nack: it did not take the event,
 * e.g. the queue is at its length bound), or an error (the channel closed before an answer).
 */
export type PublishOutcome = 'confirmed' | 'refused' | Error;

/**
 * Publishes one outbox event on a confirm channel: persistent, `mandatory` (an event no queue
 * would take comes back as a `return` instead of vanishing), its id as message id and `id` header.
 */
export function publishOutboxEvent(
  channel: ConfirmChannel,
  topology: TopologyConfig,
  event: OutboxEvent,
  done: (outcome: PublishOutcome) => void,
): void {
  channel.publish(
    topology.exchange,
    topology.routingKey,
    Buffer.from(event.body),
    {
      persistent: true,
      mandatory: true,
      messageId: event.id,
      type: event.type,
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
      headers: {
        id: event.id,
        aggregatetype: event.aggregateType,
        aggregateid: event.aggregateId,
        [PUBLISHED_AT_HEADER]: Date.now(),
      },
    },
    (error: unknown) => done(publishOutcome(error)),
  );
}

/** The outcome of a publish from amqplib's confirm callback argument. */
export function publishOutcome(error: unknown): PublishOutcome {
  if (!error) return 'confirmed';
  if (error instanceof Error && error.message === NACK_MESSAGE) return 'refused';
  return error instanceof Error ? error : new Error('RabbitMQ did not confirm the publish', { cause: error });
}
