import { amqpUrls } from '../../shared/messaging/connectAmqp.js';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { TopologyConfig } from '../../shared/config/commonConfig.js';
import { redactUrl } from '../../shared/log/createLogger.js';
import { connectionErrorReason } from '../connectionErrorReason.js';
import type { CheckResult } from './doctorReport.js';

export interface CheckRabbitOptions {
  amqpUrl: string;
  topology: TopologyConfig;
  /** Management API base URL with credentials, for the bindings (AMQP cannot check one without creating it). */
  managementUrl: string;
  /** Connect and request timeout, ms. Default 5000. */
  timeoutMs?: number;
}

type Verdict = Omit<CheckResult, 'group'>;

const DECLARES =
  'Every SumStream process declares the topology at start: start the stack (`npx sumstream up`) or any one process';

/**
 * The RabbitMQ side of `sumstream doctor`, strictly passive: it connects, checks the exchanges and
 * queues exist (a passive declare gives a queue's ready messages and consumers), and reads the
 * bindings from the management API. It never declares, binds or publishes anything.
 */
export async function checkRabbit(options: CheckRabbitOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (verdict: Verdict): void => {
    results.push({ group: 'RabbitMQ', ...verdict });
  };
  const timeoutMs = options.timeoutMs ?? 5_000;
  const { topology } = options;
  let connection: ChannelModel;
  try {
    connection = await amqp.connect(amqpUrls(options.amqpUrl)[0] ?? options.amqpUrl, {
      timeout: timeoutMs,
      clientProperties: { connection_name: 'sumstream-doctor' },
    });
  } catch (error) {
    add({
      name: 'reachable',
      status: 'FAIL',
      detail: `Cannot reach RabbitMQ at ${redactUrl(options.amqpUrl)}: ${connectionErrorReason(error)}`,
      fix: 'Start the stack with `npx sumstream up` or set AMQP_URL.',
    });
    return results;
  }
  connection.on('error', () => undefined);
  try {
    const server = connection.connection.serverProperties;
    add({
      name: 'reachable',
      status: 'OK',
      detail: `${server.product ?? 'broker'} ${server.version ?? ''}, vhost ${vhostOf(options.amqpUrl)}`.replace(
        / ,/,
        ',',
      ),
      data: { product: server.product, version: server.version },
    });

    /** One passive check on its own channel: a missing entity closes the channel it was checked on. */
    const passive = async <T>(check: (channel: Channel) => Promise<T>): Promise<T | undefined> => {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        return await check(channel);
      } catch (error) {
        if (/NOT_FOUND|404/.test((error as Error).message)) return undefined;
        throw error;
      } finally {
        await channel.close().catch(() => undefined);
      }
    };

    for (const [role, exchange, knob] of [
      ['events', topology.exchange, 'SUMSTREAM_EXCHANGE'],
      ['dead letters', topology.deadLetterExchange, 'SUMSTREAM_DEAD_LETTER_EXCHANGE'],
    ] as const) {
      add(
        (await passive((channel) => channel.checkExchange(exchange))) === undefined
          ? {
              name: `exchange ${exchange}`,
              status: 'FAIL',
              detail: `missing (${role})`,
              fix: `${DECLARES}; or check ${knob}.`,
            }
          : { name: `exchange ${exchange}`, status: 'OK', detail: `exists (${role})` },
      );
    }

    const queue = await passive((channel) => channel.checkQueue(topology.queue));
    if (queue === undefined) {
      add({
        name: `queue ${topology.queue}`,
        status: 'FAIL',
        detail: 'missing: published events would be refused',
        fix: `${DECLARES}; or check SUMSTREAM_QUEUE.`,
      });
    } else {
      const data = { messagesReady: queue.messageCount, consumers: queue.consumerCount };
      const detail = `${queue.messageCount} ready, ${queue.consumerCount} consumer${queue.consumerCount === 1 ? '' : 's'}`;
      add(
        queue.consumerCount === 0
          ? {
              name: `queue ${topology.queue}`,
              status: 'WARN',
              detail: `${detail}: nothing applies events to the sum`,
              fix: 'Start the sum-service (`npx sumstream up`).',
              data,
            }
          : { name: `queue ${topology.queue}`, status: 'OK', detail, data },
      );
    }

    const deadLetters = await passive((channel) => channel.checkQueue(topology.deadLetterQueue));
    if (deadLetters === undefined) {
      add({
        name: `queue ${topology.deadLetterQueue}`,
        status: 'FAIL',
        detail: 'missing: dead letters would be dropped',
        fix: `${DECLARES}; or check SUMSTREAM_DEAD_LETTER_QUEUE.`,
      });
    } else {
      const data = { messages: deadLetters.messageCount };
      add(
        deadLetters.messageCount > 0
          ? {
              name: `queue ${topology.deadLetterQueue}`,
              status: 'WARN',
              detail: `${deadLetters.messageCount} dead letter${deadLetters.messageCount === 1 ? '' : 's'}`,
              fix: `Read their x-sumstream-reason / x-sumstream-detail headers (RabbitMQ management UI → Queues → ${topology.deadLetterQueue} → Get messages); a producer sends something that is not an addition event.`,
              data,
            }
          : { name: `queue ${topology.deadLetterQueue}`, status: 'OK', detail: 'no dead letters', data },
      );
    }

    add(await checkBindings(options, timeoutMs));
  } catch (error) {
    add({
      name: 'checks',
      status: 'FAIL',
      detail: `a check failed: ${(error as Error).message}`,
      fix: 'Check that the AMQP_URL user may access the vhost (configure, read).',
    });
  } finally {
    await connection.close().catch(() => undefined);
  }
  return results;
}

/** The vhost of an AMQP URL ('/' when the path is empty). */
export function vhostOf(amqpUrl: string): string {
  const path = new URL(amqpUrls(amqpUrl)[0] ?? amqpUrl).pathname.slice(1);
  return path === '' ? '/' : decodeURIComponent(path);
}

/** The two bindings events rely on, from the management API (read-only). */
async function checkBindings(options: CheckRabbitOptions, timeoutMs: number): Promise<Verdict> {
  const { topology } = options;
  const base = new URL(options.managementUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  base.username = '';
  base.password = '';
  const vhost = encodeURIComponent(vhostOf(options.amqpUrl));
  const wanted = [
    { exchange: topology.exchange, queue: topology.queue, key: topology.routingKey },
    { exchange: topology.deadLetterExchange, queue: topology.deadLetterQueue, key: '' },
  ];
  const name = 'bindings';
  const describe = (b: (typeof wanted)[number]) => `${b.exchange} → ${b.queue}${b.key ? ` (${b.key})` : ''}`;
  const missing: string[] = [];
  for (const binding of wanted) {
    const url = new URL(
      `api/bindings/${vhost}/e/${encodeURIComponent(binding.exchange)}/q/${encodeURIComponent(binding.queue)}`,
      `${base.origin}/`,
    );
    let response: Response;
    try {
      response = await fetch(url, { headers: { authorization: auth }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      return {
        name,
        status: 'WARN',
        detail: `not checked: the management API at ${base.origin} is unreachable (${connectionErrorReason(error)})`,
        fix: 'Set SUMSTREAM_RABBIT_MANAGEMENT_URL (http://user:password@host:15672) to check them; AMQP cannot check a binding without creating it.',
      };
    }
    if (response.status === 404) {
      missing.push(describe(binding));
      continue;
    }
    if (!response.ok) {
      return {
        name,
        status: 'WARN',
        detail: `not checked: the management API at ${base.origin} answered ${response.status}`,
        fix: 'Give SUMSTREAM_RABBIT_MANAGEMENT_URL a user with the management (or monitoring) tag.',
      };
    }
    const bindings = (await response.json()) as { routing_key?: string }[];
    if (!bindings.some((b) => b.routing_key === binding.key)) missing.push(describe(binding));
  }
  if (missing.length > 0) {
    return {
      name,
      status: 'FAIL',
      detail: `missing: ${missing.join('; ')}`,
      fix: `${DECLARES} (it binds them), or check SUMSTREAM_ROUTING_KEY.`,
      data: { missing },
    };
  }
  return { name, status: 'OK', detail: wanted.map(describe).join('; ') };
}
