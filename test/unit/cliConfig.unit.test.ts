import { describe, expect, it } from 'vitest';
import { cliConfig, defaultManagementUrl } from '../../src/cli/cliConfig.js';

describe('cliConfig', () => {
  it('defaults to the stack npm start runs', () => {
    expect(cliConfig({})).toMatchObject({
      databaseUrl: 'postgres://sumstream:sumstream@127.0.0.1:54320/sumstream',
      amqpUrl: 'amqp://sumstream:sumstream@127.0.0.1:56720',
      grpcTarget: '127.0.0.1:50051',
      sumUrl: 'http://127.0.0.1:4000',
      addMetricsUrl: 'http://127.0.0.1:3001',
      relayMetricsUrl: 'http://127.0.0.1:3002',
      managementUrl: 'http://sumstream:sumstream@127.0.0.1:15672',
      slot: 'sumstream_relay',
      publication: 'sumstream_outbox',
      table: { schema: 'public', name: 'outbox' },
      authToken: undefined,
    });
  });

  it("follows the services' own port variables, and its own variables win", () => {
    const ports = {
      GRPC_PORT: '6001',
      SUM_PORT: '6002',
      ADD_METRICS_PORT: '6003',
      RELAY_METRICS_PORT: '6004',
      SUMSTREAM_RABBIT_MANAGEMENT_PORT: '6005',
    };
    expect(cliConfig(ports)).toMatchObject({
      grpcTarget: '127.0.0.1:6001',
      sumUrl: 'http://127.0.0.1:6002',
      addMetricsUrl: 'http://127.0.0.1:6003',
      relayMetricsUrl: 'http://127.0.0.1:6004',
      managementUrl: 'http://sumstream:sumstream@127.0.0.1:6005',
    });
    expect(
      cliConfig({
        ...ports,
        SUMSTREAM_GRPC_TARGET: 'add.example:50051',
        SUMSTREAM_SUM_URL: 'https://sum.example',
        SUMSTREAM_AUTH_TOKEN: 't0ken',
      }),
    ).toMatchObject({
      grpcTarget: 'add.example:50051',
      sumUrl: 'https://sum.example',
      authToken: 't0ken',
    });
  });

  it('is a client: production mode does not refuse default credentials here', () => {
    expect(() => cliConfig({ SUMSTREAM_PRODUCTION: 'true' })).not.toThrow();
  });

  it('names the variable and the fix when one is wrong', () => {
    expect(() => cliConfig({ SUMSTREAM_GRPC_TARGET: 'http://x:1' })).toThrow(
      /SUMSTREAM_GRPC_TARGET="http:\/\/x:1" is not host:port; set it like 127\.0\.0\.1:50051/,
    );
    expect(() => cliConfig({ SUMSTREAM_SUM_URL: 'amqp://x' })).toThrow(/SUMSTREAM_SUM_URL uses protocol amqp:/);
    expect(() => cliConfig({ SUM_PORT: 'x' })).toThrow(/SUM_PORT="x" is not an integer/);
  });

  it('derives the management API from AMQP_URL as amqplib reads it (guest when it names no user)', () => {
    expect(defaultManagementUrl('amqp://u:p%40ss@rabbit:5672/vh', 15672)).toBe('http://u:p%40ss@rabbit:15672');
    expect(defaultManagementUrl('amqp://rabbit', 15672)).toBe('http://guest:guest@rabbit:15672');
  });
});
