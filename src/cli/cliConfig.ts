import { amqpUrls } from '../shared/messaging/connectAmqp.js';
import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import { ConfigError } from '../shared/config/ConfigError.js';
import { type Env, envReader } from '../shared/config/envReader.js';
import { knob, readKnobs } from '../shared/config/knob.js';
import { PORT_KNOBS } from '../shared/config/portKnobs.js';
import { type ReplicationConfig, replicationConfig } from '../shared/config/replicationConfig.js';

/**
 * What the CLI talks to, from the same environment variables as the services (so a shell set up
 * for `npm start` or a stack needs nothing more), plus a few of its own. Flags override these.
 */
export interface CliConfig extends Pick<CommonConfig, 'databaseUrl' | 'amqpUrl' | 'topology'>, ReplicationConfig {
  /** add-service gRPC address host:port (`SUMSTREAM_GRPC_TARGET`). Default `127.0.0.1:<GRPC_PORT>`. */
  grpcTarget: string;
  /** sum-service base URL (`SUMSTREAM_SUM_URL`). Default `http://127.0.0.1:<SUM_PORT>`. */
  sumUrl: string;
  /** add-service `/healthz` base URL. Default `http://127.0.0.1:<ADD_METRICS_PORT>`. */
  addMetricsUrl: string;
  /** cdc-relay `/healthz` base URL. Default `http://127.0.0.1:<RELAY_METRICS_PORT>`. */
  relayMetricsUrl: string;
  /**
   * RabbitMQ management API (`SUMSTREAM_RABBIT_MANAGEMENT_URL`), where `doctor` reads bindings.
   * Default: AMQP_URL's host and credentials on port `SUMSTREAM_RABBIT_MANAGEMENT_PORT`.
   */
  managementUrl: string;
  /** Bearer token for Add when the add-service has `ADD_AUTH_TOKENS` (`SUMSTREAM_AUTH_TOKEN`). Default none. */
  authToken: string | undefined;
}

/** The CLI's own knobs; the rest are the services' (their ports, the stores, the topology). */
export const CLI_KNOBS = {
  grpcTarget: knob.optional(
    'SUMSTREAM_GRPC_TARGET',
    'add-service gRPC address `host:port` the CLI calls.',
    '`127.0.0.1:<GRPC_PORT>`',
  ),
  sumUrl: knob.optional('SUMSTREAM_SUM_URL', 'sum-service base URL the CLI reads.', '`http://127.0.0.1:<SUM_PORT>`'),
  managementUrl: knob.optional(
    'SUMSTREAM_RABBIT_MANAGEMENT_URL',
    'RabbitMQ management API, where `doctor` reads bindings.',
    "AMQP_URL's host and credentials on `SUMSTREAM_RABBIT_MANAGEMENT_PORT`",
  ),
  authToken: knob.optional('SUMSTREAM_AUTH_TOKEN', 'Bearer token for Add when the add-service has `ADD_AUTH_TOKENS`.'),
} as const;

/** Resolves the CLI's configuration; throws ConfigError naming the variable and the fix. */
export function cliConfig(env: Env): CliConfig {
  const read = envReader(env);
  // SUMSTREAM_SUM_URL and SUMSTREAM_RABBIT_MANAGEMENT_URL are read below, validated as URLs.
  const own = readKnobs(env, { grpcTarget: CLI_KNOBS.grpcTarget, authToken: CLI_KNOBS.authToken });
  const ports = readKnobs(env, {
    grpc: PORT_KNOBS.grpcPort,
    sum: PORT_KNOBS.sumPort,
    addMetrics: PORT_KNOBS.addMetricsPort,
    relayMetrics: PORT_KNOBS.relayMetricsPort,
    management: PORT_KNOBS.rabbitManagementPort,
  });
  // The CLI is a client: production mode's refusal of default credentials is for the servers.
  const common = commonConfig({ ...env, SUMSTREAM_PRODUCTION: 'false' });
  const grpcTarget = own.grpcTarget ?? `127.0.0.1:${ports.grpc}`;
  if (!/^[^\s/]+:\d{1,5}$/.test(grpcTarget)) {
    throw new ConfigError(
      `SUMSTREAM_GRPC_TARGET=${JSON.stringify(grpcTarget)} is not host:port; set it like 127.0.0.1:${PORT_KNOBS.grpcPort.default}.`,
    );
  }
  return {
    databaseUrl: common.databaseUrl,
    amqpUrl: common.amqpUrl,
    topology: common.topology,
    ...replicationConfig(env),
    grpcTarget,
    sumUrl: read.url('SUMSTREAM_SUM_URL', `http://127.0.0.1:${ports.sum}`, ['http', 'https']),
    addMetricsUrl: `http://127.0.0.1:${ports.addMetrics}`,
    relayMetricsUrl: `http://127.0.0.1:${ports.relayMetrics}`,
    managementUrl: read.url('SUMSTREAM_RABBIT_MANAGEMENT_URL', defaultManagementUrl(common.amqpUrl, ports.management), [
      'http',
      'https',
    ]),
    authToken: own.authToken,
  };
}

/** http://user:pass@host:<port> from amqp://user:pass@host:5672/vhost (guest/guest when the URL has none, as amqplib does). */
export function defaultManagementUrl(amqpUrl: string, port: number): string {
  const amqp = new URL(amqpUrls(amqpUrl)[0] ?? amqpUrl);
  const user = amqp.username || 'guest';
  const password = amqp.username ? amqp.password : 'guest';
  return `http://${user}:${password}@${amqp.hostname}:${port}`;
}
