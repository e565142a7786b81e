/**
 * Debezium Server as SumStream's CDC instead of the built-in cdc-relay: the PostgreSQL connector
 * (pgoutput, our publication, a slot of its own), the Outbox Event Router and the RabbitMQ sink
 * (publisher confirms, persistent), with offsets in a file under dataDir. The committed
 * `deploy/debezium/application.properties` is the configuration; debeziumEnv() fills in the
 * deployment from DATABASE_URL / AMQP_URL. The server itself is fetched from Maven Central by
 * scripts/fetch-debezium.sh into the per-user cache (debeziumHome(): ~/.cache/sumstream/debezium/):
 * before the tests by scripts/install-test-tools.sh, which the tests find through `installDir`;
 * by startDebezium itself, on first use, when no `installDir` is given (npm start).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Env } from '../shared/config/envReader.js';
import { checkReplicationPrerequisites } from '../shared/db/checkReplicationPrerequisites.js';
import { defaultTopology, type TopologyConfig } from '../shared/config/commonConfig.js';
import { createPool } from '../shared/db/createPool.js';
import { migrate } from '../shared/db/migrate.js';
import { assertTopology } from '../shared/messaging/assertTopology.js';
import { connectAmqp } from '../shared/messaging/connectAmqp.js';
import { debeziumEnv } from './debeziumEnv.js';
import { debeziumLogLine } from './debeziumLogLine.js';
import { isPortOpen, sleep } from './exec.js';
import { describeJava, findJava } from './findJava.js';
import { REPO_ROOT, stopChild } from './serviceProcess.js';

/** The Debezium Server release SumStream is tested with. */
export const DEBEZIUM_VERSION = '3.6.1.Final';
/** Debezium Server 3.x is compiled for Java 21 (class files version 65). */
export const DEBEZIUM_MIN_JAVA = 21;
/** Debezium Server's defaults here (SUMSTREAM_DEBEZIUM_PORT takes its default from here). */
export const DEBEZIUM_DEFAULTS = { httpPort: 3003 } as const;
/** The committed configuration. */
export const DEBEZIUM_PROPERTIES = path.join(REPO_ROOT, 'deploy', 'debezium', 'application.properties');

export interface DebeziumInstanceOptions {
  /** Environment the JVM inherits (the Debezium settings are added to it): pass the caller's. */
  baseEnv: Env;
  /** PostgreSQL URL; the role needs REPLICATION and the server wal_level=logical. */
  databaseUrl: string;
  amqpUrl: string;
  /** Folder for the rendered config and the offsets file; created if missing. Keep it between runs: the offsets are the resume point. */
  dataDir: string;
  /** Replication slot of Debezium's own (never the relay's). Default `sumstream_debezium`. */
  slot?: string;
  /** Exchange, routing key and the queues asserted before streaming. Default the shared defaults (`amq.topic`, `addition`, …). */
  topology?: Partial<TopologyConfig>;
  /** Port of Debezium Server's HTTP endpoints (`/q/health`). Default `DEBEZIUM_DEFAULTS.httpPort`. */
  httpPort?: number;
  /** Interface those endpoints listen on. Default `127.0.0.1`. */
  bindHost?: string;
  /** Debezium Server release to fetch and run. Default DEBEZIUM_VERSION. */
  version?: string;
  /**
   * Where that release is installed: debeziumHome(version, env), as scripts/fetch-debezium.sh
   * installs it. When given, nothing is fetched: a missing install is an error naming the command
   * (tests pass it: nothing downloads during a test). When omitted, scripts/fetch-debezium.sh runs
   * first and fetches it if needed (about 780 MB the first time), as `npm start` does.
   */
  installDir?: string;
  /** A JDK/JRE to prefer (JAVA_HOME); otherwise the highest Java 21+ under /usr/lib/jvm, then `java` on PATH. */
  javaHome?: string | undefined;
  /** JVM options. Default tuned for a quick start on a small machine: serial GC, C1 only, 1 GiB heap. */
  jvmOptions?: string[];
  /** Give up when the server is not streaming after this many ms. Default 180000. */
  startTimeoutMs?: number;
  /** Receives every output line of the fetch script and the server. Default: discard. */
  log?: (line: string) => void;
  /** Also appends every output line of the server to this file. Default: none. */
  logFile?: string;
  /** More Debezium Server settings as environment variables (`debezium.a.b` is `DEBEZIUM_A_B`), over the committed ones. Default none. */
  env?: Record<string, string>;
  /** Abandons a start in progress: the server is stopped and the promise rejects. */
  signal?: AbortSignal;
}

export interface DebeziumInstance {
  process: ChildProcess;
  /** http://host:port/q/health/ready */
  healthUrl: string;
  /** SIGTERM (Debezium flushes its offsets and stops), SIGKILL after 20 s; resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; resolves once it exited. */
  kill(): Promise<void>;
}

const DEFAULT_JVM_OPTIONS = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xmx1g'];
/** Logged by Debezium's PostgreSQL connector once the replication stream is being consumed. */
const STREAMING_LINE = /PostgresStreamingChangeEventSource.*Processing messages/;

/** Fetches Debezium Server if needed (unless `installDir` is given), prepares PostgreSQL and RabbitMQ, starts the server and waits until it streams. */
export async function startDebezium(options: DebeziumInstanceOptions): Promise<DebeziumInstance> {
  const log = options.log ?? (() => undefined);
  const version = options.version ?? DEBEZIUM_VERSION;
  if (options.installDir !== undefined && !existsSync(path.join(options.installDir, '.complete'))) {
    throw new Error(
      `Debezium Server ${version} is not installed in ${options.installDir}. Install it with \`bash scripts/fetch-debezium.sh ${version}\`, ` +
        'or everything the tests need with `bash scripts/install-test-tools.sh` (npm test runs it before the tests).',
    );
  }
  const httpPort = options.httpPort ?? DEBEZIUM_DEFAULTS.httpPort;
  const bindHost = options.bindHost ?? '127.0.0.1';
  const topology: TopologyConfig = { ...defaultTopology(), ...options.topology };

  const java = findJava({ minMajor: DEBEZIUM_MIN_JAVA, javaHome: options.javaHome });
  if (!java) {
    throw new Error(
      `Debezium Server ${version} needs Java ${DEBEZIUM_MIN_JAVA} or newer; found ${describeJava({ minMajor: DEBEZIUM_MIN_JAVA, javaHome: options.javaHome })}. ` +
        `Install a JDK ${DEBEZIUM_MIN_JAVA}+ (under /usr/lib/jvm, or anywhere with JAVA_HOME pointing at it), or use the built-in relay (SUMSTREAM_CDC=relay).`,
    );
  }
  if (await isPortOpen(httpPort, bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost)) {
    throw new Error(
      `Debezium Server's HTTP port ${httpPort} is already in use; set SUMSTREAM_DEBEZIUM_PORT to a free port.`,
    );
  }
  const installDir = options.installDir ?? (await fetchDebezium(version, log));
  await prepareStores(options.databaseUrl, options.amqpUrl, topology);

  await mkdir(path.join(options.dataDir, 'config'), { recursive: true });
  await copyFile(DEBEZIUM_PROPERTIES, path.join(options.dataDir, 'config', 'application.properties'));
  const runner = (await readdir(installDir)).find((name) => /^debezium-server-.*runner\.jar$/.test(name));
  if (!runner)
    throw new Error(
      `No debezium-server-*-runner.jar in ${installDir}; delete that folder and run \`bash scripts/fetch-debezium.sh ${version}\` to fetch it anew.`,
    );
  const env = debeziumEnv({
    databaseUrl: options.databaseUrl,
    amqpUrl: options.amqpUrl,
    slot: options.slot ?? 'sumstream_debezium',
    exchange: topology.exchange,
    routingKey: topology.routingKey,
    offsetsFile: path.join(options.dataDir, 'offsets.dat'),
    httpPort,
    bindHost,
  });
  // Debezium Server reads config/application.properties from its working directory; the
  // class path is run.sh's, with absolute paths.
  const classPath = [
    path.join(installDir, runner),
    path.join(installDir, 'config', 'lib'),
    path.join(installDir, 'lib', '*'),
  ].join(':');
  const args = [
    // Quarkus resets thread locals through java.lang internals (required from Java 24 on).
    '--add-opens=java.base/java.lang=ALL-UNNAMED',
    ...(options.jvmOptions ?? DEFAULT_JVM_OPTIONS),
    '-cp',
    classPath,
    'io.debezium.server.Main',
  ];
  if (options.signal?.aborted) throw new Error('Debezium Server start abandoned.');
  const child = spawn(java.bin, args, {
    cwd: options.dataDir,
    env: { ...options.baseEnv, ...env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let streaming = false;
  const recent: string[] = [];
  const file = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  child.once('close', () => file?.end());
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (STREAMING_LINE.test(line)) streaming = true;
      recent.push(line);
      if (recent.length > 40) recent.shift();
      file?.write(`${line}\n`);
      log(line);
    });
  }
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  child.once('error', (error) => (exited = `could not be started (${java.bin}): ${error.message}`));

  const healthUrl = `http://${bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost}:${httpPort}/q/health/ready`;
  const instance: DebeziumInstance = {
    process: child,
    healthUrl,
    stop: async () => void (await stopChild(child, 20_000)),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
  };
  const timeoutMs = options.startTimeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`Debezium Server ${exited} while starting.${lastWords(recent, options.logFile)}`);
    if (options.signal?.aborted) {
      await instance.stop();
      throw new Error('Debezium Server start abandoned.');
    }
    if (streaming && (await isUp(healthUrl))) return instance;
    if (Date.now() > deadline) {
      await instance.kill();
      throw new Error(
        `Debezium Server was not streaming after ${timeoutMs / 1000} s.${lastWords(recent, options.logFile)}`,
      );
    }
    await sleep(200);
  }
}

/** Its warnings, errors and milestones among `recent` output lines (else the raw lines), for an error message. */
function lastWords(recent: string[], logFile: string | undefined): string {
  const notable = recent.map(debeziumLogLine).filter((line): line is string => line !== undefined);
  const lines = (notable.length > 0 ? notable : recent).slice(-15);
  return `${logFile ? ` Its full output is in ${logFile}.` : ''} Its last ${notable.length > 0 ? 'notable ' : ''}lines:\n${lines.join('\n')}`;
}

/** Runs scripts/fetch-debezium.sh (a no-op once cached); resolves to the install directory. */
function fetchDebezium(version: string, log: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(REPO_ROOT, 'scripts', 'fetch-debezium.sh'), version], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const stderr: string[] = [];
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line);
      log(line);
    });
    child.once('error', (error) => reject(new Error(`Cannot run scripts/fetch-debezium.sh: ${error.message}`)));
    child.once('close', (code) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else
        reject(
          new Error(`scripts/fetch-debezium.sh ${version} failed (exit ${code}):\n${stderr.slice(-15).join('\n')}`),
        );
    });
  });
}

/**
 * What the relay does at its start, done for Debezium (which cannot): refuse a server without
 * logical WAL or a role without REPLICATION, apply the migrations (they make the outbox and its
 * publication, which Debezium must not create), and declare the exchange, queue and binding. The
 * RabbitMQ sink publishes without `mandatory`, so an event with no bound queue would be confirmed
 * and dropped: the binding has to exist before the first event.
 */
async function prepareStores(databaseUrl: string, amqpUrl: string, topology: TopologyConfig): Promise<void> {
  const pool = createPool({ url: databaseUrl, max: 1, applicationName: 'sumstream-debezium-setup' }, () => undefined);
  try {
    await checkReplicationPrerequisites(pool);
    await migrate(pool);
  } finally {
    await pool.end();
  }
  const connection = await connectAmqp(amqpUrl, 'sumstream-debezium-setup');
  try {
    await assertTopology(await connection.createChannel(), topology);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function isUp(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}
