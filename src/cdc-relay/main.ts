/** cdc-relay composition root: streams outbox inserts from the WAL into RabbitMQ. */
import { createPool } from '../shared/db/createPool.js';
import { migrateIfEnabled } from '../shared/db/migrate.js';
import { closeServer, createHttpServer, listen } from '../shared/http/createHttpServer.js';
import { opsRoutes } from '../shared/http/opsRoutes.js';
import { configOrExit, runProcess } from '../shared/lifecycle/runProcess.js';
import { createLogger } from '../shared/log/createLogger.js';
import { createRegistry } from '../shared/metrics/createRegistry.js';
import { checkReplicationPrerequisites } from '../shared/db/checkReplicationPrerequisites.js';
import { ensureSlot } from './ensureSlot.js';
import { Relay } from './relay.js';
import { relayConfig } from './relayConfig.js';
import { createRelayMetrics } from './relayMetrics.js';

const config = configOrExit(() => relayConfig(process.env));
const logger = createLogger('cdc-relay', config.logLevel);

runProcess(logger, async () => {
  const pool = createPool({ url: config.databaseUrl, max: 3, applicationName: 'sumstream-cdc-relay' }, (error) =>
    logger.warn({ err: error }, 'idle PostgreSQL connection failed'),
  );
  await checkReplicationPrerequisites(pool);
  await migrateIfEnabled(pool, config.migrate, logger);
  await ensureSlot(pool, {
    slot: config.slot,
    publication: config.publication,
    table: `${config.table.schema}.${config.table.name}`,
  });

  const registry = createRegistry('cdc-relay');
  const metrics = createRelayMetrics(registry);
  const relay = new Relay({ ...config, pool, metrics, logger });
  relay.start();

  const ops = createHttpServer({
    routes: opsRoutes(registry, async () =>
      relay.state === 'active' || relay.state === 'standby' ? undefined : `Relay is ${relay.state}.`,
    ),
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
