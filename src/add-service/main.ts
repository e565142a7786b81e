/** add-service composition root: gRPC Addition on GRPC_PORT, /metrics and probes on ADD_METRICS_PORT. */
import { readFile } from 'node:fs/promises';
import { createPool } from '../shared/db/createPool.js';
import { migrateIfEnabled } from '../shared/db/migrate.js';
import { readSum } from '../sum-view/readSum.js';
import { readSumIfApplied } from '../sum-view/readSumIfApplied.js';
import { loadAdditionProto } from '../shared/grpc/loadAdditionProto.js';
import { closeServer, createHttpServer, listen } from '../shared/http/createHttpServer.js';
import { opsRoutes } from '../shared/http/opsRoutes.js';
import { configOrExit, runProcess } from '../shared/lifecycle/runProcess.js';
import { createLogger, redactUrl } from '../shared/log/createLogger.js';
import { createRegistry } from '../shared/metrics/createRegistry.js';
import { ReadAfterWaiter } from '../sum-view/readAfterWaiter.js';
import { SumCache } from '../sum-view/sumCache.js';
import { SumFeed } from '../sum-view/sumFeed.js';
import { TokenBucket } from '../shared/tokenBucket.js';
import { addServiceConfig } from './addServiceConfig.js';
import { createAddMetrics } from './addMetrics.js';
import { AdditionWriter } from './additionWriter.js';
import { bearerTokenCheck } from './bearerTokenCheck.js';
import { bindGrpc, createGrpcServer, tlsCredentials } from './createGrpcServer.js';
import { LedgerMaintainer } from './ledgerMaintainer.js';
import { pruneOutbox } from './pruneOutbox.js';

/** How long in-flight calls may take to finish at shutdown before the server cuts them. */
const GRPC_SHUTDOWN_GRACE_MS = 3_000;

const config = configOrExit(() => addServiceConfig(process.env));
const logger = createLogger('add-service', config.logLevel);

runProcess(logger, async () => {
  const pool = createPool(
    { url: config.databaseUrl, max: config.poolSize, applicationName: 'sumstream-add-service' },
    (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'),
  );
  await migrateIfEnabled(pool, config.migrate, logger);

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
  // The live sum (WatchSum) and read-your-writes (GetSum{after}) follow the sum-service's commits by LISTEN/NOTIFY.
  const sums = new SumCache({
    databaseUrl: config.databaseUrl,
    read: () => readSum(pool),
    logger,
    applicationName: 'sumstream-add-service',
  });
  await sums.start();
  const feed = new SumFeed({
    source: sums,
    logger,
    intervalMs: config.watchIntervalMs,
    maxWatchers: config.watchMaxClients,
    onWatchers: (n) => metrics.watch.setWatchers(n),
  });
  feed.start();
  const waiter = new ReadAfterWaiter({
    check: (ids) => readSumIfApplied(pool, ids),
    changes: sums,
    logger,
    maxWaitMs: config.readAfterTimeoutMs,
  });
  waiter.start();

  const rateLimit = config.rateLimit > 0 ? new TokenBucket(config.rateLimit) : undefined;
  const { server, health } = createGrpcServer({
    packageDefinition: loadAdditionProto(),
    handlers: {
      record: (command) => writer.write(command),
      readSum: () => readSum(pool),
      readSumAfter: (after, timeoutMs, signal) => waiter.waitForToken(after, timeoutMs, signal),
    },
    watch: { feed, intervalMs: config.watchIntervalMs, stallTimeoutMs: config.watchStallTimeoutMs },
    metrics,
    logger,
    maxRequestBytes: config.maxRequestBytes,
    authorize: bearerTokenCheck(config.authTokens),
    admit: rateLimit ? () => rateLimit.tryTake() : undefined,
  });
  const credentials = config.tls
    ? tlsCredentials({
        cert: await readFile(config.tls.certFile),
        key: await readFile(config.tls.keyFile),
        clientCa: config.tls.clientCaFile ? await readFile(config.tls.clientCaFile) : undefined,
      })
    : undefined;
  const grpcPort = await bindGrpc(server, config.bindHost, config.grpcPort, credentials);

  const ops = createHttpServer({
    routes: opsRoutes(registry, async () => {
      await pool.query('SELECT 1');
      return undefined;
    }),
    logger,
  });
  const metricsPort = await listen(ops, config.metricsPort, config.bindHost);

  const pruner = setInterval(
    () => {
      pruneOutbox(pool, config.outboxRetentionSeconds).catch((error: unknown) =>
        logger.warn({ err: error }, 'outbox pruning failed'),
      );
    },
    Math.min(10_000, config.outboxRetentionSeconds * 1000),
  );

  const ledger = new LedgerMaintainer({
    pool,
    partitionSeconds: config.ledgerPartitionSeconds,
    retentionSeconds: config.ledgerRetentionSeconds,
    expired: config.ledgerExpiredPartitions,
    idempotencyKeyRetentionSeconds: config.idempotencyKeyRetentionSeconds,
    metrics,
    logger,
  });
  ledger.start();

  logger.info(
    {
      grpcPort,
      metricsPort,
      tls: config.tls !== undefined,
      auth: config.authTokens.length > 0,
      database: redactUrl(config.databaseUrl),
    },
    'add-service ready',
  );
  return [
    { name: 'postgres pool', close: () => pool.end() },
    { name: 'sum notifications', close: () => sums.close() },
    { name: 'outbox pruner', close: () => clearInterval(pruner) },
    { name: 'ledger maintenance', close: () => ledger.close() },
    { name: 'ops http', close: () => closeServer(ops) },
    { name: 'addition writer', close: () => writer.drain() },
    {
      name: 'grpc server',
      close: () =>
        new Promise<void>((resolve) => {
          health.setStatus('', 'NOT_SERVING');
          // A watcher that stopped reading cannot receive its final status; after a grace, cut what is left.
          const force = setTimeout(() => server.forceShutdown(), GRPC_SHUTDOWN_GRACE_MS);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        }),
    },
    { name: 'read-after waiters', close: () => waiter.close() },
    { name: 'sum watchers', close: () => feed.close() },
  ];
});
