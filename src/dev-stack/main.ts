/**
 * `npm start`: the whole stack on one machine. Starts project-owned PostgreSQL (wal_level=logical)
 * and RabbitMQ unless DATABASE_URL / AMQP_URL point elsewhere, then the three SumStream
 * processes with prefixed logs, restarting any that crashes; Ctrl-C stops everything.
 * With SUMSTREAM_CDC=debezium, Debezium Server takes the cdc-relay's place.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { commonConfig } from '../shared/config/commonConfig.js';
import { type DebeziumInstance, startDebezium } from './debeziumInstance.js';
import { debeziumLogLine } from './debeziumLogLine.js';
import { devStackConfig } from './devStackConfig.js';
import { startPostgres } from './postgresInstance.js';
import { startPostgresExporter, startPrometheus } from './prometheusInstance.js';
import { startRabbit } from './rabbitInstance.js';
import { debeziumHome } from './toolPath.js';
import { type ServiceName, SERVICES, spawnService, stopChild } from './serviceProcess.js';

const COLORS: Record<ServiceName | 'debezium' | 'dev-stack', string> = {
  'add-service': '36',
  'cdc-relay': '35',
  debezium: '35',
  'sum-service': '33',
  'dev-stack': '32',
};
const say = (who: ServiceName | 'debezium' | 'dev-stack', line: string) =>
  process.stdout.write(`\x1b[${COLORS[who]}m${who.padEnd(11)}\x1b[0m| ${line}\n`);

const config = devStackConfig(process.env);
const stops: (() => Promise<void>)[] = [];
const children = new Map<ServiceName, ChildProcess>();
let debezium: DebeziumInstance | undefined;
/** A Debezium start in progress, and how to abandon it on Ctrl-C. */
let debeziumStarting: Promise<unknown> | undefined;
const debeziumAbort = new AbortController();
let stopping = false;

async function main(): Promise<void> {
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    say(
      'dev-stack',
      `starting PostgreSQL on 127.0.0.1:${config.pgPort} (data in ${path.join(config.home, 'postgres')})`,
    );
    const pg = await startPostgres({
      dataDir: path.join(config.home, 'postgres', 'data'),
      port: config.pgPort,
      binDir: config.pgBin,
      maxSlotWalKeepSize: config.pgMaxSlotWalKeepSize,
      log: (l) => say('dev-stack', l),
    });
    stops.push(() => pg.stop());
    databaseUrl = pg.url;
  }
  let amqpUrl = config.amqpUrl;
  let managementUrl: string | undefined;
  if (!amqpUrl) {
    say(
      'dev-stack',
      `starting RabbitMQ on 127.0.0.1:${config.amqpPort} (data in ${path.join(config.home, 'rabbitmq')})`,
    );
    const rabbit = await startRabbit({
      dataDir: path.join(config.home, 'rabbitmq'),
      nodeName: config.rabbitNodeName,
      amqpPort: config.amqpPort,
      managementPort: config.rabbitManagementPort,
      prometheusPort: config.rabbitPrometheusPort,
      distPort: config.rabbitDistPort,
      binDir: config.rabbitBin,
      env: process.env,
      log: (l) => say('dev-stack', l),
    });
    stops.push(() => rabbit.stop());
    amqpUrl = rabbit.url;
    managementUrl = `http://127.0.0.1:${config.rabbitManagementPort}`;
  }
  const env = { ...process.env, DATABASE_URL: databaseUrl, AMQP_URL: amqpUrl };
  const debeziumCdc = config.cdc === 'debezium';
  for (const service of SERVICES) if (!(debeziumCdc && service === 'cdc-relay')) supervise(service, env, 0);
  if (debeziumCdc) await superviseDebezium(databaseUrl, amqpUrl, 0);

  const prometheusUrl = config.observability
    ? await startObservability(databaseUrl).catch((error: unknown) => {
        // The pipeline does not need them: say why and run on without.
        say(
          'dev-stack',
          `Prometheus not started: ${(error as Error).message} Set SUMSTREAM_PROMETHEUS_PORT / SUMSTREAM_PG_EXPORTER_PORT, or SUMSTREAM_OBSERVABILITY=false.`,
        );
        return undefined;
      })
    : undefined;

  const { ports } = config;
  say('dev-stack', 'SumStream is starting:');
  say('dev-stack', `  gRPC Addition/Add     127.0.0.1:${ports.grpc}`);
  say('dev-stack', `  GET /sum              http://127.0.0.1:${ports.sum}/sum`);
  say('dev-stack', `  add-service metrics   http://127.0.0.1:${ports.addMetrics}/metrics`);
  if (debeziumCdc)
    say(
      'dev-stack',
      `  Debezium Server       http://127.0.0.1:${config.debeziumPort}/q/health (CDC instead of cdc-relay)`,
    );
  else say('dev-stack', `  cdc-relay metrics     http://127.0.0.1:${ports.relayMetrics}/metrics`);
  say('dev-stack', `  sum-service metrics   http://127.0.0.1:${ports.sum}/metrics`);
  if (managementUrl) say('dev-stack', `  RabbitMQ management   ${managementUrl} (sumstream / sumstream)`);
  if (prometheusUrl) say('dev-stack', `  Prometheus            ${prometheusUrl} (alerts: ${prometheusUrl}/alerts)`);
  say('dev-stack', 'Press Ctrl-C to stop everything.');
}

/** Prometheus (the committed config and alert rules, rendered for the ports in use) and the PostgreSQL exporter. */
async function startObservability(databaseUrl: string): Promise<string> {
  const important = (l: string) => /level=(warn|error)/.test(l) && say('dev-stack', l);
  const exporter = await startPostgresExporter({
    databaseUrl,
    port: config.pgExporterPort,
    env: process.env,
    log: important,
  });
  stops.push(() => exporter.stop());
  const prometheus = await startPrometheus({
    dataDir: path.join(config.home, 'prometheus'),
    port: config.prometheusPort,
    env: process.env,
    targets: {
      'add-service': `127.0.0.1:${config.ports.addMetrics}`,
      'cdc-relay': `127.0.0.1:${config.ports.relayMetrics}`,
      'sum-service': `127.0.0.1:${config.ports.sum}`,
      rabbitmq: `127.0.0.1:${config.rabbitPrometheusPort}`,
      postgres: `127.0.0.1:${config.pgExporterPort}`,
    },
    log: important,
  });
  stops.push(() => prometheus.stop());
  return prometheus.url;
}

/** Runs a service and restarts it (after a pause that grows with quick crashes) if it exits unasked. */
function supervise(service: ServiceName, env: NodeJS.ProcessEnv, crashes: number): void {
  const started = Date.now();
  const child = spawnService({ service, env, onLine: (line) => say(service, line) });
  children.set(service, child);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    const quick = Date.now() - started < 10_000;
    const delay = quick ? Math.min(30_000, 1000 * 2 ** crashes) : 1000;
    say('dev-stack', `${service} exited (${code ?? signal}); restarting in ${delay / 1000}s`);
    setTimeout(() => !stopping && supervise(service, env, quick ? crashes + 1 : 0), delay);
  });
}

/**
 * Debezium Server in the cdc-relay's place, restarted like a service when it exits unasked.
 * startDebezium is given no installDir, so scripts/fetch-debezium.sh fetches it into the per-user
 * cache on first use (tests instead find it installed by scripts/install-test-tools.sh). The first
 * start is awaited, so a missing Java or Maven stops `npm start` with the fix; a failed restart is
 * tried again later.
 */
async function superviseDebezium(databaseUrl: string, amqpUrl: string, crashes: number): Promise<void> {
  const started = Date.now();
  say(
    'dev-stack',
    `starting Debezium Server ${config.debeziumVersion} (data and debezium.log in ${path.join(config.home, 'debezium')}; the first start fetches it from Maven Central into ${debeziumHome(config.debeziumVersion, process.env)})`,
  );
  const starting = startDebezium({
    baseEnv: process.env,
    databaseUrl,
    amqpUrl,
    dataDir: path.join(config.home, 'debezium'),
    topology: commonConfig(process.env).topology,
    httpPort: config.debeziumPort,
    version: config.debeziumVersion,
    javaHome: config.javaHome,
    signal: debeziumAbort.signal,
    logFile: path.join(config.home, 'debezium', 'debezium.log'),
    // Its life cycle, warnings and errors here; everything in debezium.log.
    log: (line) => {
      const shown = debeziumLogLine(line);
      if (shown !== undefined) say('debezium', shown);
    },
  });
  debeziumStarting = starting.catch(() => undefined);
  const instance = await starting;
  debezium = instance;
  say('dev-stack', `Debezium Server is streaming (${instance.healthUrl})`);
  instance.process.once('exit', (code, signal) => {
    if (stopping) return;
    const restart = (failures: number): void => {
      const delay = Math.min(30_000, 1000 * 2 ** failures);
      say('dev-stack', `restarting Debezium Server in ${delay / 1000}s`);
      setTimeout(() => {
        if (stopping) return;
        superviseDebezium(databaseUrl, amqpUrl, failures).catch((error: unknown) => {
          if (stopping) return;
          say('dev-stack', `Debezium Server did not start: ${(error as Error).message}`);
          restart(failures + 1);
        });
      }, delay);
    };
    say('dev-stack', `Debezium Server exited (${code ?? signal})`);
    restart(Date.now() - started < 60_000 ? crashes + 1 : 0);
  });
}

async function shutdown(signal: string, exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('dev-stack', `${signal}: stopping SumStream processes`);
  debeziumAbort.abort();
  await Promise.all([...[...children.values()].map((child) => stopChild(child)), debeziumStarting, debezium?.stop()]);
  for (const stop of stops.reverse())
    await stop().catch((error: unknown) => say('dev-stack', `stop failed: ${(error as Error).message}`));
  say('dev-stack', 'stopped');
  process.exit(exitCode);
}

process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
main().catch(async (error: unknown) => {
  say('dev-stack', `failed to start: ${(error as Error).message}`);
  await shutdown('error', 1);
});
