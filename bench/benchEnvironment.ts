import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Env } from '../src/shared/config/envReader.js';
import { freePorts, reapStaleRuns, REPO_ROOT, runOk, startPostgres, startRabbit } from '../src/dev-stack/index.js';

export interface BenchEnvironment {
  /** Superuser URL of the benchmark's own PostgreSQL. */
  databaseUrl: string;
  /** Management API of the benchmark's own RabbitMQ. */
  amqpManagementUrl: string;
  /** AMQP URL (vhost '/') of the benchmark's own RabbitMQ. */
  amqpUrl: string;
  /** Marker in the command lines of the PostgreSQL and RabbitMQ processes (their data folder). */
  runDir: string;
  machine: MachineInfo;
  /** The environment `npm run bench` was started with (its composition root read it). */
  processEnv: Env;
  stop(): Promise<void>;
}

export interface MachineInfo {
  cpu: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  postgres: string;
  rabbitmq: string;
}

/** Starts a throwaway PostgreSQL and RabbitMQ for the benchmarks in .sumstream/bench/run-<id>/. */
export async function startBenchEnvironment(processEnv: Env, log: (line: string) => void): Promise<BenchEnvironment> {
  const root = path.join(REPO_ROOT, '.sumstream', 'bench');
  await reapStaleRuns(root); // servers left by a benchmark run that was killed
  const runDir = path.join(root, `run-${process.pid}-${randomBytes(3).toString('hex')}`);
  await mkdir(runDir, { recursive: true });
  await writeFile(path.join(runDir, 'owner.pid'), String(process.pid));
  const [pgPort, amqpPort, mgmtPort, promPort, distPort] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  log(`starting PostgreSQL (${pgPort}) and RabbitMQ (${amqpPort}) in ${runDir}`);
  const [postgres, rabbit] = await Promise.all([
    startPostgres({
      dataDir: path.join(runDir, 'postgres', 'data'),
      port: pgPort,
      binDir: processEnv['SUMSTREAM_PG_BIN'],
    }),
    startRabbit({
      dataDir: path.join(runDir, 'rabbitmq'),
      nodeName: `sumstream-bench-${process.pid}`,
      amqpPort,
      managementPort: mgmtPort,
      prometheusPort: promPort,
      distPort,
      binDir: processEnv['SUMSTREAM_RABBIT_BIN'],
      env: processEnv,
    }),
  ]);
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  const pgVersion =
    (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
  await client.end();
  const rabbitVersion = (await rabbit.ctl(['version']).catch(() => '?')).trim();
  return {
    databaseUrl: postgres.url,
    amqpManagementUrl: rabbit.managementUrl,
    amqpUrl: rabbit.url,
    runDir,
    processEnv,
    machine: {
      cpu: os.cpus()[0]?.model ?? '?',
      cpus: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      kernel: (await runOk('uname', ['-sr']).catch(() => os.release())).trim(),
      node: process.version,
      postgres: pgVersion,
      rabbitmq: rabbitVersion,
    },
    async stop() {
      await Promise.allSettled([postgres.stop(), rabbit.stop()]);
      await rm(runDir, { recursive: true, force: true });
    },
  };
}

/** Load average over the last minute (a busy machine makes every figure worse). */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
