import path from 'node:path';
import { type Env, envReader } from '../shared/config/envReader.js';
import { DEBEZIUM_VERSION } from './debeziumInstance.js';
import { REPO_ROOT } from './serviceProcess.js';

export interface DevStackConfig {
  /** Where project-owned PostgreSQL and RabbitMQ keep data and logs (`SUMSTREAM_HOME`). Default `<repo>/.sumstream`. */
  home: string;
  /** Port of the project-owned PostgreSQL (`SUMSTREAM_PG_PORT`). Default 54320. Unused when DATABASE_URL is set. */
  pgPort: number;
  /** AMQP port of the project-owned RabbitMQ (`SUMSTREAM_AMQP_PORT`). Default 56720. Unused when AMQP_URL is set. */
  amqpPort: number;
  /** RabbitMQ management UI/API port (`SUMSTREAM_RABBIT_MANAGEMENT_PORT`). Default 15672. */
  rabbitManagementPort: number;
  /** RabbitMQ Prometheus endpoint port (`SUMSTREAM_RABBIT_PROMETHEUS_PORT`). Default 15692. */
  rabbitPrometheusPort: number;
  /** Erlang distribution port of that RabbitMQ, for rabbitmqctl (`SUMSTREAM_RABBIT_DIST_PORT`). Default 25673. */
  rabbitDistPort: number;
  /** The services' ports, read as the services read them, for the URLs printed and Prometheus's targets. */
  ports: { grpc: number; addMetrics: number; relayMetrics: number; sum: number };
  /** Erlang node name of that RabbitMQ (`SUMSTREAM_RABBIT_NODE_NAME`). Default `sumstream`; change it to run a second stack on this machine. */
  rabbitNodeName: string;
  /** Start Prometheus and the PostgreSQL exporter (`SUMSTREAM_OBSERVABILITY`). Default true. */
  observability: boolean;
  /** Prometheus port (`SUMSTREAM_PROMETHEUS_PORT`). Default 9090. */
  prometheusPort: number;
  /** prometheus-postgres-exporter port (`SUMSTREAM_PG_EXPORTER_PORT`). Default 9187. */
  pgExporterPort: number;
  /** Which change data capture runs (`SUMSTREAM_CDC`): the built-in `relay` or `debezium` (Debezium Server). Default `relay`. */
  cdc: 'relay' | 'debezium';
  /** Debezium Server's HTTP port, `/q/health` (`SUMSTREAM_DEBEZIUM_PORT`). Default 3003. Used with `SUMSTREAM_CDC=debezium`. */
  debeziumPort: number;
  /** Debezium Server release fetched from Maven Central (`SUMSTREAM_DEBEZIUM_VERSION`). Default 3.6.1.Final. */
  debeziumVersion: string;
  /** A Java 21+ to run Debezium Server with (`JAVA_HOME`). Default: the highest under /usr/lib/jvm, then `java` on PATH. */
  javaHome: string | undefined;
  /** Provided stores: when set, nothing is provisioned. */
  databaseUrl: string | undefined;
  amqpUrl: string | undefined;
}

export function devStackConfig(env: Env): DevStackConfig {
  const read = envReader(env);
  return {
    home: path.resolve(read.string('SUMSTREAM_HOME', path.join(REPO_ROOT, '.sumstream'))),
    pgPort: read.port('SUMSTREAM_PG_PORT', 54320),
    amqpPort: read.port('SUMSTREAM_AMQP_PORT', 56720),
    rabbitManagementPort: read.port('SUMSTREAM_RABBIT_MANAGEMENT_PORT', 15672),
    rabbitPrometheusPort: read.port('SUMSTREAM_RABBIT_PROMETHEUS_PORT', 15692),
    rabbitDistPort: read.port('SUMSTREAM_RABBIT_DIST_PORT', 25673),
    rabbitNodeName: read.string('SUMSTREAM_RABBIT_NODE_NAME', 'sumstream'),
    ports: { grpc: read.port('GRPC_PORT', 50051), addMetrics: read.port('ADD_METRICS_PORT', 3001), relayMetrics: read.port('RELAY_METRICS_PORT', 3002), sum: read.port('SUM_PORT', 4000) },
    observability: read.bool('SUMSTREAM_OBSERVABILITY', true),
    prometheusPort: read.port('SUMSTREAM_PROMETHEUS_PORT', 9090),
    pgExporterPort: read.port('SUMSTREAM_PG_EXPORTER_PORT', 9187),
    cdc: read.oneOf('SUMSTREAM_CDC', 'relay', ['relay', 'debezium']),
    debeziumPort: read.port('SUMSTREAM_DEBEZIUM_PORT', 3003),
    debeziumVersion: read.string('SUMSTREAM_DEBEZIUM_VERSION', DEBEZIUM_VERSION),
    javaHome: env['JAVA_HOME'] || undefined,
    databaseUrl: env['DATABASE_URL'] || undefined,
    amqpUrl: env['AMQP_URL'] || undefined,
  };
}
