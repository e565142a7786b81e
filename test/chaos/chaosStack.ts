/**
 * The system under test for a chaos run: its OWN PostgreSQL and RabbitMQ (so they can be restarted
 * without disturbing anything else) and the three SumStream processes, all on free loopback ports,
 * under `.sumstream/chaos/<seed>-<pid>/`:
 *
 *   postgres/            cluster, socket, server log
 *   rabbitmq/            node data and logs
 *   logs/<service>.log   every output line of each process (LOG_LEVEL=warn), across restarts
 *   pids/<service>.pid   current pid of each process (lets a later run reap an orphaned one)
 *   owner.pid            the harness; a later run reaps folders whose owner is gone
 *
 * Each process is supervised like the dev stack does it: one that exits on its own is started again
 * (and counted). The harness's own kills are not counted.
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import {
  freePorts,
  isProcessAlive,
  ManagedService,
  type PostgresInstance,
  type RabbitInstance,
  REPO_ROOT,
  type ServiceName,
  SERVICES,
  sleep,
  startPostgres,
  startRabbit,
} from '../../src/dev-stack/index.js';
import { readSum } from '../../src/load/sumCheck.js';
import type { ChaosStores } from './storeChecks.js';

export const CHAOS_ROOT = path.join(REPO_ROOT, '.sumstream', 'chaos');
/** Marks the processes of one run, so a later run can recognise its orphans. */
const RUN_MARKER = 'SUMSTREAM_CHAOS_RUN';
export const SLOT = 'chaos_relay';

export interface ChaosStackOptions {
  seed: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** Extra environment for every SumStream process. */
  env?: Record<string, string>;
}

export class ChaosStack implements ChaosStores {
  readonly services: Record<ServiceName, ManagedService>;
  readonly pool: pg.Pool;
  readonly env: Record<string, string>;
  readonly grpcAddress: string;
  private readonly sumUrl: URL;
  private readonly logStreams: WriteStream[];

  private constructor(
    readonly dir: string,
    readonly postgres: PostgresInstance,
    readonly rabbit: RabbitInstance,
    ports: { grpc: number; addMetrics: number; relayMetrics: number; sum: number },
    private readonly options: ChaosStackOptions,
  ) {
    this.env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/root',
      DATABASE_URL: postgres.url,
      AMQP_URL: rabbit.url,
      GRPC_PORT: String(ports.grpc),
      ADD_METRICS_PORT: String(ports.addMetrics),
      RELAY_METRICS_PORT: String(ports.relayMetrics),
      SUM_PORT: String(ports.sum),
      RELAY_SLOT: SLOT,
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      [RUN_MARKER]: dir,
      ...options.env,
    };
    this.grpcAddress = `127.0.0.1:${ports.grpc}`;
    this.sumUrl = new URL(`http://127.0.0.1:${ports.sum}`);
    const probes: Record<ServiceName, string> = {
      'add-service': `http://127.0.0.1:${ports.addMetrics}/readyz`,
      'cdc-relay': `http://127.0.0.1:${ports.relayMetrics}/readyz`,
      'sum-service': `http://127.0.0.1:${ports.sum}/readyz`,
    };
    this.logStreams = [];
    const services = {} as Record<ServiceName, ManagedService>;
    for (const name of SERVICES) {
      const stream = createWriteStream(path.join(dir, 'logs', `${name}.log`), { flags: 'a' });
      stream.on('error', () => undefined);
      this.logStreams.push(stream);
      services[name] = new ManagedService({
        service: name,
        env: this.env,
        probeUrl: probes[name],
        logStream: stream,
        pidFile: path.join(dir, 'pids', `${name}.pid`),
        log: options.log,
      });
    }
    this.services = services;
    this.pool = new pg.Pool({
      connectionString: postgres.url,
      max: 4,
      connectionTimeoutMillis: 3000,
      application_name: 'sumstream-chaos',
    });
    this.pool.on('error', () => undefined); // connections die with every PostgreSQL restart
  }

  /** Starts PostgreSQL and RabbitMQ (in parallel), then the three processes; cleans up on failure. */
  static async start(options: ChaosStackOptions): Promise<ChaosStack> {
    await reapOrphanedRuns(options.log);
    const dir = path.join(CHAOS_ROOT, `${options.seed}-${process.pid}`);
    await rm(dir, { recursive: true, force: true });
    for (const sub of ['logs', 'pids']) await mkdir(path.join(dir, sub), { recursive: true });
    await writeFile(path.join(dir, 'owner.pid'), String(process.pid));
    const [pgPort, amqpPort, managementPort, prometheusPort, distPort, grpc, addMetrics, relayMetrics, sum] =
      (await freePorts(9)) as [number, number, number, number, number, number, number, number, number];
    const t0 = Date.now();
    const started = await Promise.allSettled([
      startPostgres({
        dataDir: path.join(dir, 'postgres', 'data'),
        port: pgPort,
        binDir: process.env['SUMSTREAM_PG_BIN'],
      }),
      startRabbit({
        dataDir: path.join(dir, 'rabbitmq'),
        nodeName: `sumstream-chaos-${options.seed}-${process.pid}`,
        amqpPort,
        managementPort,
        prometheusPort,
        distPort,
        binDir: process.env['SUMSTREAM_RABBIT_BIN'],
        env: process.env,
      }),
    ]);
    const [pgResult, rabbitResult] = started;
    if (pgResult.status === 'rejected' || rabbitResult.status === 'rejected') {
      if (pgResult.status === 'fulfilled') await pgResult.value.stop().catch(() => undefined);
      if (rabbitResult.status === 'fulfilled') await rabbitResult.value.stop().catch(() => undefined);
      throw (
        pgResult.status === 'rejected' ? pgResult.reason : (rabbitResult as PromiseRejectedResult).reason
      ) as Error;
    }
    options.log(
      `servers: PostgreSQL 127.0.0.1:${pgPort}, RabbitMQ 127.0.0.1:${amqpPort} (management ${managementPort}) up in ${((Date.now() - t0) / 1000).toFixed(1)} s, data in ${path.relative(REPO_ROOT, dir)}`,
    );
    const stack = new ChaosStack(
      dir,
      pgResult.value,
      rabbitResult.value,
      { grpc, addMetrics, relayMetrics, sum },
      options,
    );
    try {
      // In order, so the first one applies the migrations while the others wait on nothing.
      for (const name of SERVICES) await stack.services[name].start();
      options.log(`services: add-service ${stack.grpcAddress}, cdc-relay :${relayMetrics}, sum-service :${sum} ready`);
    } catch (error) {
      await stack.close(false).catch(() => undefined);
      throw error;
    }
    return stack;
  }

  async query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.pool.query<T>(sql, params)).rows;
  }

  /** GET /sum of the sum-service. */
  async restSum(): Promise<bigint> {
    return readSum(this.sumUrl, 3000);
  }

  /** The RabbitMQ management HTTP API (credentials from the instance's URL). */
  async management(method: 'GET' | 'DELETE', apiPath: string, headers: Record<string, string> = {}): Promise<Response> {
    const base = new URL(this.rabbit.managementUrl);
    const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    return fetch(new URL(apiPath, base.origin), {
      method,
      headers: { authorization: auth, ...headers },
      signal: AbortSignal.timeout(5000),
    });
  }

  /** Ready-message counts of queues (checkQueue over a short-lived connection). */
  async queueDepths(queues: readonly string[]): Promise<Record<string, number>> {
    const connection = await amqp.connect(this.rabbit.url, {
      clientProperties: { connection_name: 'sumstream-chaos-checker' },
    });
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

  /** Stops the processes (gracefully), the pool and both servers; deletes the folder unless `keepData`. */
  async close(keepData: boolean): Promise<void> {
    await Promise.allSettled(SERVICES.map((name) => this.services[name].stop(10_000)));
    await this.pool.end().catch(() => undefined);
    await Promise.allSettled([this.rabbit.stop(), this.postgres.stop()]);
    await Promise.all(this.logStreams.map((s) => new Promise((resolve) => s.end(resolve))));
    if (keepData) this.options.log(`data kept in ${this.dir}`);
    else await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Kills the servers and processes of earlier chaos runs whose harness is gone (crashed or killed -9)
 * and deletes their folders. Folders of finished runs kept on purpose (no servers running) are left alone.
 */
async function reapOrphanedRuns(log: (line: string) => void): Promise<void> {
  const entries = existsSync(CHAOS_ROOT) ? await readdir(CHAOS_ROOT) : [];
  for (const entry of entries) {
    const dir = path.join(CHAOS_ROOT, entry);
    const owner = Number(await readFile(path.join(dir, 'owner.pid'), 'utf8').catch(() => '0'));
    if (owner > 0 && isProcessAlive(owner)) continue;
    const pids: number[] = [];
    for (const [file, marker] of [
      ['postgres/data/postmaster.pid', dir],
      ['rabbitmq/rabbitmq.pid', dir],
      ...SERVICES.map((s) => [`pids/${s}.pid`, `src/${s}/main.ts`] as const),
    ] as const) {
      const pid = Number((await readFile(path.join(dir, file), 'utf8').catch(() => '')).split('\n')[0]);
      if (!(pid > 0) || !isProcessAlive(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
      // Only kill what still is that run's process (pids get reused).
      const isServer = cmdline.includes(marker);
      const isService = cmdline.includes(marker) && environ.includes(`${RUN_MARKER}=${dir}`);
      if (file.startsWith('pids/') ? isService : isServer) pids.push(pid);
    }
    if (pids.length === 0 && owner > 0 && !existsSync(path.join(dir, 'postgres', 'data', 'postmaster.pid'))) continue; // a kept folder
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && pids.some(isProcessAlive); i++) await sleep(100);
    log(`reaped orphaned chaos run ${entry} (${pids.length} processes)`);
    await rm(dir, { recursive: true, force: true });
  }
}
