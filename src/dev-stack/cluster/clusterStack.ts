/**
 * The scale-out cluster on one machine (see clusterPlan.ts for the picture): every member in a
 * network namespace of its own on a private bridge, PostgreSQL, a 3-node RabbitMQ cluster, the
 * SumStream replicas, HAProxy and Prometheus on this machine's loopback. Everything lives under
 * `<home>/cluster/`:
 *
 *   state.json             owner pid and plan (what `cluster down` and `cluster status` read)
 *   postgres/, rabbit-N/   server data and logs
 *   logs/<host>.log        every output line of each SumStream replica, HAProxy and Prometheus
 *   pids/<host>.pid        current pid of each replica
 *   etcd-N/, pg-N/         with `pgHa`: etcd's data, each Patroni node's config and PostgreSQL (patroniCluster.ts)
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isPortOpen, isProcessAlive, sleep } from '../exec.js';
import { ManagedService } from '../managedService.js';
import {
  createBridgeNetwork,
  destroyBridgeNetwork,
  listNamespaces,
  namespacePids,
  namespaceProblem,
} from '../netns.js';
import { findPostgresBin, type PostgresInstance, startPostgres } from '../postgresInstance.js';
import { REPLICATION_KNOBS } from '../../shared/config/replicationConfig.js';
import { type DebeziumInstance, DEBEZIUM_VERSION, startDebezium } from '../debeziumInstance.js';
import { type ChildInstance, startPostgresExporter, startPrometheus } from '../prometheusInstance.js';
import { debeziumHome } from '../toolPath.js';
import { type RabbitInstance, startRabbit } from '../rabbitInstance.js';
import { type ServiceName, stopChild } from '../serviceProcess.js';
import {
  BRIDGE,
  type ClusterHost,
  type ClusterPlan,
  clusterPlan,
  type ClusterPlanOptions,
  clusterUrls,
  HOST_PORTS,
  hostsOf,
  LB_PORTS,
  NS_PREFIX,
  probeUrl,
  rabbitNodeName,
} from './clusterPlan.js';
import { activeRelay } from './clusterStatus.js';
import { startHaproxy } from './haproxyProcess.js';
import { PatroniCluster } from './patroniCluster.js';

export interface ClusterStackOptions extends Partial<ClusterPlanOptions> {
  /** Folder of the cluster's data and logs (`<SUMSTREAM_HOME>/cluster`). */
  dir: string;
  /** Progress lines. */
  log: (line: string) => void;
  /** Environment the members inherit (PATH, HOME). */
  env: Readonly<Record<string, string | undefined>>;
  /** Extra environment for every SumStream replica (LOG_LEVEL, RELAY_* knobs). */
  serviceEnv?: Record<string, string>;
  /** PostgreSQL bin folder (`SUMSTREAM_PG_BIN`). */
  pgBin?: string | undefined;
  /** rabbitmq-server's folder (`SUMSTREAM_RABBIT_BIN`). */
  rabbitBin?: string | undefined;
  /** Start Prometheus (and the PostgreSQL exporter). Default true. */
  observability?: boolean;
  /**
   * Change data capture: the two cdc-relay replicas (default), or one Debezium Server in their stead
   * (on this machine, reaching PostgreSQL through the load balancer and the first broker node), kept
   * running as a supervisor would: restarted when it exits.
   */
  cdc?: 'relay' | 'debezium';
}

/** The slot Debezium streams (deploy/debezium/application.properties). */
const DEBEZIUM_SLOT = 'sumstream_debezium';

interface ClusterState {
  ownerPid: number;
  startedAt: string;
  plan: ClusterPlan;
}

/** The Erlang cookie the three nodes share (a dev cluster on a private bridge; not a secret). */
const COOKIE = 'SUMSTREAMCLUSTERCOOKIE';

export class ClusterStack {
  readonly services = new Map<string, ManagedService>();
  readonly rabbits = new Map<string, RabbitInstance>();
  postgres: PostgresInstance | undefined;
  /** With `pgHa`: the Patroni cluster that replaces `postgres`. */
  patroni: PatroniCluster | undefined;
  /** With `cdc: 'debezium'`: the running Debezium Server. */
  debezium: DebeziumInstance | undefined;
  /** How often the Debezium Server exited and was started again. */
  debeziumRestarts = 0;
  private stopping = false;
  private haproxy: ChildProcess | undefined;
  private prometheus: ChildInstance | undefined;
  private exporter: ChildInstance | undefined;
  private readonly logStreams: WriteStream[] = [];
  readonly urls: { databaseUrl: string; amqpUrl: string };

  private constructor(
    readonly plan: ClusterPlan,
    private readonly options: ClusterStackOptions,
  ) {
    this.urls = clusterUrls(plan);
  }

  get dir(): string {
    return this.options.dir;
  }

  /** 127.0.0.1:50051: the load balancer's gRPC side. */
  get grpcAddress(): string {
    return `${this.plan.lbHost}:${LB_PORTS.grpc}`;
  }

  /** http://127.0.0.1:4000: the load balancer's REST side. */
  get sumUrl(): string {
    return `http://${this.plan.lbHost}:${LB_PORTS.rest}`;
  }

  get prometheusUrl(): string | undefined {
    return this.prometheus?.url;
  }

  /** Brings the whole cluster up; on any failure tears down what it started and throws. */
  static async up(options: ClusterStackOptions): Promise<ClusterStack> {
    const problem = await namespaceProblem();
    if (problem) throw new Error(`Cannot start the cluster: ${problem}.`);
    const stateFile = path.join(options.dir, 'state.json');
    const previous = await readState(options.dir);
    if (previous && isProcessAlive(previous.ownerPid))
      throw new Error(
        `A cluster is already up (owner pid ${previous.ownerPid}); see \`npm run cluster -- status\`, or stop it with \`npm run cluster -- down\`.`,
      );
    // A previous owner that died without tearing down: clear what it left.
    const leftovers = await tearDown(options.dir, options.log);
    if (leftovers.length > 0) options.log(`cleared a previous cluster's leftovers: ${leftovers.join(', ')}`);
    const plan = clusterPlan(options);
    for (const [what, port] of Object.entries(LB_PORTS)) {
      if (what === 'prometheus' && options.observability === false) continue;
      if (await isPortOpen(port, plan.lbHost))
        throw new Error(
          `${plan.lbHost}:${port} (${what}) is in use; the cluster's load balancer and Prometheus need it. Stop \`npm start\` (or whatever listens there) first.`,
        );
    }
    await rm(options.dir, { recursive: true, force: true });
    for (const sub of ['logs', 'pids']) await mkdir(path.join(options.dir, sub), { recursive: true });
    const state: ClusterState = { ownerPid: process.pid, startedAt: new Date().toISOString(), plan };
    await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);

    const stack = new ClusterStack(plan, options);
    try {
      await stack.start();
    } catch (error) {
      await stack.down().catch(() => undefined);
      throw error;
    }
    return stack;
  }

  private async start(): Promise<void> {
    const { plan, options } = this;
    const t0 = Date.now();
    await createBridgeNetwork({ bridge: plan.bridge, gateway: plan.gateway, prefix: 24, hosts: plan.hosts });
    options.log(`network: bridge ${plan.bridge} ${plan.gateway}/24 and ${plan.hosts.length} namespaces (no route out)`);

    const [pgHost] = hostsOf(plan, 'postgres');
    const pgStarted = plan.pgHa
      ? this.startPatroni()
      : startPostgres({
          dataDir: path.join(options.dir, 'postgres', 'data'),
          port: HOST_PORTS.postgres,
          host: pgHost!.address,
          netns: pgHost!.ns,
          clientCidr: `${plan.net}.0/24`,
          // A client that vanishes (killed host, cut cable) is dropped within seconds, so its advisory
          // lock and its walsender's slot go to the standby relay instead of waiting for TCP's hours.
          settings: {
            tcp_keepalives_idle: '2',
            tcp_keepalives_interval: '1',
            tcp_keepalives_count: '3',
            tcp_user_timeout: '3000',
            wal_sender_timeout: "'5s'",
          },
          binDir: options.pgBin,
        });
    const rabbitHosts = hostsOf(plan, 'rabbitmq');
    const [first, ...others] = rabbitHosts;
    const rabbitsStarted = (async () => {
      // The first node alone, then the others join it (classic config peer discovery).
      await this.startRabbit(first!, rabbitHosts);
      await Promise.all(others.map((h) => this.startRabbit(h, rabbitHosts)));
    })();
    const [pgResult, rabbitResult] = await Promise.allSettled([pgStarted, rabbitsStarted]);
    if (pgResult.status === 'fulfilled' && pgResult.value) this.postgres = pgResult.value;
    if (pgResult.status === 'rejected') throw pgResult.reason as Error;
    if (rabbitResult.status === 'rejected') throw rabbitResult.reason as Error;
    const running = await this.runningBrokerNodes();
    if (running.length !== rabbitHosts.length)
      throw new Error(
        `RabbitMQ formed a cluster of ${running.length} nodes, not ${rabbitHosts.length}: ${running.join(', ')}`,
      );
    options.log(
      `servers: PostgreSQL ${plan.pgHa ? `through ${this.urls.databaseUrl.split('@')[1]}` : `${pgHost!.address}:${HOST_PORTS.postgres}`}, RabbitMQ cluster ${running.join(', ')} up in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );

    for (const host of plan.hosts)
      if (isService(host) && !(host.role === 'cdc-relay' && this.options.cdc === 'debezium'))
        this.services.set(host.name, this.managed(host));
    // With Patroni every member reaches the primary through the load balancer: it comes first.
    if (plan.pgHa) await this.startLoadBalancer();
    // The first replica applies the migrations; the others then start together.
    const [firstAdd] = hostsOf(plan, 'add-service');
    await this.services.get(firstAdd!.name)!.start();
    // The publication exists now (migration 0001): Patroni may create the slot and keep it on every node.
    await this.patroni?.makeSlotPermanent(this.slot);
    if (options.cdc === 'debezium') await this.startDebezium();
    await Promise.all([...this.services.values()].map((s) => s.start()));
    options.log(`replicas: ${[...this.services.keys()].join(', ')} ready`);

    if (!plan.pgHa) await this.startLoadBalancer();
    if (options.observability !== false) await this.startObservability();
    options.log(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  /** The slot change data capture streams. */
  get slot(): string {
    return this.options.cdc === 'debezium'
      ? DEBEZIUM_SLOT
      : (this.options.serviceEnv?.['RELAY_SLOT'] ?? REPLICATION_KNOBS.slot.default);
  }

  /** Whether change data capture runs: a relay leads the slot, or Debezium Server is ready. */
  async cdcReady(): Promise<boolean> {
    if (this.options.cdc !== 'debezium') return (await activeRelay(this.plan)) !== undefined;
    if (!this.debezium) return false;
    const res = await fetch(this.debezium.healthUrl, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return res?.ok === true;
  }

  private async startDebezium(): Promise<void> {
    const { env, dir, log } = this.options;
    this.debezium = await startDebezium({
      baseEnv: env,
      databaseUrl: this.urls.databaseUrl,
      amqpUrl: this.urls.amqpUrl.split(',')[0]!,
      dataDir: path.join(dir, 'debezium'),
      installDir: debeziumHome(DEBEZIUM_VERSION, env),
      logFile: path.join(dir, 'logs', 'debezium.log'),
      // A lost database connection restarts the connector after 1 s instead of 10 s.
      env: { DEBEZIUM_SOURCE_RETRIABLE_RESTART_CONNECTOR_WAIT_MS: '1000' },
    });
    log(
      `cdc: Debezium Server ${DEBEZIUM_VERSION} streaming slot ${DEBEZIUM_SLOT} through ${this.urls.databaseUrl.split('@')[1]}`,
    );
    this.debezium.process.once('exit', () => {
      if (this.stopping) return;
      this.debeziumRestarts++;
      log('cdc: Debezium Server exited; starting it again (it resumes from its offsets and the slot)');
      void this.restartDebezium();
    });
  }

  /** Starts Debezium Server again, retrying every 2 s until it streams or the cluster stops. */
  private async restartDebezium(): Promise<void> {
    while (!this.stopping) {
      await sleep(2000);
      if (this.stopping) return;
      try {
        await this.startDebezium();
        return;
      } catch (error) {
        this.options.log(
          `cdc: Debezium Server did not start (${(error as Error).message.split('\n')[0]}); trying again`,
        );
      }
    }
  }

  /** Stops Debezium Server for good (the end of a run); the relays are services and stop as such. */
  async stopDebezium(): Promise<void> {
    this.stopping = true;
    await this.debezium?.stop();
  }

  private async startLoadBalancer(): Promise<void> {
    const { plan, options } = this;
    this.haproxy = await startHaproxy({ plan, env: options.env, logStream: this.logStream('haproxy') });
    await writePid(options.dir, 'haproxy', this.haproxy.pid);
    options.log(
      `load balancer: gRPC ${this.grpcAddress}, REST ${this.sumUrl}, stats http://${plan.lbHost}:${LB_PORTS.stats}/${plan.pgHa ? `, PostgreSQL primary ${this.urls.databaseUrl.split('@')[1]}` : ''}`,
    );
  }

  /** Patroni on etcd, then SumStream's role and database on its primary. */
  private async startPatroni(): Promise<undefined> {
    const binDir = findPostgresBin(this.options.pgBin);
    this.patroni = await PatroniCluster.start({
      plan: this.plan,
      dir: this.options.dir,
      binDir,
      log: this.options.log,
      logStream: (name) => this.logStream(name),
      env: this.options.env,
    });
    await this.patroni.createRole();
    return undefined;
  }

  private async startRabbit(host: ClusterHost, all: readonly ClusterHost[]): Promise<void> {
    const rabbit = await startRabbit({
      dataDir: path.join(this.options.dir, host.name),
      nodeName: rabbitNodeName(host),
      host: host.address,
      netns: host.ns,
      cookie: COOKIE,
      amqpPort: HOST_PORTS.amqp,
      managementPort: HOST_PORTS.management,
      prometheusPort: HOST_PORTS.rabbitPrometheus,
      distPort: HOST_PORTS.rabbitDist,
      extraConfig: [
        'cluster_formation.peer_discovery_backend = classic_config',
        ...all.map((h, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${rabbitNodeName(h)}`),
        // docs/adr/0009-rabbitmq-partition-handling.md
        'cluster_partition_handling = pause_minority',
        // Clients' heartbeats are 5 s (clusterUrls); the broker's side of a cut connection goes as fast.
        'heartbeat = 5',
      ],
      // Peers that stop answering are declared down after 7.5-12.5 s instead of 45-75 s, so a partition
      // is acted on (pause_minority) while clients still wait, not a minute later. OTP 25 turned
      // prevent_overlapping_partitions on; RabbitMQ 3.10 is not compatible with it (rabbitmq-server#5483).
      advancedConfig: '[{kernel, [{net_ticktime, 10}, {prevent_overlapping_partitions, false}]}].\n',
      binDir: this.options.rabbitBin,
      env: this.options.env,
    });
    this.rabbits.set(host.name, rabbit);
  }

  private managed(host: ClusterHost): ManagedService {
    const env: Record<string, string> = {
      PATH: this.options.env['PATH'] ?? '/usr/bin:/bin',
      HOME: this.options.env['HOME'] ?? '/root',
      DATABASE_URL: this.urls.databaseUrl,
      AMQP_URL: this.urls.amqpUrl,
      BIND_HOST: host.address,
      LOG_LEVEL: 'warn',
      // Under Patroni, a transaction is published once the synchronous standby has it (docs/postgres-ha.md).
      ...(this.plan.pgHa ? { RELAY_AWAIT_SYNC_STANDBY: 'true' } : {}),
      ...this.options.serviceEnv,
    };
    return new ManagedService({
      service: host.role as ServiceName,
      label: host.name,
      env,
      probeUrl: probeUrl(host),
      logStream: this.logStream(host.name),
      pidFile: path.join(this.options.dir, 'pids', `${host.name}.pid`),
      log: this.options.log,
      netns: host.ns,
    });
  }

  private logStream(name: string): WriteStream {
    const stream = createWriteStream(path.join(this.options.dir, 'logs', `${name}.log`), { flags: 'a' });
    stream.on('error', () => undefined);
    this.logStreams.push(stream);
    return stream;
  }

  private async startObservability(): Promise<void> {
    const { plan, options } = this;
    const targets = (role: ClusterHost['role'], port: number) => hostsOf(plan, role).map((h) => `${h.address}:${port}`);
    const [pgHost] = hostsOf(plan, 'postgres');
    this.exporter = await startPostgresExporter({
      databaseUrl: plan.pgHa
        ? `${this.urls.databaseUrl}?sslmode=disable`
        : `postgres://sumstream:sumstream@${pgHost!.address}:${HOST_PORTS.postgres}/sumstream?sslmode=disable`,
      port: 9187,
      env: options.env,
    }).catch((error: unknown) => {
      options.log(`postgres exporter not started: ${(error as Error).message}`);
      return undefined;
    });
    await writePid(options.dir, 'postgres-exporter', this.exporter?.process.pid);
    this.prometheus = await startPrometheus({
      dataDir: path.join(options.dir, 'prometheus'),
      port: LB_PORTS.prometheus,
      targets: {
        'add-service': targets('add-service', HOST_PORTS.addMetrics),
        'cdc-relay': targets('cdc-relay', HOST_PORTS.relayMetrics),
        'sum-service': targets('sum-service', HOST_PORTS.sum),
        rabbitmq: targets('rabbitmq', HOST_PORTS.rabbitPrometheus),
        postgres: `${plan.lbHost}:9187`,
      },
      env: options.env,
    });
    await writePid(options.dir, 'prometheus', this.prometheus.process.pid);
    options.log(`prometheus: ${this.prometheus.url} scraping every replica and broker node`);
  }

  /** Resident memory of each member: the sum of VmRSS over the processes in its namespace, MiB. */
  async residentMemoryMib(): Promise<Record<string, number>> {
    const mib: Record<string, number> = {};
    for (const host of this.plan.hosts) {
      let kb = 0;
      for (const pid of await namespacePids(host.ns)) {
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      }
      mib[host.name] = Math.round(kb / 1024);
    }
    return mib;
  }

  /** Erlang node names the first reachable broker node reports as running. */
  async runningBrokerNodes(): Promise<string[]> {
    for (const rabbit of this.rabbits.values()) {
      const out = await rabbit.ctl(['cluster_status', '--formatter', 'json']).catch(() => undefined);
      if (out) return (JSON.parse(out) as { running_nodes?: string[] }).running_nodes ?? [];
    }
    return [];
  }

  /** The RabbitMQ management API of the first node that answers. */
  async management(apiPath: string, init: RequestInit = {}): Promise<Response> {
    let lastError: unknown;
    for (const host of hostsOf(this.plan, 'rabbitmq')) {
      try {
        const res = await fetch(`http://${host.address}:${HOST_PORTS.management}${apiPath}`, {
          ...init,
          headers: { authorization: `Basic ${Buffer.from('sumstream:sumstream').toString('base64')}`, ...init.headers },
          signal: AbortSignal.timeout(3000),
        });
        if (res.status < 500) return res;
        lastError = new Error(`${host.name}: HTTP ${res.status}`);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError as Error;
  }

  /** Stops everything, removes the namespaces, the bridge and the state file. */
  async down(): Promise<void> {
    await this.stopDebezium().catch(() => undefined);
    await Promise.allSettled([...this.services.values()].map((s) => s.stop(5000)));
    if (this.haproxy) await stopChild(this.haproxy, 3000);
    await this.prometheus?.stop().catch(() => undefined);
    await this.exporter?.stop().catch(() => undefined);
    await Promise.allSettled([...this.rabbits.values()].map((r) => r.stop()));
    await this.postgres?.stop().catch(() => undefined);
    await this.patroni?.stop().catch(() => undefined);
    await Promise.all(this.logStreams.map((s) => new Promise((resolve) => s.end(resolve))));
    const removed = await tearDown(this.options.dir, this.options.log);
    this.options.log(`cluster down${removed.length > 0 ? ` (also removed ${removed.join(', ')})` : ''}`);
  }
}

/** What runs in the root namespace, by the name in its command line. */
const ROOT_PROCESSES = ['haproxy', 'prometheus', 'postgres-exporter'] as const;

async function writePid(dir: string, name: (typeof ROOT_PROCESSES)[number], pid: number | undefined): Promise<void> {
  if (pid !== undefined) await writeFile(path.join(dir, 'pids', `${name}.pid`), String(pid));
}

function isService(host: ClusterHost): boolean {
  return host.role === 'add-service' || host.role === 'cdc-relay' || host.role === 'sum-service';
}

export async function readState(dir: string): Promise<ClusterState | undefined> {
  const text = await readFile(path.join(dir, 'state.json'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as ClusterState);
}

/**
 * Removes whatever a cluster left on this machine, whoever started it: every process in its
 * namespaces, the namespaces (and with them every partition rule), the bridge, the load balancer and
 * Prometheus (by the pids in the state), and the state file. Returns what it removed.
 */
export async function tearDown(dir: string, log: (line: string) => void): Promise<string[]> {
  const removed: string[] = [];
  const state = await readState(dir);
  for (const name of ROOT_PROCESSES) {
    const pid = Number(await readFile(path.join(dir, 'pids', `${name}.pid`), 'utf8').catch(() => '0'));
    // Only what still is that process (pids get reused).
    const cmdline = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    if (cmdline.includes(name)) {
      process.kill(pid, 'SIGKILL');
      removed.push(name);
    }
  }
  const namespaces = await listNamespaces(NS_PREFIX);
  removed.push(...(await destroyBridgeNetwork(state?.plan.bridge ?? BRIDGE, namespaces)));
  if (existsSync(path.join(dir, 'state.json'))) await rm(path.join(dir, 'state.json'));
  if (removed.length > 0) log(`removed ${removed.join(', ')}`);
  return removed;
}
