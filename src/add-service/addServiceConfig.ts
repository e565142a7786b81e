import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import { ConfigError } from '../shared/config/ConfigError.js';
import { type Env, envReader } from '../shared/config/envReader.js';
import { type LiveSumConfig, liveSumConfig } from '../shared/config/liveSumConfig.js';

export interface AddServiceConfig extends CommonConfig, LiveSumConfig {
  /** gRPC port (`GRPC_PORT`). Default 50051. */
  grpcPort: number;
  /** HTTP port of /metrics, /healthz, /readyz (`ADD_METRICS_PORT`). Default 3001. */
  metricsPort: number;
  /** PostgreSQL connections (`ADD_DB_POOL_SIZE`). Default 10. */
  poolSize: number;
  /** Most additions per group-commit transaction (`ADD_MAX_BATCH`). Default 256. */
  maxBatchSize: number;
  /** Group-commit transactions in flight (`ADD_CONCURRENT_FLUSHES`). Default 1: one at a time, the batch growing with the load. */
  concurrentFlushes: number;
  /** Seconds outbox rows are kept before pruning (`OUTBOX_RETENTION_SECONDS`). Default 60. */
  outboxRetentionSeconds: number;
  /** Accepted bearer tokens for Add and GetSum (`ADD_AUTH_TOKENS`, comma-separated). Default none: no auth. */
  authTokens: string[];
  /** gRPC TLS (`GRPC_TLS_CERT_FILE`, `GRPC_TLS_KEY_FILE`, optional `GRPC_TLS_CLIENT_CA_FILE` for mutual TLS). Default off. */
  tls: { certFile: string; keyFile: string; clientCaFile: string | undefined } | undefined;
  /** Adds per second this process accepts (`ADD_RATE_LIMIT`); beyond it RESOURCE_EXHAUSTED. Default 0: unlimited. */
  rateLimit: number;
  /** Largest gRPC request in bytes (`ADD_MAX_REQUEST_BYTES`). Default 4096. */
  maxRequestBytes: number;
}

export function addServiceConfig(env: Env): AddServiceConfig {
  const read = envReader(env);
  const poolSize = read.int('ADD_DB_POOL_SIZE', 10, { min: 2, max: 500 });
  return {
    ...commonConfig(env),
    ...liveSumConfig(env),
    grpcPort: read.port('GRPC_PORT', 50051),
    metricsPort: read.port('ADD_METRICS_PORT', 3001),
    poolSize,
    maxBatchSize: read.int('ADD_MAX_BATCH', 256, { min: 1, max: 10_000 }),
    concurrentFlushes: read.int('ADD_CONCURRENT_FLUSHES', 1, { min: 1, max: poolSize - 1 }),
    outboxRetentionSeconds: read.int('OUTBOX_RETENTION_SECONDS', 60, { min: 1, max: 86_400 }),
    authTokens: authTokens(read.string('ADD_AUTH_TOKENS', '')),
    tls: tlsFiles(read.string('GRPC_TLS_CERT_FILE', ''), read.string('GRPC_TLS_KEY_FILE', ''), read.string('GRPC_TLS_CLIENT_CA_FILE', '')),
    rateLimit: read.int('ADD_RATE_LIMIT', 0, { min: 0, max: 10_000_000 }),
    maxRequestBytes: read.int('ADD_MAX_REQUEST_BYTES', 4096, { min: 64, max: 4 * 1024 * 1024 }),
  };
}

function authTokens(list: string): string[] {
  const tokens = list.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tokens.some((t) => t.length < 16)) throw new ConfigError('ADD_AUTH_TOKENS holds a token shorter than 16 characters; use long random tokens (e.g. openssl rand -hex 32).');
  return tokens;
}

function tlsFiles(certFile: string, keyFile: string, clientCaFile: string): AddServiceConfig['tls'] {
  if (!certFile && !keyFile) {
    if (clientCaFile) throw new ConfigError('GRPC_TLS_CLIENT_CA_FILE needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE too.');
    return undefined;
  }
  if (!certFile || !keyFile) throw new ConfigError('Set both GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (PEM files) for TLS, or neither.');
  return { certFile, keyFile, clientCaFile: clientCaFile || undefined };
}
