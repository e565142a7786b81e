/**
 * A project-owned RabbitMQ node (not the system service), with management + prometheus plugins.
 *
 * Everything lives under dataDir:
 *   home/.erlang.cookie   the node's own Erlang cookie (HOME points here for the server and for ctl())
 *   rabbitmq.conf, enabled_plugins, rabbitmq-env.conf (empty: shields us from /etc/rabbitmq/rabbitmq-env.conf)
 *   mnesia/<node>/        database (incl. quorum queue logs)
 *   log/<node>.log        broker log; stdout.log holds the console output
 *   rabbitmq.pid          pid of the Erlang VM (written by RabbitMQ, removed on clean shutdown)
 *
 * Runs /usr/lib/rabbitmq/bin/rabbitmq-server directly as the current user (root is fine; the Debian
 * /usr/sbin wrapper, which switches to the `rabbitmq` user, is not used). All listeners, including Erlang
 * distribution, bind to `host` (127.0.0.1 by default). Several nodes can run side by side given distinct
 * names and ports, or each in a network namespace of its own (`netns`), as the cluster runs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Env } from '../shared/config/envReader.js';
import { isPortOpen, isProcessAlive, runOk, sleep, tailFile } from './exec.js';
import { inNamespace } from './netns.js';

export interface RabbitInstanceOptions {
  /** Absolute directory holding this node's config, data and logs; created if missing. */
  dataDir: string;
  /** Node name without host (e.g. 'sumstream-dev'); '@localhost' is appended unless it contains '@'. */
  nodeName: string;
  /** AMQP 0-9-1 port on `host`. */
  amqpPort: number;
  /** Management HTTP API/UI port on `host`. */
  managementPort: number;
  /** Prometheus /metrics port on `host`. */
  prometheusPort: number;
  /** IPv4 address every listener binds to. Default '127.0.0.1'. */
  host?: string;
  /** Network namespace the node (and rabbitmqctl) runs in. Default: the caller's. */
  netns?: string;
  /** Erlang cookie (cluster members share one). Default: a random one, made once per dataDir. */
  cookie?: string;
  /** More rabbitmq.conf lines (e.g. peer discovery, partition handling). */
  extraConfig?: readonly string[];
  /** advanced.config (Erlang terms), e.g. `[{kernel, [{net_ticktime, 10}]}].`. Default: none. */
  advancedConfig?: string;
  /** Erlang distribution port (used by rabbitmqctl). Default amqpPort + 20000 (must then be <= 65535). */
  distPort?: number;
  /** Give up waiting for the node to boot after this many milliseconds. Default 120000. */
  startTimeoutMs?: number;
  /** Folder holding rabbitmq-server and rabbitmqctl (`SUMSTREAM_RABBIT_BIN`). Default `/usr/lib/rabbitmq/bin` (Debian). */
  binDir?: string | undefined;
  /** Environment the broker and rabbitmqctl inherit (its RABBITMQ_* variables are ignored): pass the caller's. */
  env: Env;
  /** Receives progress lines. Default: discard. */
  log?: (line: string) => void;
}

export interface RabbitInstance {
  /** amqp://sumstream:sumstream@127.0.0.1:PORT (vhost '/'). */
  url: string;
  /** http://sumstream:sumstream@127.0.0.1:PORT — management HTTP API base (credentials embedded). */
  managementUrl: string;
  /** Fully qualified Erlang node name, e.g. sumstream-dev@localhost. */
  nodeName: string;
  /** Broker log file. */
  logFile: string;
  /** Graceful shutdown (SIGTERM, then SIGKILL after 60 s); no-op when not running. Takes ~6 s. */
  stop(): Promise<void>;
  /** stop() then start again with the same options; data (queues, messages) is kept. */
  restart(): Promise<void>;
  /** `kill -9` of the Erlang VM (a crash: no goodbye to clients or peers); resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts the node again (after stop() or kill()) and waits until it is ready. */
  start(): Promise<void>;
  /** Runs `rabbitmqctl -n <node> ...args` with this node's cookie; resolves to stdout, throws on failure. */
  ctl(args: string[]): Promise<string>;
}

const DEFAULT_RABBIT_BIN = '/usr/lib/rabbitmq/bin';
const USER = 'sumstream';

export async function startRabbit(options: RabbitInstanceOptions): Promise<RabbitInstance> {
  const { dataDir, amqpPort, managementPort, prometheusPort } = options;
  const log = options.log ?? (() => {});
  const RABBIT_BIN = options.binDir || DEFAULT_RABBIT_BIN;
  if (!path.isAbsolute(dataDir)) throw new Error(`rabbit dataDir must be absolute, got ${dataDir}`);
  if (!existsSync(path.join(RABBIT_BIN, 'rabbitmq-server'))) {
    throw new Error(
      `RabbitMQ not found (${RABBIT_BIN}/rabbitmq-server). Run \`bash scripts/ensure-system-deps.sh\` ` +
        '(installs the Debian rabbitmq-server package) or set SUMSTREAM_RABBIT_BIN.',
    );
  }
  const distPort = options.distPort ?? amqpPort + 20000;
  if (distPort > 65535) {
    throw new Error(
      `distPort defaults to amqpPort + 20000 = ${distPort}, which is not a valid port; pass distPort explicitly`,
    );
  }
  const host = options.host ?? '127.0.0.1';
  const nodeName = options.nodeName.includes('@') ? options.nodeName : `${options.nodeName}@localhost`;
  const env = await prepareDataDir(dataDir, nodeName, distPort, {
    ports: { amqpPort, managementPort, prometheusPort },
    host,
    cookie: options.cookie,
    extraConfig: options.extraConfig ?? [],
    advancedConfig: options.advancedConfig,
    inherited: options.env,
  });
  const pidFile = path.join(dataDir, 'rabbitmq.pid');
  const logFile = path.join(dataDir, 'log', `${nodeName}.log`);
  const stdoutFile = path.join(dataDir, 'stdout.log');
  const managementUrl = `http://${USER}:${USER}@${host}:${managementPort}`;
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  let child: ChildProcess | undefined;

  const readPid = async (): Promise<number | undefined> => {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    return pid > 0 && isProcessAlive(pid) ? pid : undefined;
  };

  const start = async (): Promise<void> => {
    if ((await readPid()) !== undefined || (await managementNode(host, managementPort)) === nodeName) {
      await waitReady(host, managementPort, amqpPort, nodeName, timeoutMs, () => undefined, stdoutFile, logFile);
      log(`rabbitmq: ${nodeName} already running (amqp ${host}:${amqpPort})`);
      return;
    }
    for (const [what, port] of [
      ['amqpPort', amqpPort],
      ['managementPort', managementPort],
      ['prometheusPort', prometheusPort],
      ['distPort', distPort],
    ] as const) {
      if (await isPortOpen(port, host)) {
        throw new Error(
          `RabbitMQ ${what} ${port} is already in use by another process; choose another port or stop that process`,
        );
      }
    }
    const t0 = Date.now();
    const out = openSync(stdoutFile, 'a');
    // detached: own session, so Ctrl-C in a terminal does not reach the broker; stop() ends it.
    const [command, args] = inNamespace(options.netns, path.join(RABBIT_BIN, 'rabbitmq-server'), []);
    const proc = spawn(command, args, {
      env,
      cwd: dataDir,
      detached: true,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    proc.unref();
    child = proc;
    let exited: string | undefined;
    proc.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
    proc.on('error', (err) => (exited = `could not be started: ${err.message}`));
    await waitReady(host, managementPort, amqpPort, nodeName, timeoutMs, () => exited, stdoutFile, logFile);
    log(
      `rabbitmq: ${nodeName} started in ${Date.now() - t0} ms (amqp ${host}:${amqpPort}, management ${managementPort}, log ${logFile})`,
    );
  };

  const stop = async (): Promise<void> => {
    const pid = (await readPid()) ?? (child?.pid !== undefined && isProcessAlive(child.pid) ? child.pid : undefined);
    if (pid === undefined) return;
    const t0 = Date.now();
    const signal = (sig: NodeJS.Signals): void => {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    };
    signal('SIGTERM'); // RabbitMQ shuts down gracefully on SIGTERM
    while (isProcessAlive(pid)) {
      if (Date.now() - t0 > 60_000) {
        log(`rabbitmq: ${nodeName} did not stop within 60 s; killing pid ${pid}`);
        signal('SIGKILL');
      }
      await sleep(100);
    }
    child = undefined;
    log(`rabbitmq: ${nodeName} stopped in ${Date.now() - t0} ms`);
  };

  await start();
  return {
    url: `amqp://${USER}:${USER}@${host}:${amqpPort}`,
    managementUrl,
    nodeName,
    logFile,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async kill() {
      const pid = (await readPid()) ?? child?.pid;
      if (pid === undefined || !isProcessAlive(pid)) return;
      process.kill(pid, 'SIGKILL');
      while (isProcessAlive(pid)) await sleep(50);
      child = undefined;
      log(`rabbitmq: ${nodeName} killed (SIGKILL)`);
    },
    start,
    ctl: (args) =>
      runOk(...inNamespace(options.netns, path.join(RABBIT_BIN, 'rabbitmqctl'), ['-n', nodeName, ...args]), { env }),
  };
}

/** Writes config files (every time) and the cookie (once); returns the environment for server and ctl. */
async function prepareDataDir(
  dataDir: string,
  nodeName: string,
  distPort: number,
  node: {
    ports: { amqpPort: number; managementPort: number; prometheusPort: number };
    host: string;
    cookie: string | undefined;
    extraConfig: readonly string[];
    advancedConfig: string | undefined;
    inherited: Env;
  },
): Promise<NodeJS.ProcessEnv> {
  const { ports, host } = node;
  const home = path.join(dataDir, 'home');
  await mkdir(home, { recursive: true });
  await mkdir(path.join(dataDir, 'mnesia'), { recursive: true });
  await mkdir(path.join(dataDir, 'log'), { recursive: true });
  const cookie = path.join(home, '.erlang.cookie');
  if (node.cookie !== undefined) {
    if (existsSync(cookie)) await chmod(cookie, 0o600);
    await writeFile(cookie, node.cookie, { mode: 0o400 });
  } else if (!existsSync(cookie)) {
    await writeFile(cookie, randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
  }
  await chmod(cookie, 0o400); // Erlang rejects cookies readable by others
  const conf = [
    `listeners.tcp.default = ${host}:${ports.amqpPort}`,
    `management.tcp.ip = ${host}`,
    `management.tcp.port = ${ports.managementPort}`,
    `prometheus.tcp.ip = ${host}`,
    `prometheus.tcp.port = ${ports.prometheusPort}`,
    // Per-queue series (e.g. the dead-letter queue's depth), not only totals over all queues.
    `prometheus.return_per_object_metrics = true`,
    `default_user = ${USER}`,
    `default_pass = ${USER}`,
    `default_user_tags.administrator = true`,
    `default_permissions.configure = .*`,
    `default_permissions.read = .*`,
    `default_permissions.write = .*`,
    `loopback_users = none`,
    `log.console = false`,
    `log.file.level = info`,
    ...node.extraConfig,
    '',
  ].join('\n');
  await writeFile(path.join(dataDir, 'rabbitmq.conf'), conf);
  if (node.advancedConfig !== undefined) await writeFile(path.join(dataDir, 'advanced.config'), node.advancedConfig);
  await writeFile(path.join(dataDir, 'enabled_plugins'), '[rabbitmq_management,rabbitmq_prometheus].\n');
  await writeFile(
    path.join(dataDir, 'rabbitmq-env.conf'),
    '# intentionally empty (replaces /etc/rabbitmq/rabbitmq-env.conf)\n',
  );

  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(node.inherited)) if (!k.startsWith('RABBITMQ_')) env[k] = v;
  // A node name by address (rabbit@10.0.0.2) is a long name; its distribution and epmd bind there.
  const longName = /@.*\./.test(nodeName);
  return {
    ...env,
    HOME: home, // Erlang reads $HOME/.erlang.cookie: same cookie for the server and rabbitmqctl
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_CONF_ENV_FILE: path.join(dataDir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: path.join(dataDir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dataDir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dataDir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: path.join(dataDir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dataDir, 'log'),
    RABBITMQ_PID_FILE: path.join(dataDir, 'rabbitmq.pid'),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: `-kernel inet_dist_use_interface {${host.split('.').join(',')}}`,
    ERL_EPMD_ADDRESS: host, // only matters if this node is the one that starts epmd
    ...(longName ? { RABBITMQ_USE_LONGNAME: 'true' } : {}),
  };
}

/** Node name reported by the management API on this port, or undefined when nothing answers. */
async function managementNode(host: string, managementPort: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${host}:${managementPort}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from(`${USER}:${USER}`).toString('base64')}` },
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return undefined;
    return ((await res.json()) as { node?: string }).node;
  } catch {
    return undefined;
  }
}

/** Polls until the management API reports our node and the AMQP port accepts connections. */
async function waitReady(
  host: string,
  managementPort: number,
  amqpPort: number,
  nodeName: string,
  timeoutMs: number,
  exited: () => string | undefined,
  stdoutFile: string,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const node = await managementNode(host, managementPort);
    if (node !== undefined && node !== nodeName) {
      throw new Error(
        `management port ${managementPort} belongs to RabbitMQ node ${node}, not ${nodeName}; choose other ports`,
      );
    }
    if (node === nodeName && (await isPortOpen(amqpPort, host))) return;
    const why = exited() ?? (Date.now() > deadline ? `did not become ready within ${timeoutMs} ms` : undefined);
    if (why !== undefined) {
      const out = await tailFile(stdoutFile, 20);
      if (out.includes('duplicate_node_name')) {
        throw new Error(
          `RabbitMQ node name ${nodeName} is already used by another running node (epmd); choose another nodeName or stop that node`,
        );
      }
      throw new Error(
        `RabbitMQ node ${nodeName} ${why}. Common causes: node name already in use (pick another nodeName), ` +
          `port in use, or a corrupt ${path.join(path.dirname(stdoutFile), 'mnesia')} (delete it).\n` +
          `--- ${stdoutFile} ---\n${out}\n--- ${logFile} ---\n${await tailFile(logFile, 20)}`,
      );
    }
    await sleep(200);
  }
}
