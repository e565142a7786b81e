import path from 'node:path';
import { ConfigError } from '../shared/config/ConfigError.js';
import type { Env } from '../shared/config/envReader.js';
import { knob, type KnobValues, readKnobs } from '../shared/config/knob.js';
import { PORT_KNOBS } from '../shared/config/portKnobs.js';
import { DEBEZIUM_DEFAULTS, DEBEZIUM_VERSION } from './debeziumInstance.js';
import { isPostgresSize, POSTGRES_DEFAULTS } from './postgresInstance.js';
import { REPO_ROOT } from './serviceProcess.js';

const DEFAULT_HOME = path.join(REPO_ROOT, '.sumstream');
const PG_MAX_SLOT_WAL_KEEP_SIZE = 'SUMSTREAM_PG_MAX_SLOT_WAL_KEEP_SIZE';

/** `npm start`: the development stack's own servers and what it starts. */
export const DEV_STACK_KNOBS = {
  home: knob.derived(
    'SUMSTREAM_HOME',
    '`<repo>/.sumstream`',
    'Where the project-owned PostgreSQL, RabbitMQ and Prometheus keep data and logs.',
    (r) => path.resolve(r.string('SUMSTREAM_HOME', DEFAULT_HOME)),
    DEFAULT_HOME,
  ),
  pgPort: PORT_KNOBS.pgPort,
  pgBin: knob.optional(
    'SUMSTREAM_PG_BIN',
    "PostgreSQL bin folder (pg_ctl, initdb) of the project-owned server, e.g. another version's.",
    'the highest `/usr/lib/postgresql/*/bin`',
  ),
  pgMaxSlotWalKeepSize: knob.derived(
    PG_MAX_SLOT_WAL_KEEP_SIZE,
    `\`${POSTGRES_DEFAULTS.maxSlotWalKeepSize}\``,
    '`max_slot_wal_keep_size` of the project-owned PostgreSQL: the most WAL a replication slot may hold back before PostgreSQL invalidates it (then `sumstream cdc resync`). A size such as `4GB` or `512MB`, or `-1` for unlimited.',
    (r) => {
      const value = r.string(PG_MAX_SLOT_WAL_KEEP_SIZE, POSTGRES_DEFAULTS.maxSlotWalKeepSize);
      if (isPostgresSize(value)) return value;
      throw new ConfigError(
        `${PG_MAX_SLOT_WAL_KEEP_SIZE}=${JSON.stringify(value)} is not a PostgreSQL size; set it to e.g. 4GB or 512MB, -1 for unlimited, or unset it to use ${POSTGRES_DEFAULTS.maxSlotWalKeepSize}.`,
      );
    },
    POSTGRES_DEFAULTS.maxSlotWalKeepSize,
  ),
  amqpPort: PORT_KNOBS.amqpPort,
  rabbitBin: knob.optional(
    'SUMSTREAM_RABBIT_BIN',
    'Folder of rabbitmq-server and rabbitmqctl for the project-owned broker.',
    '`/usr/lib/rabbitmq/bin`',
  ),
  rabbitManagementPort: PORT_KNOBS.rabbitManagementPort,
  rabbitPrometheusPort: knob.port('SUMSTREAM_RABBIT_PROMETHEUS_PORT', 15692, 'RabbitMQ Prometheus endpoint port.'),
  rabbitDistPort: knob.port(
    'SUMSTREAM_RABBIT_DIST_PORT',
    25673,
    'Erlang distribution port of that RabbitMQ, for rabbitmqctl.',
  ),
  rabbitNodeName: knob.string(
    'SUMSTREAM_RABBIT_NODE_NAME',
    'sumstream',
    'Erlang node name of that RabbitMQ; change it (and the ports) to run a second stack on this machine.',
  ),
  observability: knob.bool(
    'SUMSTREAM_OBSERVABILITY',
    true,
    'Start Prometheus and the PostgreSQL exporter (and install them when missing).',
  ),
  prometheusPort: knob.port('SUMSTREAM_PROMETHEUS_PORT', 9090, 'Prometheus port.'),
  pgExporterPort: knob.port('SUMSTREAM_PG_EXPORTER_PORT', 9187, 'prometheus-postgres-exporter port.'),
  cdc: knob.oneOf(
    'SUMSTREAM_CDC',
    'relay',
    ['relay', 'debezium'],
    'Which change data capture runs: the built-in cdc-relay or Debezium Server.',
  ),
  debeziumPort: knob.port(
    'SUMSTREAM_DEBEZIUM_PORT',
    DEBEZIUM_DEFAULTS.httpPort,
    "Debezium Server's HTTP port (`/q/health`), with `SUMSTREAM_CDC=debezium`.",
  ),
  debeziumVersion: knob.string(
    'SUMSTREAM_DEBEZIUM_VERSION',
    DEBEZIUM_VERSION,
    'Debezium Server release (fetched from Maven Central by scripts/fetch-debezium.sh).',
  ),
  javaHome: knob.optional(
    'JAVA_HOME',
    'A Java 21+ to run Debezium Server with.',
    'the highest under /usr/lib/jvm, then `java` on PATH',
  ),
} as const;

export interface DevStackConfig extends KnobValues<typeof DEV_STACK_KNOBS> {
  /** The services' ports, read as the services read them, for the URLs printed and Prometheus's targets. */
  ports: { grpc: number; addMetrics: number; relayMetrics: number; sum: number };
  /** Your own PostgreSQL (`DATABASE_URL`, see STORE_KNOBS): when set, the development stack starts none. */
  databaseUrl: string | undefined;
  /** Your own RabbitMQ (`AMQP_URL`): when set, the development stack starts none. */
  amqpUrl: string | undefined;
}

export function devStackConfig(env: Env): DevStackConfig {
  const ports = readKnobs(env, {
    grpc: PORT_KNOBS.grpcPort,
    addMetrics: PORT_KNOBS.addMetricsPort,
    relayMetrics: PORT_KNOBS.relayMetricsPort,
    sum: PORT_KNOBS.sumPort,
  });
  return {
    ...readKnobs(env, DEV_STACK_KNOBS),
    ports,
    databaseUrl: env['DATABASE_URL'] || undefined,
    amqpUrl: env['AMQP_URL'] || undefined,
  };
}
