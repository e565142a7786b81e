import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import { ConfigError } from '../shared/config/ConfigError.js';
import { type Env, envReader } from '../shared/config/envReader.js';
import { type ReplicationConfig, replicationConfig } from '../shared/config/replicationConfig.js';

/**
 * What the CLI talks to, from the same environment variables as the services (so a shell set up
 * for `npm start` or a stack needs nothing more), plus a few of its own. Flags override these.
 */
export interface CliConfig extends Pick<CommonConfig, 'databaseUrl' | 'amqpUrl' | 'topology'>, ReplicationConfig {
  /** add-service gRPC address host:port (`SUMSTREAM_GRPC_TARGET`). Default `127.0.0.1:<GRPC_PORT>`, i.e. 127.0.0.1:50051. */
  grpcTarget: string;
  /** sum-service base URL (`SUMSTREAM_SUM_URL`). Default `http://127.0.0.1:<SUM_PORT>`, i.e. http://127.0.0.1:4000. */
  sumUrl: string;
  /** add-service `/healthz` base URL. Default `http://127.0.0.1:<ADD_METRICS_PORT>` (3001). */
  addMetricsUrl: string;
  /** cdc-relay `/healthz` base URL. Default `http://127.0.0.1:<RELAY_METRICS_PORT>` (3002). */
  relayMetricsUrl: string;
  /**
   * RabbitMQ management API (`SUMSTREAM_RABBIT_MANAGEMENT_URL`), where `doctor` reads bindings.
   * Default: AMQP_URL's host and credentials on port `SUMSTREAM_RABBIT_MANAGEMENT_PORT` (15672).
   */
  managementUrl: string;
  /** Bearer token for Add when the add-service has `ADD_AUTH_TOKENS` (`SUMSTREAM_AUTH_TOKEN`). Default none. */
  authToken: string | undefined;
}

/** Resolves the CLI's configuration; throws ConfigError naming the variable and the fix. */
export function cliConfig(env: Env): CliConfig {
  const read = envReader(env);
  // The CLI is a client: production mode's refusal of default credentials is for the servers.
  const common = commonConfig({ ...env, SUMSTREAM_PRODUCTION: 'false' });
  const grpcTarget = read.string('SUMSTREAM_GRPC_TARGET', `127.0.0.1:${read.port('GRPC_PORT', 50051)}`);
  if (!/^[^\s/]+:\d{1,5}$/.test(grpcTarget)) {
    throw new ConfigError(`SUMSTREAM_GRPC_TARGET=${JSON.stringify(grpcTarget)} is not host:port; set it like 127.0.0.1:50051.`);
  }
  return {
    databaseUrl: common.databaseUrl,
    amqpUrl: common.amqpUrl,
    topology: common.topology,
    ...replicationConfig(env),
    grpcTarget,
    sumUrl: read.url('SUMSTREAM_SUM_URL', `http://127.0.0.1:${read.port('SUM_PORT', 4000)}`, ['http', 'https']),
    addMetricsUrl: `http://127.0.0.1:${read.port('ADD_METRICS_PORT', 3001)}`,
    relayMetricsUrl: `http://127.0.0.1:${read.port('RELAY_METRICS_PORT', 3002)}`,
    managementUrl: read.url('SUMSTREAM_RABBIT_MANAGEMENT_URL', defaultManagementUrl(common.amqpUrl, read.port('SUMSTREAM_RABBIT_MANAGEMENT_PORT', 15672)), ['http', 'https']),
    authToken: read.string('SUMSTREAM_AUTH_TOKEN', '') || undefined,
  };
}

/** http://user:pass@host:<port> from amqp://user:pass@host:5672/vhost (guest/guest when the URL has none, as amqplib does). */
export function defaultManagementUrl(amqpUrl: string, port: number): string {
  const amqp = new URL(amqpUrl);
  const user = amqp.username || 'guest';
  const password = amqp.username ? amqp.password : 'guest';
  return `http://${user}:${password}@${amqp.hostname}:${port}`;
}
