import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePorts, type ServiceName, spawnService, stopChild } from '../../src/dev-stack/index.js';
import { AdditionClient } from './additionClient.js';
import { eventually } from './eventually.js';
import { createTestDatabase } from './testDatabase.js';
import { createTestVhost } from './testVhost.js';

export interface StackOptions {
  /** Server-level URLs from the global setup; the stack makes its own database and vhost on them. */
  databaseUrl: string;
  amqpManagementUrl: string;
  /** Extra environment for every process. */
  env?: Record<string, string>;
  /** Services started by `startStack`. Default all three. */
  services?: ServiceName[];
}

/** A SumStream stack of real processes on free ports, with its own database, vhost and slot. */
export interface Stack {
  env: Record<string, string>;
  ports: { grpc: number; addMetrics: number; relayMetrics: number; sum: number };
  databaseUrl: string;
  amqpUrl: string;
  slot: string;
  /** Every output line of every process, prefixed with its name. */
  logs: string[];
  processes: Map<string, ChildProcess>;
  /** Starts a service (or a second instance under `name`) and waits until it answers its probe. */
  start(
    service: ServiceName,
    options?: { name?: string; env?: Record<string, string>; waitReady?: boolean },
  ): Promise<ChildProcess>;
  /** Kills a process by name (default SIGKILL) and waits for it to exit. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  client(): AdditionClient;
  sum(): Promise<bigint>;
  waitForSum(expected: bigint, timeoutMs?: number): Promise<void>;
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const db = await createTestDatabase(options.databaseUrl, 'stack');
  const vhost = await createTestVhost(options.amqpManagementUrl, 'sumstream', 'stack');
  const [grpc, addMetrics, relayMetrics, sum] = await freePorts(4);
  const slot = `stack_${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/root',
    DATABASE_URL: db.url,
    AMQP_URL: vhost.amqpUrl,
    GRPC_PORT: String(grpc),
    ADD_METRICS_PORT: String(addMetrics),
    RELAY_METRICS_PORT: String(relayMetrics),
    SUM_PORT: String(sum),
    RELAY_SLOT: slot,
    BIND_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const pool = new pg.Pool({ connectionString: db.url, max: 3 });
  pool.on('error', () => undefined);
  const logs: string[] = [];
  const processes = new Map<string, ChildProcess>();
  const clients: AdditionClient[] = [];

  const probe = (service: ServiceName, processEnv: Record<string, string>): string => {
    if (service === 'add-service') return `http://127.0.0.1:${processEnv['ADD_METRICS_PORT']}/readyz`;
    if (service === 'sum-service') return `http://127.0.0.1:${processEnv['SUM_PORT']}/readyz`;
    return `http://127.0.0.1:${processEnv['RELAY_METRICS_PORT']}/healthz`;
  };

  const stack: Stack = {
    env,
    ports: { grpc: grpc!, addMetrics: addMetrics!, relayMetrics: relayMetrics!, sum: sum! },
    databaseUrl: db.url,
    amqpUrl: vhost.amqpUrl,
    slot,
    logs,
    processes,
    async start(service, startOptions = {}) {
      const name = startOptions.name ?? service;
      const processEnv = { ...env, ...startOptions.env };
      const child = spawnService({ service, env: processEnv, onLine: (line) => logs.push(`${name}| ${line}`) });
      processes.set(name, child);
      if (startOptions.waitReady !== false) {
        await eventually(
          async () => {
            if (child.exitCode !== null)
              throw new Error(
                `${name} exited with ${child.exitCode}:\n${logs
                  .filter((l) => l.startsWith(`${name}|`))
                  .slice(-20)
                  .join('\n')}`,
              );
            const res = await fetch(probe(service, processEnv));
            if (!res.ok) throw new Error(`${name} not ready: ${res.status}`);
          },
          { timeoutMs: 30_000, intervalMs: 200 },
        );
      }
      return child;
    },
    async kill(name, signal = 'SIGKILL') {
      const child = processes.get(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
    client() {
      const client = new AdditionClient(`127.0.0.1:${grpc}`);
      clients.push(client);
      return client;
    },
    async sum() {
      const res = await fetch(`http://127.0.0.1:${sum}/sum`);
      const text = await res.text();
      const match = /^\{"sum":(-?\d+)\}$/.exec(text);
      if (!match) throw new Error(`GET /sum answered ${res.status} ${text}`);
      return BigInt(match[1]!);
    },
    async waitForSum(expected, timeoutMs = 60_000) {
      await eventually(
        async () => {
          const actual = await stack.sum();
          if (actual !== expected) throw new Error(`GET /sum is ${actual}, expected ${expected}`);
        },
        { timeoutMs, intervalMs: 200 },
      );
    },
    async query(sql, params) {
      return (await pool.query(sql, params)).rows;
    },
    async stop() {
      for (const client of clients) client.close();
      await Promise.all([...processes.values()].map((child) => stopChild(child, 5_000)));
      const slots = await pool.query<{ slot_name: string }>(
        'SELECT slot_name FROM pg_replication_slots WHERE database = current_database()',
      );
      for (const { slot_name } of slots.rows) {
        await eventually(() => pool.query('SELECT pg_drop_replication_slot($1)', [slot_name]), { timeoutMs: 10_000 });
      }
      await pool.end();
      await vhost.drop();
      await db.drop();
    },
  };
  try {
    for (const service of options.services ?? (['add-service', 'cdc-relay', 'sum-service'] as const))
      await stack.start(service);
  } catch (error) {
    await stack.stop().catch(() => undefined);
    throw error;
  }
  return stack;
}
