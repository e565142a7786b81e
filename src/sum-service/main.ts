/** sum-service composition root: consumes addition events, serves GET /sum, the status page and probes on SUM_PORT. */
import { createPool } from '../shared/db/createPool.js';
import { migrateIfEnabled } from '../shared/db/migrate.js';
import { readSum } from '../sum-view/readSum.js';
import { readSumIfApplied } from '../sum-view/readSumIfApplied.js';
import { closeServer, createHttpServer, listen } from '../shared/http/createHttpServer.js';
import { opsRoutes } from '../shared/http/opsRoutes.js';
import { configOrExit, runProcess } from '../shared/lifecycle/runProcess.js';
import { createLogger } from '../shared/log/createLogger.js';
import { createRegistry } from '../shared/metrics/createRegistry.js';
import { ReadAfterWaiter } from '../sum-view/readAfterWaiter.js';
import { SumCache } from '../sum-view/sumCache.js';
import { SumFeed } from '../sum-view/sumFeed.js';
import { TokenBucket } from '../shared/tokenBucket.js';
import { EventConsumer } from './eventConsumer.js';
import { InboxPruner } from './inboxPruner.js';
import { StatusCollector } from './statusPage/statusCollector.js';
import { statusPageRoutes } from './statusPage/statusPageRoutes.js';
import { sumRoutes } from './sumRoutes.js';
import { sumStreamRoute } from './sumStreamRoute.js';
import { createSumMetrics } from './sumMetrics.js';
import { sumServiceConfig } from './sumServiceConfig.js';

const config = configOrExit(() => sumServiceConfig(process.env));
const logger = createLogger('sum-service', config.logLevel);

runProcess(logger, async () => {
  const pool = createPool(
    { url: config.databaseUrl, max: config.poolSize, applicationName: 'sumstream-sum-service' },
    (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'),
  );
  await migrateIfEnabled(pool, config.migrate, logger);

  const registry = createRegistry('sum-service');
  const metrics = createSumMetrics(registry);
  const sums = new SumCache({ databaseUrl: config.databaseUrl, read: () => readSum(pool), logger });
  await sums.start();
  const consumer = new EventConsumer({
    amqpUrl: config.amqpUrl,
    topology: config.topology,
    pool,
    metrics,
    logger,
    prefetch: config.prefetch,
    maxBatch: config.maxBatch,
    onSumChanged: () => sums.changed(),
    notifyOrigin: sums.origin,
  });
  await consumer.start();
  const pruner = new InboxPruner({
    pool,
    retentionSeconds: config.inboxRetentionSeconds,
    intervalSeconds: config.inboxPruneIntervalSeconds,
    batchSize: config.inboxPruneBatch,
    metrics,
    logger,
  });
  pruner.start();

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

  const status = new StatusCollector({
    registry,
    db: pool,
    checkQueue: (queue) => consumer.checkQueue(queue),
    consuming: () => consumer.ready,
    queues: { main: config.topology.queue, deadLetter: config.topology.deadLetterQueue },
  });

  const rateLimit = config.rateLimit > 0 ? new TokenBucket(config.rateLimit) : undefined;
  let lastSumAnswered = '';
  const server = createHttpServer({
    routes: {
      ...statusPageRoutes({ readSum: () => sums.get(), status: () => status.json(), logger }),
      ...sumRoutes({
        readSum: () => sums.get(),
        peekSum: () => sums.peek(),
        readSumAfter: (after, timeoutMs, signal) => waiter.waitForToken(after, timeoutMs, signal),
        logger,
        onSum: (sum) => {
          if (sum !== lastSumAnswered) metrics.currentSum.set(Number((lastSumAnswered = sum)));
        },
        admit: rateLimit ? () => rateLimit.tryTake() : undefined,
      }),
      ...sumStreamRoute({
        feed,
        metrics: metrics.watch,
        logger,
        intervalMs: config.watchIntervalMs,
        stallTimeoutMs: config.watchStallTimeoutMs,
        heartbeatMs: config.watchHeartbeatMs,
      }),
      ...opsRoutes(registry, async () => {
        await pool.query('SELECT 1');
        return consumer.ready ? undefined : 'Not consuming from RabbitMQ yet; see the log for the connection error.';
      }),
    },
    logger,
    observe: (matched, method, status, seconds, req) => {
      // Read-after requests wait for the pipeline: their own route label keeps GET /sum latency about GET /sum.
      const route =
        matched === '/sum' && req.url !== '/sum' && /[?&]after=/.test(req.url ?? '') ? '/sum?after' : matched;
      metrics.http.observe([route, method], status, seconds);
    },
  });
  const port = await listen(server, config.httpPort, config.bindHost);
  logger.info({ port }, 'sum-service ready');
  return [
    { name: 'postgres pool', close: () => pool.end() },
    { name: 'sum notifications', close: () => sums.close() },
    { name: 'inbox pruner', close: () => pruner.close() },
    { name: 'event consumer', close: () => consumer.close() },
    { name: 'http server', close: () => closeServer(server) },
    { name: 'read-after waiters', close: () => waiter.close() },
    { name: 'sum watchers', close: () => feed.close() },
  ];
});
