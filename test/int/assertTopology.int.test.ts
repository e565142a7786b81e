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
});
