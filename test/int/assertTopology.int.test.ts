import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { commonConfig, type TopologyConfig } from '../../src/shared/config/commonConfig.js';
import { assertTopology } from '../../src/shared/messaging/assertTopology.js';
import { eventually } from '../helpers/eventually.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';

describe('assertTopology (real RabbitMQ)', () => {
  let vhost: TestVhost;
  let connection: amqp.ChannelModel;
  const topology: TopologyConfig = { ...commonConfig({}).topology, deliveryLimit: 3 };

  beforeAll(async () => {
    vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'topology');
    connection = await amqp.connect(vhost.amqpUrl);
  });
  afterAll(async () => {
    await connection?.close();
    await vhost?.drop();
  });

  it('is idempotent, and a message published before any consumer exists waits in the queue', async () => {
    const channel = await connection.createConfirmChannel();
    await assertTopology(channel, topology);
    await assertTopology(channel, topology);
    channel.publish(topology.exchange, topology.routingKey, Buffer.from('{}'));
    await channel.waitForConfirms();
    expect((await channel.checkQueue(topology.queue)).messageCount).toBe(1);
    await channel.purgeQueue(topology.queue);
  });

  it('dead-letters a message redelivered more than the delivery limit, so it cannot loop', async () => {
    const channel = await connection.createConfirmChannel();
    await assertTopology(channel, topology);
    channel.publish(topology.exchange, topology.routingKey, Buffer.from('crashes its consumer'), {
      messageId: 'loop-1',
    });
    await channel.waitForConfirms();
    // A consumer that keeps failing: every delivery is returned to the queue.
    let deliveries = 0;
    await channel.consume(topology.queue, (message) => {
      if (!message) return;
      deliveries++;
      channel.nack(message, false, true);
    });
    const dead = await eventually(
      async () => {
        const probe = await connection.createChannel();
        try {
          const message = await probe.get(topology.deadLetterQueue, { noAck: true });
          if (!message) throw new Error('not dead-lettered yet');
          return message;
        } finally {
          await probe.close();
        }
      },
      { timeoutMs: 20_000 },
    );
    expect(dead.properties.messageId).toBe('loop-1');
    expect(deliveries).toBeLessThanOrEqual(topology.deliveryLimit + 1);
    expect(dead.properties.headers?.['x-first-death-reason']).toBe('delivery_limit');
  });

  it('says how to fix a queue declared with other arguments', async () => {
    const channel = await connection.createChannel();
    await channel.assertQueue('clashing', { durable: true });
    const other = await connection.createChannel();
    other.on('error', () => undefined); // the server closes the channel on the clash
    await expect(assertTopology(other, { ...topology, queue: 'clashing' })).rejects.toThrow(
      /exists with other arguments.*set SUMSTREAM_QUEUE to a new name/,
    );
  });

  it('refuses publishes beyond the length bound (reject-publish: a nack, nothing dropped)', async () => {
    const bounded = { ...topology, queue: 'bounded', routingKey: 'bounded', maxLength: 2 };
    const channel = await connection.createConfirmChannel();
    await assertTopology(channel, bounded);
    const publish = (id: string) =>
      new Promise<boolean>((resolve) =>
        channel.publish(bounded.exchange, bounded.routingKey, Buffer.from('{}'), { messageId: id }, (error) =>
          resolve(!error),
        ),
      );
    // Quorum queues check the bound after an enqueue: the message that crosses it is still taken.
    expect([await publish('1'), await publish('2'), await publish('3')]).toEqual([true, true, true]);
    expect(await publish('4')).toBe(false);
    expect((await channel.checkQueue(bounded.queue)).messageCount).toBe(3);
    const first = await channel.get(bounded.queue, { noAck: true });
    expect(first && first.properties.messageId).toBe('1'); // the oldest was kept (not drop-head)
    await channel.deleteQueue(bounded.queue);
  });

  it('names the fix when the queue was declared before it had a length bound', async () => {
    const old = { ...topology, queue: 'unbounded', routingKey: 'unbounded' };
    const channel = await connection.createChannel();
    // The arguments SumStream declared before SUMSTREAM_QUEUE_MAX_LENGTH existed
    await channel.assertQueue(old.queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': old.deliveryLimit,
        'x-dead-letter-exchange': old.deadLetterExchange,
      },
    });
    const other = await connection.createChannel();
    other.on('error', () => undefined);
    const declared = assertTopology(other, old);
    await expect(declared).rejects.toThrow(`x-max-length=${old.maxLength}, x-overflow=reject-publish`);
    await expect(declared).rejects.toThrow(/inequivalent arg 'x-max-length'/);
    await expect(declared).rejects.toThrow(`rabbitmqctl delete_queue ${old.queue}`);
    await channel.deleteQueue(old.queue);
  });
});
