import { describe, expect, it } from 'vitest';
import { clusterPlan, clusterUrls, haproxyEnv, hostsOf, probeUrl } from '../../src/dev-stack/index.js';
import { envReader } from '../../src/shared/config/envReader.js';
import { amqpUrls } from '../../src/shared/messaging/connectAmqp.js';

describe('cluster plan', () => {
  it('puts every member on its own address of one private /24, and nothing on loopback', () => {
    const plan = clusterPlan();
    expect(plan.hosts.map((h) => h.name)).toEqual([
      'pg',
      'rabbit-1',
      'rabbit-2',
      'rabbit-3',
      'add-1',
      'add-2',
      'relay-1',
      'relay-2',
      'sum-1',
      'sum-2',
    ]);
    const addresses = plan.hosts.map((h) => h.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    for (const a of [...addresses, plan.gateway]) expect(a).toMatch(/^10\.211\.0\.\d+$/);
    expect(new Set(plan.hosts.map((h) => h.ns)).size).toBe(plan.hosts.length);
    expect(plan.hosts.every((h) => h.ns.startsWith('sumstream-') && h.ns.length <= 15 + 10)).toBe(true);
  });

  it('gives every process all three broker nodes, with a short heartbeat', () => {
    const { amqpUrl, databaseUrl } = clusterUrls(clusterPlan({ net: '10.9.8' }));
    expect(amqpUrls(amqpUrl)).toEqual([
      'amqp://sumstream:sumstream@10.9.8.11:5672?heartbeat=5',
      'amqp://sumstream:sumstream@10.9.8.12:5672?heartbeat=5',
      'amqp://sumstream:sumstream@10.9.8.13:5672?heartbeat=5',
    ]);
    expect(databaseUrl).toBe('postgres://sumstream:sumstream@10.9.8.10:5432/sumstream');
    expect(envReader({ AMQP_URL: amqpUrl }).urlList('AMQP_URL', 'amqp://x', ['amqp'])).toBe(amqpUrl);
  });

  it('refuses a bad network or replica count, and a URL list with a hole or a wrong scheme', () => {
    expect(() => clusterPlan({ net: '10.211.0.0' })).toThrow(/three octets/);
    expect(() => clusterPlan({ addReplicas: 0 })).toThrow(/between 1 and 9/);
    expect(() => envReader({ AMQP_URL: 'amqp://a,,amqp://b' }).urlList('AMQP_URL', 'amqp://x', ['amqp'])).toThrow(
      /empty entry/,
    );
    expect(() => envReader({ AMQP_URL: 'amqp://a,http://b' }).urlList('AMQP_URL', 'amqp://x', ['amqp'])).toThrow(
      /protocol http:/,
    );
  });

  it('hands HAProxy each replica and the health-check port, and probes each member where it listens', () => {
    const plan = clusterPlan();
    expect(haproxyEnv(plan)).toMatchObject({
      SUMSTREAM_LB_HOST: '127.0.0.1',
      SUMSTREAM_LB_GRPC_PORT: '50051',
      SUMSTREAM_LB_REST_PORT: '4000',
      SUMSTREAM_ADD_SERVICE_1: '10.211.0.21:50051',
      SUMSTREAM_ADD_SERVICE_2: '10.211.0.22:50051',
      SUMSTREAM_SUM_SERVICE_1: '10.211.0.41:4000',
      SUMSTREAM_SUM_SERVICE_2: '10.211.0.42:4000',
      SUMSTREAM_ADD_METRICS_PORT: '3001',
    });
    expect(hostsOf(plan, 'cdc-relay').map(probeUrl)).toEqual([
      'http://10.211.0.31:3002/readyz',
      'http://10.211.0.32:3002/readyz',
    ]);
  });
});
