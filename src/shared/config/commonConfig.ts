import { ConfigError } from './ConfigError.js';
import type { Env } from './envReader.js';
import { knob, type KnobValues, readKnobs } from './knob.js';
import { PORT_KNOBS } from './portKnobs.js';
import { productionProblems } from './productionProblems.js';

/** Where the stores are: read by every process. The defaults reach the development stack's own servers. */
export const STORE_KNOBS = {
  databaseUrl: knob.url(
    'DATABASE_URL',
    `postgres://sumstream:sumstream@127.0.0.1:${PORT_KNOBS.pgPort.default}/sumstream`,
    ['postgres', 'postgresql'],
    'PostgreSQL URL. With `npm start`: set it to use your own server instead of the project-owned one.',
  ),
  amqpUrl: knob.urlList(
    'AMQP_URL',
    `amqp://sumstream:sumstream@127.0.0.1:${PORT_KNOBS.amqpPort.default}`,
    ['amqp', 'amqps'],
    'RabbitMQ URL, or one per cluster node separated by commas: each connection tries them in turn, starting at a random one. With `npm start`: set it to use your own broker instead of the project-owned one.',
  ),
} as const;

/** How events are routed through RabbitMQ. */
export const TOPOLOGY_KNOBS = {
  exchange: knob.string('SUMSTREAM_EXCHANGE', 'amq.topic', "Exchange events are published to (the original's)."),
  routingKey: knob.string('SUMSTREAM_ROUTING_KEY', 'addition', 'Routing key of addition events.'),
  queue: knob.string('SUMSTREAM_QUEUE', 'addition', 'Durable quorum queue the sum-service consumes.'),
  deadLetterExchange: knob.string(
    'SUMSTREAM_DEAD_LETTER_EXCHANGE',
    'sumstream.dead-letter',
    'Exchange dead letters go to.',
  ),
  deadLetterQueue: knob.string(
    'SUMSTREAM_DEAD_LETTER_QUEUE',
    'addition.dead-letter',
    'Queue holding dead letters with their reason.',
  ),
  deliveryLimit: knob.int(
    'SUMSTREAM_DELIVERY_LIMIT',
    5,
    { min: 1, max: 1000 },
    'Deliveries of one message before RabbitMQ dead-letters it (quorum queue `x-delivery-limit`).',
  ),
  maxLength: knob.int(
    'SUMSTREAM_QUEUE_MAX_LENGTH',
    250_000,
    { min: 1, max: 100_000_000 },
    'Ready messages the queue holds before RabbitMQ refuses further publishes (`x-max-length` with `x-overflow: reject-publish`); the relay then holds back and the backlog waits in the replication slot (docs/operations.md).',
  ),
} as const;

/** Logging, binding and start-up behaviour shared by every process. */
export const PROCESS_KNOBS = {
  logLevel: knob.oneOf(
    'LOG_LEVEL',
    'info',
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    'pino log level.',
  ),
  bindHost: knob.string('BIND_HOST', '127.0.0.1', 'Interface the servers bind to; `0.0.0.0` in containers.'),
  production: knob.derived(
    'SUMSTREAM_PRODUCTION',
    '`true` when `NODE_ENV=production`, else `false`',
    'Production mode: refuse to start with default credentials (see docs/deployment.md).',
    (r, env) => r.bool('SUMSTREAM_PRODUCTION', env['NODE_ENV'] === 'production'),
    false,
  ),
  migrate: knob.bool(
    'SUMSTREAM_MIGRATE',
    true,
    'Apply the migrations at start; `false` when least-privilege roles run the services (`npm run migrate` as the owner).',
  ),
} as const;

export type TopologyConfig = KnobValues<typeof TOPOLOGY_KNOBS>;

export interface CommonConfig extends KnobValues<typeof STORE_KNOBS>, KnobValues<typeof PROCESS_KNOBS> {
  topology: TopologyConfig;
}

/** The topology when nothing is configured: what the development stack and the tests declare. */
export function defaultTopology(): TopologyConfig {
  return readKnobs({}, TOPOLOGY_KNOBS);
}

export function commonConfig(env: Env): CommonConfig {
  const config: CommonConfig = {
    ...readKnobs(env, STORE_KNOBS),
    topology: readKnobs(env, TOPOLOGY_KNOBS),
    ...readKnobs(env, PROCESS_KNOBS),
  };
  if (config.production) {
    const problems = productionProblems(config, env);
    if (problems.length > 0) throw new ConfigError(`Production mode refuses to start:\n- ${problems.join('\n- ')}`);
  }
  return config;
}
