import path from 'node:path';
import { type Env, envReader } from '../shared/config/envReader.js';
import { REPO_ROOT } from './serviceProcess.js';

export interface LauncherConfig {
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
  /** Start Prometheus and the PostgreSQL exporter (`SUMSTREAM_OBSERVABILITY`). Default true. */
  observability: boolean;
  /** Prometheus port (`SUMSTREAM_PROMETHEUS_PORT`). Default 9090. */
  prometheusPort: number;
  /** prometheus-postgres-exporter port (`SUMSTREAM_PG_EXPORTER_PORT`). Default 9187. */
  pgExporterPort: number;
  /** Provided stores: when set, nothing is provisioned. */
  databaseUrl: string | undefined;
  amqpUrl: string | undefined;
}

export function launcherConfig(env: Env): LauncherConfig {
  const read = envReader(env);
  return {
    home: path.resolve(read.string('SUMSTREAM_HOME', path.join(REPO_ROOT, '.sumstream'))),
    pgPort: read.port('SUMSTREAM_PG_PORT', 54320),
    amqpPort: read.port('SUMSTREAM_AMQP_PORT', 56720),
    rabbitManagementPort: read.port('SUMSTREAM_RABBIT_MANAGEMENT_PORT', 15672),
    rabbitPrometheusPort: read.port('SUMSTREAM_RABBIT_PROMETHEUS_PORT', 15692),
    rabbitDistPort: read.port('SUMSTREAM_RABBIT_DIST_PORT', 25673),
    observability: read.bool('SUMSTREAM_OBSERVABILITY', true),
    prometheusPort: read.port('SUMSTREAM_PROMETHEUS_PORT', 9090),
    pgExporterPort: read.port('SUMSTREAM_PG_EXPORTER_PORT', 9187),
    databaseUrl: env['DATABASE_URL'] || undefined,
    amqpUrl: env['AMQP_URL'] || undefined,
  };
}
