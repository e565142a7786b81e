/**
 * The system under soak: the benchmarks' own PostgreSQL and RabbitMQ (in .sumstream/bench/run-*,
 * reaped by the next run when this one is killed) and the three SumStream processes on free loopback
 * ports, each supervised as the chaos harness does it (ManagedService: restarted when it exits on
 * its own, left down after kill9() until start()), with the soak's retention knobs in its environment.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import type { Env } from '../../src/shared/config/envReader.js';
import { freePorts, ManagedService, type ServiceName, SERVICES } from '../../src/dev-stack/index.js';
import type { ChaosStores } from '../../test/chaos/storeChecks.js';
import { type MachineInfo, startBenchEnvironment } from '../benchEnvironment.js';

export const SOAK_SLOT = 'soak_relay';
/** application_name of the soak's own connections, left out of the backend count. */
export const SOAK_APPLICATION = 'sumstream-soak';

export interface SoakStackOptions {
  /** The environment `npm run soak` was started with (PATH, HOME, SUMSTREAM_PG_BIN, SUMSTREAM_RABBIT_BIN). */
  processEnv: Env;
  /** Extra environment of each process (the retention knobs). */
  serviceEnv: Record<ServiceName, Record<string, string>>;
  log: (line: string) => void;
}

export class SoakStack implements ChaosStores {
  readonly pool: pg.Pool;
  readonly grpcAddress: string;
  readonly sumUrl: URL;
  private constructor(
    readonly services: Record<ServiceName, ManagedService>,
    readonly metricsUrls: Record<ServiceName, string>,
    readonly machine: MachineInfo,
    readonly runDir: string,
    databaseUrl: string,
    private readonly amqpUrl: string,
    private readonly managementUrl: string,
    private readonly logStreams: WriteStream[],
    private readonly stopServers: () => Promise<void>,
    ports: { grpc: number; sum: number },
  ) {
    this.grpcAddress = `127.0.0.1:${ports.grpc}`;
    this.sumUrl = new URL(`http://127.0.0.1:${ports.sum}`);
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 3, application_name: SOAK_APPLICATION });
    this.pool.on('error', () => undefined);
  }

  static async start(options: SoakStackOptions): Promise<SoakStack> {
    const env = await startBenchEnvironment(options.processEnv, options.log);
    const logStreams: WriteStream[] = [];
    try {
      const [grpc, addMetrics, relayMetrics, sum] = (await freePorts(4)) as [number, number, number, number];
      const base: Record<string, string> = {
        PATH: options.processEnv['PATH'] ?? '/usr/bin:/bin',
        HOME: options.processEnv['HOME'] ?? '/root',
        DATABASE_URL: env.databaseUrl,
        AMQP_URL: env.amqpUrl,
        GRPC_PORT: String(grpc),
        ADD_METRICS_PORT: String(addMetrics),
        RELAY_METRICS_PORT: String(relayMetrics),
        SUM_PORT: String(sum),
        RELAY_SLOT: SOAK_SLOT,
        BIND_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      };
      const http = (port: number, route: string): string => `http://127.0.0.1:${port}/${route}`;
      const ports: Record<ServiceName, number> = {
        'add-service': addMetrics,
        'cdc-relay': relayMetrics,
        'sum-service': sum,
      };
      await mkdir(path.join(env.runDir, 'logs'), { recursive: true });
      const services = {} as Record<ServiceName, ManagedService>;
      for (const name of SERVICES) {
        const stream = createWriteStream(path.join(env.runDir, 'logs', `${name}.log`), { flags: 'a' });
        stream.on('error', () => undefined);
        logStreams.push(stream);
        services[name] = new ManagedService({
          service: name,
          env: { ...base, ...options.serviceEnv[name] },
          probeUrl: http(ports[name], 'readyz'),
          logStream: stream,
          pidFile: path.join(env.runDir, 'logs', `${name}.pid`),
          log: options.log,
        });
      }
      const metricsUrls = Object.fromEntries(SERVICES.map((s) => [s, http(ports[s], 'metrics')])) as Record<
        ServiceName,
        string
      >;
      const stack = new SoakStack(
        services,
        metricsUrls,
        env.machine,
        env.runDir,
        env.databaseUrl,
        env.amqpUrl,
        env.amqpManagementUrl,
        logStreams,
        () => env.stop(),
        { grpc, sum },
      );
      // In order: the add-service applies the migrations the others need.
      for (const name of SERVICES) await services[name].start();
      options.log(`services: add-service ${stack.grpcAddress}, cdc-relay :${relayMetrics}, sum-service :${sum} ready`);
      return stack;
    } catch (error) {
      await Promise.allSettled(logStreams.map((s) => new Promise((resolve) => s.end(resolve))));
      await env.stop();
      throw error;
    }
  }

  async query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.pool.query<T>(sql, params)).rows;
  }

  /** The RabbitMQ management HTTP API (credentials from the instance's URL). */
  async management(method: 'GET' | 'DELETE', apiPath: string, headers: Record<string, string> = {}): Promise<Response> {
    const base = new URL(this.managementUrl);
    const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    return fetch(new URL(apiPath, base.origin), {
      method,
      headers: { authorization: auth, ...headers },
      signal: AbortSignal.timeout(5000),
    });
  }

  /** Ready-message counts of queues (checkQueue over a short-lived connection). */
  async queueDepths(queues: readonly string[]): Promise<Record<string, number>> {
    const connection = await amqp.connect(this.amqpUrl, { clientProperties: { connection_name: SOAK_APPLICATION } });
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createChannel();
      const depths: Record<string, number> = {};
      for (const queue of queues) depths[queue] = (await channel.checkQueue(queue)).messageCount;
      return depths;
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  /**
   * Stops the processes (gracefully), the pool and both servers, and deletes the run's folder; with
   * `keepLogsIn`, the processes' logs are copied there first.
   */
  async close(keepLogsIn?: string): Promise<void> {
    await Promise.allSettled(SERVICES.map((name) => this.services[name].stop(10_000)));
    await this.pool.end().catch(() => undefined);
    await Promise.all(this.logStreams.map((s) => new Promise((resolve) => s.end(resolve))));
    if (keepLogsIn) await cp(path.join(this.runDir, 'logs'), keepLogsIn, { recursive: true }).catch(() => undefined);
    await this.stopServers();
  }
}
