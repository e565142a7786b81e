import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChildInstance, freePorts, startPostgresExporter, startPrometheus } from '../../src/dev-stack/index.js';
import { alertExpressions, dashboardExpressions } from '../helpers/dashboardExpressions.js';
import { eventually } from '../helpers/eventually.js';
import { type Stack, startStack } from '../helpers/startStack.js';

interface QueryResult {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names an expression reads (label matchers, grouping clauses, functions and durations removed). */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\d+[a-z]+/g, ' ');
  const names = [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => !m[2] && !PROMQL_WORDS.has(m[1]!.toLowerCase()))
    .map((m) => m[1]!);
  return [...new Set(names)];
}

describe('observability against a real Prometheus (Debian package)', () => {
  let stack: Stack;
  let exporter: ChildInstance;
  let prometheus: ChildInstance;
  let dataDir: string;

  const query = async (expr: string): Promise<QueryResult> => {
    const url = new URL('/api/v1/query', prometheus.url);
    url.searchParams.set('query', expr);
    return (await (await fetch(url)).json()) as QueryResult;
  };

  beforeAll(async () => {
    stack = await startStack({
      databaseUrl: inject('databaseUrl'),
      amqpManagementUrl: inject('amqpManagementUrl'),
      env: { LOG_LEVEL: 'debug' },
    });
    const [exporterPort, prometheusPort] = (await freePorts(2)) as [number, number];
    exporter = await startPostgresExporter({ databaseUrl: stack.databaseUrl, port: exporterPort, env: process.env });
    dataDir = await mkdtemp(path.join(tmpdir(), 'sumstream-prometheus-'));
    prometheus = await startPrometheus({
      dataDir,
      port: prometheusPort,
      scrapeInterval: '1s',
      env: process.env,
      targets: {
        'add-service': `127.0.0.1:${stack.ports.addMetrics}`,
        'cdc-relay': `127.0.0.1:${stack.ports.relayMetrics}`,
        'sum-service': `127.0.0.1:${stack.ports.sum}`,
        rabbitmq: inject('rabbitPrometheusTarget'),
        postgres: `127.0.0.1:${exporterPort}`,
      },
    });

    // Drive traffic through every stage, including each kind of failure a panel shows.
    const clients = Array.from({ length: 10 }, () => stack.client());
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        clients.map(async (client, i) => {
          for (let n = 0; n < 10; n++) await client.add(i, n);
        }),
      );
      await clients[0]!.add('9223372036854775807', 1).catch(() => undefined); // OUT_OF_RANGE
      await fetch(`http://127.0.0.1:${stack.ports.sum}/nope`);
      await fetch(`http://127.0.0.1:${stack.ports.sum}/sum`);
      await new Promise((r) => setTimeout(r, 1500));
    }
    const connection = await amqp.connect(stack.amqpUrl);
    const channel = await connection.createConfirmChannel();
    channel.publish('amq.topic', 'addition', Buffer.from('garbage'));
    await channel.waitForConfirms();
    await connection.close();
    await eventually(
      async () => {
        const result = await query('sum(sumstream_events_applied_total)');
        expect(Number(result.data?.result[0]?.value[1] ?? 0)).toBeGreaterThanOrEqual(300);
        const dead = await query('sum(sumstream_dead_lettered_total)');
        expect(Number(dead.data?.result[0]?.value[1] ?? 0)).toBeGreaterThanOrEqual(1);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    // Let rate() windows hold several samples after the traffic.
    await new Promise((r) => setTimeout(r, 3000));
  }, 180_000);

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('scrapes every target: the three processes, RabbitMQ, PostgreSQL and itself', async () => {
    const up = await eventually(async () => {
      const result = await query('up');
      const jobs = Object.fromEntries((result.data?.result ?? []).map((r) => [r.metric['job'], r.value[1]]));
      expect(jobs).toEqual({
        'add-service': '1',
        'cdc-relay': '1',
        'sum-service': '1',
        rabbitmq: '1',
        postgres: '1',
        prometheus: '1',
      });
      return jobs;
    });
    console.info('targets up:', JSON.stringify(up));
  });

  it('returns data for every expression of every dashboard panel', async () => {
    const panels = dashboardExpressions();
    expect(panels.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const { panel, expr } of panels) {
      const concrete = expr
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__interval', '15s')
        .replaceAll('$__range', '5m');
      const result = await query(concrete);
      if (result.status !== 'success') failures.push(`${panel}: ${concrete} → ${result.error}`);
      else if ((result.data?.result.length ?? 0) === 0) failures.push(`${panel}: ${concrete} → no data`);
    }
    expect(failures).toEqual([]);
    console.info(`${panels.length} panel expressions returned data`);
  });

  it('parses every alert rule expression, and every series it reads exists', async () => {
    const alerts = alertExpressions();
    expect(alerts.length).toBeGreaterThanOrEqual(5);
    const failures: string[] = [];
    for (const { alert, expr } of alerts) {
      const result = await query(expr);
      if (result.status !== 'success') failures.push(`${alert}: does not parse: ${result.error}`);
      for (const name of metricNamesIn(expr)) {
        const series = await query(`count(${name})`);
        if ((series.data?.result.length ?? 0) === 0) failures.push(`${alert}: no series ${name}`);
      }
    }
    expect(failures).toEqual([]);
    console.info(`${alerts.length} alert expressions parse and read existing series`);
  });

  it('logs one addition under its event id in all three processes, as JSON', async () => {
    const { operation_id: id } = await stack.client().add(123, 456);
    const lines = await eventually(() => {
      const found = stack.logs.filter((line) => line.includes(id));
      for (const service of ['add-service', 'cdc-relay', 'sum-service'])
        expect(
          found.some((line) => line.startsWith(`${service}|`)),
          service,
        ).toBe(true);
      return found;
    });
    for (const line of lines) expect(JSON.parse(line.slice(line.indexOf('|') + 2))).toMatchObject({ eventId: id });
    console.info(lines.join('\n'));
  });

  it('reports end-to-end latency p99 and slot lag after the load', async () => {
    const { p99Seconds, lagBytes } = await eventually(async () => {
      const p99 = await query(
        'histogram_quantile(0.99, sum by (le) (rate(sumstream_end_to_end_latency_seconds_bucket[5m])))',
      );
      const lag = await query('sum(sumstream_relay_slot_lag_bytes)');
      const value = Number(p99.data?.result[0]?.value[1]);
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThan(10);
      expect(lag.data?.result).toHaveLength(1);
      return { p99Seconds: value, lagBytes: lag.data!.result[0]!.value[1] };
    });
    console.info(`end-to-end latency p99 = ${(p99Seconds * 1000).toFixed(1)} ms; slot lag = ${lagBytes} bytes`);
  });
});
