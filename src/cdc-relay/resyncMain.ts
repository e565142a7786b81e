/**
 * `npm run resync` (`sumstream cdc resync`): recovers from a lost replication slot (see resyncSlot):
 * makes sure the slot exists, publishes every ledger event again with its original id, then clears the
 * lost marker so the relays stream again. Uses DATABASE_URL, AMQP_URL, RELAY_SLOT, RELAY_PUBLICATION,
 * RELAY_OUTBOX_TABLE and the topology knobs.
 */
import { commonConfig } from '../shared/config/commonConfig.js';
import { replicationConfig } from '../shared/config/replicationConfig.js';
import { createPool } from '../shared/db/createPool.js';
import { redactUrl } from '../shared/log/createLogger.js';
import { assertTopology } from '../shared/messaging/assertTopology.js';
import { connectAmqp } from '../shared/messaging/connectAmqp.js';
import { configOrExit } from '../shared/lifecycle/runProcess.js';
import { resyncSlot } from './resyncSlot.js';

const config = configOrExit(() => ({ ...commonConfig(process.env), ...replicationConfig(process.env) }));

async function main(): Promise<void> {
  const pool = createPool({ url: config.databaseUrl, max: 2, applicationName: 'sumstream-resync' }, () => undefined);
  try {
    const connection = await connectAmqp(config.amqpUrl, 'sumstream-resync');
    try {
      const channel = await connection.createConfirmChannel();
      await assertTopology(channel, config.topology);
      const result = await resyncSlot(pool, channel, config.topology, {
        slot: config.slot,
        publication: config.publication,
        table: config.table,
        onProgress: (published) => process.stderr.write(`republished ${published} ledger events\n`),
        onRefused: (refused) =>
          process.stderr.write(`queue at its length bound: ${refused} events refused, retrying them\n`),
      });
      console.log(
        [
          `slot ${result.slot}: ${result.slotCreated ? 'created' : 'kept (it existed)'}`,
          `republished ${result.published} ledger events with their original ids (the inbox skips those already applied)`,
          `marker: timeline ${result.timeline}, ${result.clearedReason ? `lost reason cleared (was: ${result.clearedReason})` : 'not marked lost'}`,
          'the relays stream again at their next check',
        ].join('\n'),
      );
    } finally {
      await connection.close().catch(() => undefined);
    }
  } finally {
    await pool.end().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(
    `cdc resync failed: ${(error as Error).message}. Nothing was marked resynced: fix the cause (PostgreSQL at ${redactUrl(config.databaseUrl)}, RabbitMQ at AMQP_URL) and run it again; repeating it is safe.`,
  );
  process.exitCode = 1;
});
