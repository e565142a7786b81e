import { ConfigError } from './ConfigError.js';
import { type Env, envReader } from './envReader.js';
import { productionProblems } from './productionProblems.js';

/** Defaults shared by every process: where the stores are and how events are routed. */
export const DEFAULTS = {
  databaseUrl: 'postgres://sumstream:sumstream@127.0.0.1:54320/sumstream',
  amqpUrl: 'amqp://sumstream:sumstream@127.0.0.1:56720',
  exchange: 'amq.topic',
  routingKey: 'addition',
  queue: 'addition',
  deadLetterExchange: 'sumstream.dead-letter',
  deadLetterQueue: 'addition.dead-letter',
  deliveryLimit: 5,
  logLevel: 'info',
  bindHost: '127.0.0.1',
} as const;

export interface TopologyConfig {
  /** Exchange events are published to. Default `amq.topic` (the original's). */
  exchange: string;
  /** Routing key of addition events. Default `addition`. */
  routingKey: string;
  /** Durable quorum queue the sum-service consumes. Default `addition`. */
  queue: string;
  /** Exchange dead letters go to. Default `sumstream.dead-letter`. */
  deadLetterExchange: string;
  /** Queue holding dead letters with their reason. Default `addition.dead-letter`. */
  deadLetterQueue: string;
  /** Deliveries of one message before RabbitMQ dead-letters it. Default 5. */
  deliveryLimit: number;
}

export interface CommonConfig {
  /** PostgreSQL URL (`DATABASE_URL`). */
  databaseUrl: string;
  /** RabbitMQ URL (`AMQP_URL`). */
  amqpUrl: string;
  topology: TopologyConfig;
  /** pino level (`LOG_LEVEL`). Default `info`. */
  logLevel: string;
  /** Interface servers bind to (`BIND_HOST`). Default `127.0.0.1`; `0.0.0.0` in containers. */
  bindHost: string;
  /** Production mode (`SUMSTREAM_PRODUCTION=true` or `NODE_ENV=production`): default credentials are refused. */
  production: boolean;
  /** Apply migrations at start (`SUMSTREAM_MIGRATE`). Default true; false when least-privilege roles run the services. */
  migrate: boolean;
}

export function commonConfig(env: Env): CommonConfig {
  const read = envReader(env);
  const config: CommonConfig = {
    databaseUrl: read.url('DATABASE_URL', DEFAULTS.databaseUrl, ['postgres', 'postgresql']),
    amqpUrl: read.url('AMQP_URL', DEFAULTS.amqpUrl, ['amqp', 'amqps']),
    topology: {
      exchange: read.string('SUMSTREAM_EXCHANGE', DEFAULTS.exchange),
      routingKey: read.string('SUMSTREAM_ROUTING_KEY', DEFAULTS.routingKey),
      queue: read.string('SUMSTREAM_QUEUE', DEFAULTS.queue),
      deadLetterExchange: read.string('SUMSTREAM_DEAD_LETTER_EXCHANGE', DEFAULTS.deadLetterExchange),
      deadLetterQueue: read.string('SUMSTREAM_DEAD_LETTER_QUEUE', DEFAULTS.deadLetterQueue),
      deliveryLimit: read.int('SUMSTREAM_DELIVERY_LIMIT', DEFAULTS.deliveryLimit, { min: 1, max: 1000 }),
    },
    logLevel: read.oneOf('LOG_LEVEL', DEFAULTS.logLevel, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    bindHost: read.string('BIND_HOST', DEFAULTS.bindHost),
    production: read.bool('SUMSTREAM_PRODUCTION', env['NODE_ENV'] === 'production'),
    migrate: read.bool('SUMSTREAM_MIGRATE', true),
  };
  if (config.production) {
    const problems = productionProblems(config, env);
    if (problems.length > 0) throw new ConfigError(`Production mode refuses to start:\n- ${problems.join('\n- ')}`);
  }
  return config;
}
