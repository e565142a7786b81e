/**
 * Vitest globalSetup: provides `databaseUrl`, `amqpUrl` and `amqpManagementUrl` to tests (use `inject()`).
 *
 * - TEST_DATABASE_URL set: used as is; otherwise a throwaway PostgreSQL is started.
 * - TEST_AMQP_URL set: used as is (management URL from TEST_AMQP_MANAGEMENT_URL, default: same host and
 *   credentials on port 15672); otherwise a throwaway RabbitMQ node `sumstream-test-<pid>-<random>` is started.
 * Throwaway servers live in <repo>/.sumstream/test/run-<pid>-<random>/ on free ports, are stopped and deleted at
 * teardown (keep them with SUMSTREAM_KEEP_TEST_DATA=1), and leftovers of crashed runs are reaped on the next run.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { freePorts, reapStaleRuns, startPostgres, startRabbit } from '../../src/dev-stack/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres:// URL of a superuser (with REPLICATION) on the test server; see createTestDatabase(). */
    databaseUrl: string;
    /** amqp:// URL of the test broker, vhost '/'; see createTestVhost(). */
    amqpUrl: string;
    /** http://user:pass@host:port of the test broker's management API. */
    amqpManagementUrl: string;
    /** host:port of the test broker's Prometheus endpoint (rabbitmq_prometheus), or '' when not known. */
    rabbitPrometheusTarget: string;
  }
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TEST_ROOT = path.join(REPO_ROOT, '.sumstream', 'test');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const envDb = process.env.TEST_DATABASE_URL;
  const envAmqp = process.env.TEST_AMQP_URL;
  const stops: (() => Promise<void>)[] = [];
  let runDir: string | undefined;
  const summary: string[] = [];

  if (!envDb || !envAmqp) {
    await reapStaleRuns(TEST_ROOT);
    const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
    runDir = path.join(TEST_ROOT, `run-${id}`);
    await mkdir(runDir, { recursive: true });
    await writeFile(path.join(runDir, 'owner.pid'), String(process.pid));
    const [pgPort, amqpPort, mgmtPort, promPort, distPort] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];

    const started = await Promise.allSettled([
      envDb
        ? undefined
        : startPostgres({
            dataDir: path.join(runDir, 'postgres', 'data'),
            port: pgPort,
            binDir: process.env.SUMSTREAM_PG_BIN,
          }),
      envAmqp
        ? undefined
        : startRabbit({
            dataDir: path.join(runDir, 'rabbitmq'),
            nodeName: `sumstream-test-${id}`,
            binDir: process.env.SUMSTREAM_RABBIT_BIN,
            env: process.env,
            amqpPort,
            managementPort: mgmtPort,
            prometheusPort: promPort,
            distPort,
          }),
    ]);
    for (const r of started) if (r.status === 'fulfilled' && r.value) stops.push(r.value.stop);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.allSettled(stops.map((s) => s()));
      throw failed.reason;
    }
    const [pgRes, rabbitRes] = started;
    if (pgRes?.status === 'fulfilled' && pgRes.value) {
      project.provide('databaseUrl', pgRes.value.url);
      summary.push(`postgres ${pgRes.value.url}`);
    }
    if (rabbitRes?.status === 'fulfilled' && rabbitRes.value) {
      project.provide('amqpUrl', rabbitRes.value.url);
      project.provide('amqpManagementUrl', rabbitRes.value.managementUrl);
      project.provide('rabbitPrometheusTarget', `127.0.0.1:${promPort}`);
      summary.push(`rabbitmq ${rabbitRes.value.url} (${rabbitRes.value.nodeName})`);
    }
  }
  if (envDb) project.provide('databaseUrl', envDb);
  if (envAmqp) {
    project.provide('amqpUrl', envAmqp);
    project.provide('amqpManagementUrl', process.env.TEST_AMQP_MANAGEMENT_URL ?? defaultManagementUrl(envAmqp));
    project.provide('rabbitPrometheusTarget', process.env.TEST_RABBIT_PROMETHEUS_TARGET ?? '');
  }
  if (summary.length > 0) console.log(`[globalSetup] started ${summary.join(', ')} in ${Date.now() - t0} ms`);

  return async () => {
    await Promise.allSettled(stops.map((s) => s()));
    if (runDir && process.env.SUMSTREAM_KEEP_TEST_DATA !== '1') await rm(runDir, { recursive: true, force: true });
  };
}

/** http://user:pass@host:15672 from amqp://user:pass@host:port/vhost. */
function defaultManagementUrl(amqpUrl: string): string {
  const m = /^amqps?:\/\/(?:([^@/]*)@)?([^:/]+|\[[^\]]+\])/.exec(amqpUrl);
  return `http://${m?.[1] ? `${m[1]}@` : 'guest:guest@'}${m?.[2] ?? '127.0.0.1'}:15672`;
}
