import amqp, { type ChannelModel } from 'amqplib';
import { redactUrl } from '../log/createLogger.js';

/** Connects to RabbitMQ with a name visible in the management UI, wrapping errors with the fix. */
export async function connectAmqp(url: string, connectionName: string): Promise<ChannelModel> {
  try {
    return await amqp.connect(url, { clientProperties: { connection_name: connectionName } });
  } catch (cause) {
    throw new Error(
      `Cannot connect to RabbitMQ at ${redactUrl(url)}: ${(cause as Error).message}. Is it running? Check AMQP_URL.`,
      { cause },
    );
  }
}
