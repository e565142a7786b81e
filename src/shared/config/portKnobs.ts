import { knob } from './knob.js';

/**
 * Where each SumStream process listens, and where the development stack's own PostgreSQL and
 * RabbitMQ listen: the servers bind these ports, and the CLI, the load tool and the development
 * stack reach the servers on them.
 */
export const PORT_KNOBS = {
  grpcPort: knob.port(
    'GRPC_PORT',
    50051,
    'add-service gRPC port: `Addition/Add`, `GetSum`, `WatchSum`, health and reflection.',
  ),
  addMetricsPort: knob.port('ADD_METRICS_PORT', 3001, 'add-service HTTP port of `/metrics`, `/healthz`, `/readyz`.'),
  relayMetricsPort: knob.port('RELAY_METRICS_PORT', 3002, 'cdc-relay HTTP port of `/metrics`, `/healthz`, `/readyz`.'),
  sumPort: knob.port(
    'SUM_PORT',
    4000,
    'sum-service HTTP port: `/sum`, `/sum/stream`, the status page, `/metrics`, `/healthz`, `/readyz`.',
  ),
  pgPort: knob.port(
    'SUMSTREAM_PG_PORT',
    54320,
    "Port of the development stack's own PostgreSQL (also in `DATABASE_URL`'s default).",
  ),
  amqpPort: knob.port(
    'SUMSTREAM_AMQP_PORT',
    56720,
    "AMQP port of the development stack's own RabbitMQ (also in `AMQP_URL`'s default).",
  ),
  rabbitManagementPort: knob.port(
    'SUMSTREAM_RABBIT_MANAGEMENT_PORT',
    15672,
    "RabbitMQ management UI and API port (the development stack's broker; the CLI's `doctor` reads it).",
  ),
} as const;
