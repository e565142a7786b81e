import { type CommonConfig, commonConfig } from '../shared/config/commonConfig.js';
import { ConfigError } from '../shared/config/ConfigError.js';
import type { Env } from '../shared/config/envReader.js';
import { knob, type KnobValues, readKnobs } from '../shared/config/knob.js';
import { PORT_KNOBS } from '../shared/config/portKnobs.js';
import { POOL_DEFAULTS } from '../shared/db/createPool.js';
import { type LiveSumConfig, liveSumConfig } from '../sum-view/liveSumConfig.js';
import { ADDITION_WRITER_DEFAULTS } from './additionWriter.js';
import { type ExpiredPartitions, LEDGER_MAINTAINER_DEFAULTS } from './ledgerMaintainer.js';

export const ADD_SERVICE_KNOBS = {
  grpcPort: PORT_KNOBS.grpcPort,
  metricsPort: PORT_KNOBS.addMetricsPort,
  poolSize: knob.int(
    'ADD_DB_POOL_SIZE',
    POOL_DEFAULTS.max,
    { min: 2, max: 500 },
    'PostgreSQL connections of the add-service.',
  ),
  maxBatchSize: knob.int(
    'ADD_MAX_BATCH',
    ADDITION_WRITER_DEFAULTS.maxBatchSize,
    { min: 1, max: 10_000 },
    'Most additions per group-commit transaction (docs/adr/0008-group-commit.md).',
  ),
  concurrentFlushes: knob.int(
    'ADD_CONCURRENT_FLUSHES',
    ADDITION_WRITER_DEFAULTS.maxConcurrentFlushes,
    { min: 1, max: 499 },
    'Group-commit transactions in flight, below `ADD_DB_POOL_SIZE`; 1: one at a time, the batch growing with the load.',
  ),
  outboxRetentionSeconds: knob.int(
    'OUTBOX_RETENTION_SECONDS',
    60,
    { min: 1, max: 86_400 },
    'Seconds outbox rows are kept before pruning (the WAL holds the events; the ledger keeps every addition).',
  ),
  ledgerPartitionSeconds: knob.int(
    'LEDGER_PARTITION_SECONDS',
    LEDGER_MAINTAINER_DEFAULTS.partitionSeconds,
    { min: 1, max: 366 * 24 * 3600 },
    'Time span of one ledger partition (the ledger is partitioned by accepted_at).',
  ),
  ledgerRetentionSeconds: knob.int(
    'LEDGER_RETENTION_SECONDS',
    LEDGER_MAINTAINER_DEFAULTS.retentionSeconds,
    { min: 0, max: 100 * 365 * 24 * 3600 },
    'Ledger partitions wholly older than this are expired (see `LEDGER_EXPIRED_PARTITIONS`); the sum is unchanged. 0 keeps the whole ledger.',
  ),
  ledgerExpiredPartitions: knob.oneOf<ExpiredPartitions>(
    'LEDGER_EXPIRED_PARTITIONS',
    LEDGER_MAINTAINER_DEFAULTS.expired,
    ['detach', 'drop'],
    'What happens to an expired ledger partition: `detach` keeps it as a table of its own to archive (then drop it yourself), `drop` deletes it.',
  ),
  idempotencyKeyRetentionSeconds: knob.int(
    'IDEMPOTENCY_KEY_RETENTION_SECONDS',
    LEDGER_MAINTAINER_DEFAULTS.idempotencyKeyRetentionSeconds,
    { min: 1, max: 100 * 365 * 24 * 3600 },
    'How long a retry with the same idempotency key is answered from the ledger; after it, the key is forgotten and a retry is a new addition. At most `LEDGER_RETENTION_SECONDS` when that is set.',
  ),
  authTokens: knob.string(
    'ADD_AUTH_TOKENS',
    '',
    'Accepted bearer tokens for Add and GetSum, comma-separated, each of 16 characters or more; empty: no authentication.',
  ),
  tlsCertFile: knob.optional(
    'GRPC_TLS_CERT_FILE',
    'gRPC TLS certificate (PEM); with `GRPC_TLS_KEY_FILE`. Unset: plaintext.',
  ),
  tlsKeyFile: knob.optional('GRPC_TLS_KEY_FILE', 'gRPC TLS private key (PEM); with `GRPC_TLS_CERT_FILE`.'),
  tlsClientCaFile: knob.optional(
    'GRPC_TLS_CLIENT_CA_FILE',
    'CA (PEM) that client certificates must chain to: mutual TLS. Needs the two above.',
  ),
  rateLimit: knob.int(
    'ADD_RATE_LIMIT',
    0,
    { min: 0, max: 10_000_000 },
    'Adds per second this process accepts; beyond it RESOURCE_EXHAUSTED. 0: unlimited.',
  ),
  maxRequestBytes: knob.int(
    'ADD_MAX_REQUEST_BYTES',
    4096,
    { min: 64, max: 4 * 1024 * 1024 },
    'Largest gRPC request in bytes.',
  ),
} as const;

type AddServiceKnobValues = Omit<
  KnobValues<typeof ADD_SERVICE_KNOBS>,
  'authTokens' | 'tlsCertFile' | 'tlsKeyFile' | 'tlsClientCaFile'
>;

export interface AddServiceConfig extends CommonConfig, LiveSumConfig, AddServiceKnobValues {
  /** `ADD_AUTH_TOKENS` split at commas; [] is no authentication. */
  authTokens: string[];
  /** gRPC TLS files; undefined is plaintext. */
  tls: { certFile: string; keyFile: string; clientCaFile: string | undefined } | undefined;
}

export function addServiceConfig(env: Env): AddServiceConfig {
  const { authTokens, tlsCertFile, tlsKeyFile, tlsClientCaFile, ...values } = readKnobs(env, ADD_SERVICE_KNOBS);
  if (values.concurrentFlushes >= values.poolSize) {
    throw new ConfigError(
      `ADD_CONCURRENT_FLUSHES=${values.concurrentFlushes} is not below ADD_DB_POOL_SIZE=${values.poolSize}; lower it or raise the pool (reads need a connection too).`,
    );
  }
  if (values.ledgerRetentionSeconds > 0 && values.idempotencyKeyRetentionSeconds > values.ledgerRetentionSeconds) {
    throw new ConfigError(
      `IDEMPOTENCY_KEY_RETENTION_SECONDS=${values.idempotencyKeyRetentionSeconds} outlives LEDGER_RETENTION_SECONDS=${values.ledgerRetentionSeconds}: a retry could find its key but not its ledger row. Lower the first or raise the second.`,
    );
  }
  return {
    ...commonConfig(env),
    ...liveSumConfig(env),
    ...values,
    authTokens: splitAuthTokens(authTokens),
    tls: tlsFiles(tlsCertFile, tlsKeyFile, tlsClientCaFile),
  };
}

function splitAuthTokens(list: string): string[] {
  const tokens = list
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (tokens.some((t) => t.length < 16))
    throw new ConfigError(
      'ADD_AUTH_TOKENS holds a token shorter than 16 characters; use long random tokens (e.g. openssl rand -hex 32).',
    );
  return tokens;
}

function tlsFiles(
  certFile: string | undefined,
  keyFile: string | undefined,
  clientCaFile: string | undefined,
): AddServiceConfig['tls'] {
  if (!certFile && !keyFile) {
    if (clientCaFile)
      throw new ConfigError('GRPC_TLS_CLIENT_CA_FILE needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE too.');
    return undefined;
  }
  if (!certFile || !keyFile)
    throw new ConfigError('Set both GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (PEM files) for TLS, or neither.');
  return { certFile, keyFile, clientCaFile };
}
