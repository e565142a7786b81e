import amqp, { type ChannelModel } from 'amqplib';
import { redactUrl } from '../log/createLogger.js';

/** How long connecting to one broker node (TCP and the AMQP handshake) may take before the next node is tried, ms. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * `promise`, or a rejection naming `what` after `ms`: a broker node that accepts TCP but never answers
 * (paused, partitioned, stuck) must fail the caller, who then tries another node, instead of hanging it.
 * `dispose` receives the value should it arrive after the deadline.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  dispose?: (late: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`${what} took longer than ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) dispose?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!timedOut) reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** The broker URLs of `AMQP_URL`: one, or one per cluster node separated by commas. */
export function amqpUrls(urlList: string): string[] {
  return urlList
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
}

/**
 * Connects to RabbitMQ with a name visible in the management UI. Given several URLs (a cluster),
 * tries them in turn starting at a random one, so clients spread over the nodes and a dead or cut-off
 * node costs one connect timeout; fails, naming each node's error and the fix, when none answers.
 */
export async function connectAmqp(urlList: string, connectionName: string): Promise<ChannelModel> {
  const urls = amqpUrls(urlList);
  const start = Math.floor(Math.random() * urls.length);
  const failures: string[] = [];
  for (let i = 0; i < urls.length; i++) {
    const url = urls[(start + i) % urls.length]!;
    try {
      return await withDeadline(
        amqp.connect(url, { clientProperties: { connection_name: connectionName }, timeout: CONNECT_TIMEOUT_MS }),
        CONNECT_TIMEOUT_MS,
        'the AMQP handshake',
        (late) => void late.close().catch(() => undefined),
      );
    } catch (cause) {
      if (urls.length === 1)
        throw new Error(
          `Cannot connect to RabbitMQ at ${redactUrl(url)}: ${(cause as Error).message}. Is it running? Check AMQP_URL.`,
          { cause },
        );
      failures.push(`${redactUrl(url)}: ${(cause as Error).message}`);
    }
  }
  throw new Error(`Cannot connect to any RabbitMQ node (${failures.join('; ')}). Are they running? Check AMQP_URL.`);
}

/**
 * Closes a connection without waiting on a dead peer: a polite close for up to 2 s, then the socket
 * is destroyed (after a heartbeat timeout on a cut link, a close would wait for TCP's own timeout).
 */
export async function dropConnection(connection: ChannelModel): Promise<void> {
  await withDeadline(connection.close(), 2000, 'closing the connection').catch(() => undefined);
  (connection as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
