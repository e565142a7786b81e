/** add-service composition root: gRPC Addition on GRPC_PORT, /metrics and probes on ADD_METRICS_PORT. */
import { createPool } from '../shared/db/createPool.js';
import { migrate } from '../shared/db/migrate.js';
import { readSum } from '../shared/db/readSum.js';
import { loadAdditionProto } from '../shared/grpc/loadAdditionProto.js';
import { closeServer, createHttpServer, listen } from '../shared/http/createHttpServer.js';
import { opsRoutes } from '../shared/http/opsRoutes.js';
import { runProcess } from '../shared/lifecycle/runProcess.js';
import { createLogger, redactUrl } from '../shared/log/createLogger.js';
import { createRegistry } from '../shared/metrics/createRegistry.js';
import { addServiceConfig } from './addServiceConfig.js';
import { createAddMetrics } from './addMetrics.js';
import { AdditionWriter } from './additionWriter.js';
import { bindGrpc, createGrpcServer } from './createGrpcServer.js';
import { pruneOutbox } from './pruneOutbox.js';

const config = addServiceConfig(process.env);
const logger = createLogger('add-service', config.logLevel);

runProcess(logger, async () => {
  const pool = createPool({ url: config.databaseUrl, max: config.poolSize, applicationName: 'sumstream-add-service' }, (error) =>
    logger.warn({ err: error }, 'idle PostgreSQL connection failed'),
  );
  const applied = await migrate(pool);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');

  const registry = createRegistry('add-service');
  const metrics = createAddMetrics(registry);
  const writer = new AdditionWriter(pool, {
    maxBatchSize: config.maxBatchSize,
    maxConcurrentFlushes: config.concurrentFlushes,
    onFlush: (size, seconds) => {
      metrics.batchSize.observe(size);
      metrics.transactionDuration.observe(seconds);
    },
  });
  const { server, health } = createGrpcServer({
    packageDefinition: loadAdditionProto(),
    handlers: { record: (command) => writer.write(command), readSum: () => readSum(pool) },
    metrics,
    logger,
  });
  const grpcPort = await bindGrpc(server, config.bindHost, config.grpcPort);

  const ops = createHttpServer({
    routes: opsRoutes(registry, async () => {
      await pool.query('SELECT 1');
      return undefined;
    }),
    logger,
  });
  const metricsPort = await listen(ops, config.metricsPort, config.bindHost);

  const pruner = setInterval(() => {
    pruneOutbox(pool, config.outboxRetentionSeconds).catch((error: unknown) => logger.warn({ err: error }, 'outbox pruning failed'));
  }, Math.min(10_000, config.outboxRetentionSeconds * 1000));

  logger.info({ grpcPort, metricsPort, database: redactUrl(config.databaseUrl) }, 'add-service ready');
  return [
    { name: 'postgres pool', close: () => pool.end() },
    { name: 'outbox pruner', close: () => clearInterval(pruner) },
    { name: 'ops http', close: () => closeServer(ops) },
    { name: 'addition writer', close: () => writer.drain() },
    {
      name: 'grpc server',
      close: () =>
        new Promise<void>((resolve) => {
          health.setStatus('', 'NOT_SERVING');
          server.tryShutdown(() => resolve());
        }),
    },
  ];
});
