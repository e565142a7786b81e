import { describe, expect, it } from 'vitest';
import { addServiceConfig } from '../../src/add-service/addServiceConfig.js';
import { relayConfig } from '../../src/cdc-relay/relayConfig.js';
import { sumServiceConfig } from '../../src/sum-service/sumServiceConfig.js';

describe('configuration', () => {
  it('has defaults compatible with the original', () => {
    const add = addServiceConfig({});
    expect(add.grpcPort).toBe(50051);
    expect(add.metricsPort).toBe(3001);
    expect(add.topology).toMatchObject({ exchange: 'amq.topic', routingKey: 'addition', queue: 'addition' });
    expect(sumServiceConfig({}).httpPort).toBe(4000);
  });

  it('names the variable and the fix when a value is invalid', () => {
    expect(() => sumServiceConfig({ SUM_PORT: 'abc' })).toThrow(/SUM_PORT="abc" is not an integer in \[0, 65535\]/);
    expect(() => addServiceConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL uses protocol mysql:/);
    expect(() => relayConfig({ RELAY_SLOT: 'Bad-Slot' })).toThrow(/RELAY_SLOT must be lower-case/);
    expect(() => addServiceConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
