import { randomBytes } from 'node:crypto';
import { commonConfig, type TopologyConfig } from '../../src/shared/config/commonConfig.js';

/** The default topology with names of its own, so tests sharing a vhost cannot see each other's messages. */
export function uniqueTopology(): TopologyConfig {
  const suffix = randomBytes(4).toString('hex');
  return {
    ...commonConfig({}).topology,
    routingKey: `addition.${suffix}`,
    queue: `addition-${suffix}`,
    deadLetterQueue: `addition-${suffix}.dead-letter`,
    deadLetterExchange: `sumstream.dead-letter.${suffix}`,
  };
}
