import { ConfigError } from '../shared/config/ConfigError.js';

export interface DebeziumEnvOptions {
  /** postgres://user:password@host:port/db (the role needs REPLICATION). */
  databaseUrl: string;
  /** amqp://user:password@host:port/vhost. */
  amqpUrl: string;
  /** Logical replication slot Debezium owns. */
  slot: string;
  /** Exchange events are published to. */
  exchange: string;
  /** Routing key of every event. */
  routingKey: string;
  /** File the source offsets are kept in (FileOffsetBackingStore). */
  offsetsFile: string;
  /** Port of Debezium Server's HTTP endpoints (/q/health). */
  httpPort: number;
  /** Interface those endpoints listen on. */
  bindHost: string;
}

/**
 * The environment that completes `deploy/debezium/application.properties` for one deployment:
 * Debezium Server reads property `a.b.c` from variable `A_B_C`, so the URLs our processes take are
 * split into the separate host/port/user/password/database properties Debezium wants. Pure.
 */
export function debeziumEnv(options: DebeziumEnvOptions): Record<string, string> {
  const db = parseUrl(options.databaseUrl, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const amqp = parseUrl(options.amqpUrl, 'AMQP_URL', ['amqp:', 'amqps:']);
  const dbname = decodeURIComponent(db.pathname.replace(/^\//, ''));
  if (!db.hostname || dbname === '' || db.searchParams.has('host')) {
    throw new ConfigError(
      'DATABASE_URL must name a TCP host and a database (postgres://user:password@host:port/db) for Debezium, which connects over JDBC; Unix sockets are not supported.',
    );
  }
  // amqplib's reading of the path: none or "/" means the default vhost "/".
  const vhost = decodeURIComponent(amqp.pathname.replace(/^\//, '')) || '/';
  const env: Record<string, string> = {
    DEBEZIUM_SOURCE_DATABASE_HOSTNAME: unbracket(db.hostname),
    DEBEZIUM_SOURCE_DATABASE_PORT: db.port || '5432',
    DEBEZIUM_SOURCE_DATABASE_USER: decodeURIComponent(db.username),
    DEBEZIUM_SOURCE_DATABASE_PASSWORD: decodeURIComponent(db.password),
    DEBEZIUM_SOURCE_DATABASE_DBNAME: dbname,
    DEBEZIUM_SOURCE_SLOT_NAME: options.slot,
    DEBEZIUM_SOURCE_OFFSET_STORAGE_FILE_FILENAME: options.offsetsFile,
    DEBEZIUM_SINK_RABBITMQ_CONNECTION_HOST: unbracket(amqp.hostname),
    DEBEZIUM_SINK_RABBITMQ_CONNECTION_PORT: amqp.port || (amqp.protocol === 'amqps:' ? '5671' : '5672'),
    DEBEZIUM_SINK_RABBITMQ_CONNECTION_USERNAME: decodeURIComponent(amqp.username) || 'guest',
    DEBEZIUM_SINK_RABBITMQ_CONNECTION_PASSWORD: decodeURIComponent(amqp.password) || 'guest',
    // The properties file reads these two as expressions (${SUMSTREAM_AMQP_VHOST}, ${SUMSTREAM_AMQP_SSL}).
    SUMSTREAM_AMQP_VHOST: vhost,
    SUMSTREAM_AMQP_SSL: String(amqp.protocol === 'amqps:'),
    DEBEZIUM_SINK_RABBITMQ_EXCHANGE: options.exchange,
    DEBEZIUM_SINK_RABBITMQ_ROUTINGKEY: options.routingKey,
    QUARKUS_HTTP_PORT: String(options.httpPort),
    QUARKUS_HTTP_HOST: options.bindHost,
  };
  const sslmode = db.searchParams.get('sslmode');
  if (sslmode) env['DEBEZIUM_SOURCE_DATABASE_SSLMODE'] = sslmode;
  return env;
}

function parseUrl(value: string, knob: string, protocols: string[]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ConfigError(
      `${knob} is not a valid URL; expected e.g. ${protocols[0]}//user:password@127.0.0.1:port/...`,
      { cause },
    );
  }
  if (!protocols.includes(url.protocol))
    throw new ConfigError(`${knob} uses protocol ${url.protocol}; expected one of ${protocols.join(', ')}.`);
  return url;
}

/** `[::1]` → `::1`: JDBC and the RabbitMQ client take the bare address. */
const unbracket = (host: string): string => host.replace(/^\[(.*)\]$/, '$1');
