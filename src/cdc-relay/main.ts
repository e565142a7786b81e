/** cdc-relay composition root: streams outbox inserts from the WAL into RabbitMQ. */
import { createPool } from '../shared/db/createPool.js';
import { migrateIfEnabled } from '../shared/db/migrate.js';
import { closeServer, createHttpServer, listen } from '../shared/http/createHttpServer.js';
import { opsRoutes } from '../shared/http/opsRoutes.js';
import { configOrExit, runProcess } from '../shared/lifecycle/runProcess.js';
import { createLogger } from '../shared/log/createLogger.js';
import { createRegistry } from '../shared/metrics/createRegistry.js';
import { checkReplicationPrerequisites } from '../shared/db/checkReplicationPrerequisites.js';
import { Relay } from './relay.js';
import { relayConfig } from './relayConfig.js';
import { createRelayMetrics } from './relayMetrics.js';
import { guardSlot } from './slotGuard.js';

const config = configOrExit(() => relayConfig(process.env));
const logger = createLogger('cdc-relay', config.logLevel);

runProcess(logger, async () => {
  const pool = createPool({ url: config.databaseUrl, max: 3, applicationName: 'sumstream-cdc-relay' }, (error) =>
    logger.warn({ err: error }, 'idle PostgreSQL connection failed'),
  );
  await checkReplicationPrerequisites(pool, ({ problem, fix }) => logger.warn(`${problem} ${fix}`));
  await migrateIfEnabled(pool, config.migrate, logger);
  // A first install creates the slot here, so WAL is kept from the start; a lost slot is the active relay's to report.
  await guardSlot(pool, config);

  const registry = createRegistry('cdc-relay');
  const metrics = createRelayMetrics(registry);
  const relay = new Relay({ ...config, pool, metrics, logger });
  relay.start();

  const ops = createHttpServer({
    routes: opsRoutes(registry, async () => relay.readiness()),
    logger,
  });
  const metricsPort = await listen(ops, config.metricsPort, config.bindHost);
  logger.info({ metricsPort, slot: config.slot }, 'cdc-relay started');
  return [
    { name: 'postgres pool', close: () => pool.end() },
    { name: 'ops http', close: () => closeServer(ops) },
    { name: 'relay', close: () => relay.close() },
  ];
});
