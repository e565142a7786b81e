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

  try {
    await channel.assertQueue(topology.queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': topology.deliveryLimit,
        'x-dead-letter-exchange': topology.deadLetterExchange,
      },
    });
  } catch (cause) {
    throw new Error(
      `Queue ${topology.queue} exists with other arguments than SumStream declares (quorum, x-delivery-limit=${topology.deliveryLimit}, ` +
        `x-dead-letter-exchange=${topology.deadLetterExchange}). Delete it after draining it, or set SUMSTREAM_QUEUE to a new name.`,
      { cause },
    );
  }
  await channel.bindQueue(topology.queue, topology.exchange, topology.routingKey);
}
