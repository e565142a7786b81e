import type { Channel, ConfirmChannel } from 'amqplib';
import type { TopologyConfig } from '../config/commonConfig.js';

/**
 * Declares, idempotently, everything events rely on: the event exchange, the durable quorum
 * queue bound to it, and the dead-letter exchange and queue. Every process calls it at start,
 * so no start order lets RabbitMQ drop an event for want of a binding.
 */
export async function assertTopology(channel: Channel | ConfirmChannel, topology: TopologyConfig): Promise<void> {
  // amq.* exchanges are pre-declared and may not be redeclared; check them instead.
  if (topology.exchange.startsWith('amq.')) await channel.checkExchange(topology.exchange);
  else await channel.assertExchange(topology.exchange, 'topic', { durable: true });

  await channel.assertExchange(topology.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(topology.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(topology.deadLetterQueue, topology.deadLetterExchange, '');

  // At max-length RabbitMQ nacks further publishes (reject-publish) instead of dropping the oldest
  // message (drop-head, the default): the relay holds back and the slot keeps the rest.
  const args = {
    'x-queue-type': 'quorum',
    'x-delivery-limit': topology.deliveryLimit,
    'x-dead-letter-exchange': topology.deadLetterExchange,
    'x-max-length': topology.maxLength,
    'x-overflow': 'reject-publish',
  };
  try {
    await channel.assertQueue(topology.queue, { durable: true, arguments: args });
  } catch (cause) {
    const declared = Object.entries(args)
      .map(([key, value]) => `${key}=${value}`)
      .join(', ');
    throw new Error(
      `Queue ${topology.queue} exists with other arguments than SumStream declares (${declared}); RabbitMQ said: ${
        cause instanceof Error ? cause.message : String(cause)
      }. A queue's arguments cannot be changed in place (one declared before SUMSTREAM_QUEUE_MAX_LENGTH existed lacks x-max-length and x-overflow): ` +
        `stop the cdc-relay, wait until the queue is empty (a sum-service still running drains it; rabbitmqctl list_queues name messages), ` +
        `delete it (rabbitmqctl delete_queue ${topology.queue}) and start the processes again, which declare it anew; nothing is lost, the replication slot keeps every event the relay has not confirmed. ` +
        `Or set SUMSTREAM_QUEUE to a new name, and delete the old queue once it is drained.`,
      { cause },
    );
  }
  await channel.bindQueue(topology.queue, topology.exchange, topology.routingKey);
}
