import { describe, expect, it } from 'vitest';
import { debeziumEnv, type DebeziumEnvOptions } from '../../src/dev-stack/index.js';

const base: DebeziumEnvOptions = {
  databaseUrl: 'postgres://sumstream:sumstream@127.0.0.1:54320/sumstream',
  amqpUrl: 'amqp://sumstream:sumstream@127.0.0.1:56720',
  slot: 'sumstream_debezium',
  exchange: 'amq.topic',
  routingKey: 'addition',
  offsetsFile: '/data/offsets.dat',
  httpPort: 3003,
  bindHost: '127.0.0.1',
};

describe('debeziumEnv', () => {
  it("splits the URLs into Debezium Server's separate properties", () => {
    expect(debeziumEnv(base)).toEqual({
      DEBEZIUM_SOURCE_DATABASE_HOSTNAME: '127.0.0.1',
      DEBEZIUM_SOURCE_DATABASE_PORT: '54320',
      DEBEZIUM_SOURCE_DATABASE_USER: 'sumstream',
      DEBEZIUM_SOURCE_DATABASE_PASSWORD: 'sumstream',
      DEBEZIUM_SOURCE_DATABASE_DBNAME: 'sumstream',
      DEBEZIUM_SOURCE_SLOT_NAME: 'sumstream_debezium',
      DEBEZIUM_SOURCE_OFFSET_STORAGE_FILE_FILENAME: '/data/offsets.dat',
      DEBEZIUM_SINK_RABBITMQ_CONNECTION_HOST: '127.0.0.1',
      DEBEZIUM_SINK_RABBITMQ_CONNECTION_PORT: '56720',
      DEBEZIUM_SINK_RABBITMQ_CONNECTION_USERNAME: 'sumstream',
      DEBEZIUM_SINK_RABBITMQ_CONNECTION_PASSWORD: 'sumstream',
      SUMSTREAM_AMQP_VHOST: '/',
      SUMSTREAM_AMQP_SSL: 'false',
      DEBEZIUM_SINK_RABBITMQ_EXCHANGE: 'amq.topic',
      DEBEZIUM_SINK_RABBITMQ_ROUTINGKEY: 'addition',
      QUARKUS_HTTP_PORT: '3003',
      QUARKUS_HTTP_HOST: '127.0.0.1',
    });
  });

  it('decodes percent-encoded credentials, database and vhost, and applies default ports', () => {
    const env = debeziumEnv({
      ...base,
      databaseUrl: 'postgresql://app%40corp:p%3Ass%2Fw@db.example:/my%20db?sslmode=require',
      amqpUrl: 'amqps://rabbit.example/test-stack%2Fx',
    });
    expect(env).toMatchObject({
      DEBEZIUM_SOURCE_DATABASE_HOSTNAME: 'db.example',
      DEBEZIUM_SOURCE_DATABASE_PORT: '5432',
      DEBEZIUM_SOURCE_DATABASE_USER: 'app@corp',
      DEBEZIUM_SOURCE_DATABASE_PASSWORD: 'p:ss/w',
      DEBEZIUM_SOURCE_DATABASE_DBNAME: 'my db',
      DEBEZIUM_SOURCE_DATABASE_SSLMODE: 'require',
      DEBEZIUM_SINK_RABBITMQ_CONNECTION_PORT: '5671',
      DEBEZIUM_SINK_RABBITMQ_CONNECTION_USERNAME: 'guest',
      SUMSTREAM_AMQP_VHOST: 'test-stack/x',
      SUMSTREAM_AMQP_SSL: 'true',
    });
  });

  it('reads an AMQP URL ending in "/" as the default vhost, as amqplib does', () => {
    expect(debeziumEnv({ ...base, amqpUrl: 'amqp://u:p@127.0.0.1:5672/' }).SUMSTREAM_AMQP_VHOST).toBe('/');
  });

  it('refuses what JDBC cannot connect to, naming the variable and the form it needs', () => {
    expect(() => debeziumEnv({ ...base, databaseUrl: 'postgres://u:p@localhost' })).toThrow(
      /DATABASE_URL must name a TCP host and a database/,
    );
    expect(() => debeziumEnv({ ...base, databaseUrl: 'postgres:///db?host=/var/run/postgresql' })).toThrow(
      /Unix sockets are not supported/,
    );
    expect(() => debeziumEnv({ ...base, amqpUrl: 'http://127.0.0.1:5672' })).toThrow(/AMQP_URL uses protocol http:/);
    expect(() => debeziumEnv({ ...base, databaseUrl: 'not a url' })).toThrow(/DATABASE_URL is not a valid URL/);
  });
});
