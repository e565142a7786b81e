/**
 * `npm run republish`: publishes every ledger event again (same event ids). Safe at any time:
 * the sum-service skips events it has applied. Uses DATABASE_URL, AMQP_URL and the topology knobs.
 */
import { commonConfig } from '../shared/config/commonConfig.js';
import { createPool } from '../shared/db/createPool.js';
import { createLogger } from '../shared/log/createLogger.js';
import { assertTopology } from '../shared/messaging/assertTopology.js';
import { connectAmqp } from '../shared/messaging/connectAmqp.js';
import { republishLedger } from './republishLedger.js';

const config = commonConfig(process.env);
const logger = createLogger('republish', config.logLevel);

async function main(): Promise<void> {
  const pool = createPool({ url: config.databaseUrl, max: 2, applicationName: 'sumstream-republish' }, (error) =>
    logger.warn({ err: error }, 'idle connection failed'),
  );
  const connection = await connectAmqp(config.amqpUrl, 'sumstream-republish');
  try {
    const channel = await connection.createConfirmChannel();
    await assertTopology(channel, config.topology);
    const total = await republishLedger(pool, channel, config.topology, {
      onProgress: (n) => logger.info({ published: n }, 'progress'),
      onRefused: (n) => logger.warn({ refused: n }, 'queue at its length bound; retrying the refused events'),
    });
    logger.info({ published: total }, 'every ledger event republished');
  } finally {
    await connection.close().catch(() => undefined);
    await pool.end();
  }
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, (error as Error).message);
  process.exitCode = 1;
});
