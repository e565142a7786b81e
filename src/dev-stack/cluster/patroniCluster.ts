/**
 * PostgreSQL under Patroni, on etcd, in the cluster's namespaces (clusterPlan.ts with `pgHa`):
 * three etcd members, three PostgreSQL nodes each run by its Patroni (one primary, one synchronous
 * standby, one replica). Under `<dir>`:
 *
 *   etcd-N/            etcd's data
 *   pg-N/patroni.json  Patroni's configuration (patroniConfig.ts)
 *   pg-N/data          the node's PostgreSQL cluster (Patroni runs initdb or pg_basebackup)
 *
 * Runs Debian's `patroni` and `etcd` (scripts/ensure-system-deps.sh --pg-ha installs them). PostgreSQL
 * refuses root, so Patroni runs as the OS user `postgres`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { runOk, sleep } from '../exec.js';
import { inNamespace, namespacePids } from '../netns.js';
import { type ClusterHost, type ClusterPlan, HOST_PORTS, hostsOf } from './clusterPlan.js';
import { patroniMember } from './clusterStatus.js';
import { PATRONI_CLUSTER, patroniConfig, permanentSlot } from './patroniConfig.js';

export interface PatroniClusterOptions {
  plan: ClusterPlan;
  dir: string;
  /** PostgreSQL bin folder with pg_basebackup and pg_rewind (Debian's, not the embedded one). */
  binDir: string;
  log: (line: string) => void;
  logStream: (name: string) => WriteStream;
  env: Readonly<Record<string, string | undefined>>;
}

interface PatroniClusterMember {
  name: string;
  role: string;
  state: string;
  timeline?: number;
  lag?: number | string;
}

const PG_OS_USER = 'postgres';
const START_TIMEOUT_MS = 120_000;

export class PatroniCluster {
  private readonly children = new Map<string, ChildProcess>();

  private constructor(private readonly options: PatroniClusterOptions) {}

  /** Starts etcd, then Patroni on every node; resolves once a primary and a synchronous standby run. */
  static async start(options: PatroniClusterOptions): Promise<PatroniCluster> {
    const cluster = new PatroniCluster(options);
    const t0 = Date.now();
    for (const host of hostsOf(options.plan, 'etcd')) cluster.spawnEtcd(host);
    await cluster.waitEtcd();
    const { uid, gid } = await osUser(PG_OS_USER);
    for (const host of hostsOf(options.plan, 'postgres')) {
      const dir = path.join(options.dir, host.name);
      for (const sub of ['', 'run']) await mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
      const config = patroniConfig({ plan: options.plan, host, dir, binDir: options.binDir });
      await writeFile(path.join(dir, 'patroni.json'), `${JSON.stringify(config, null, 2)}\n`);
      for (const sub of ['', 'run', 'patroni.json']) await chown(path.join(dir, sub), uid, gid);
    }
    for (const host of hostsOf(options.plan, 'postgres')) cluster.spawnPatroni(host);
    await cluster.waitHealthy(START_TIMEOUT_MS);
    options.log(
      `postgres: Patroni cluster ${hostsOf(options.plan, 'postgres')
        .map((h) => h.name)
        .join(', ')} on etcd up in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    return cluster;
  }

  private spawnEtcd(host: ClusterHost): void {
    const { plan, dir } = this.options;
    const peer = (h: ClusterHost) => `http://${h.address}:${HOST_PORTS.etcdPeer}`;
    const client = `http://${host.address}:${HOST_PORTS.etcdClient}`;
    this.spawn(host, 'etcd', [
      `--name=${host.name}`,
      `--data-dir=${path.join(dir, host.name)}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer(host)}`,
      `--initial-advertise-peer-urls=${peer(host)}`,
      `--initial-cluster=${hostsOf(plan, 'etcd')
        .map((h) => `${h.name}=${peer(h)}`)
        .join(',')}`,
      '--initial-cluster-state=new',
      '--initial-cluster-token=sumstream',
      '--heartbeat-interval=100',
      '--election-timeout=1000',
      '--logger=zap',
      '--log-level=warn',
    ]);
  }

  private spawnPatroni(host: ClusterHost): void {
    this.spawn(host, 'runuser', [
      '-u',
      PG_OS_USER,
      '--',
      'patroni',
      path.join(this.options.dir, host.name, 'patroni.json'),
    ]);
  }

  private spawn(host: ClusterHost, command: string, args: string[]): void {
    const [cmd, cmdArgs] = inNamespace(host.ns, command, args);
    const child = spawn(cmd, cmdArgs, {
      env: { PATH: this.options.env['PATH'] ?? '/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stream = this.options.logStream(host.name);
    for (const out of [child.stdout, child.stderr])
      createInterface({ input: out }).on('line', (l) => stream.write(`${l}\n`));
    child.on('error', (error) => stream.write(`cannot run ${command}: ${error.message}\n`));
    this.children.set(host.name, child);
  }

  private async waitEtcd(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const host of hostsOf(this.options.plan, 'etcd')) {
      for (;;) {
        const res = await fetch(`http://${host.address}:${HOST_PORTS.etcdClient}/health`, {
          signal: AbortSignal.timeout(1000),
        }).catch(() => undefined);
        if (res?.ok && ((await res.json()) as { health?: string }).health === 'true') break;
        if (Date.now() > deadline) throw new Error(`etcd ${host.name} not healthy within ${START_TIMEOUT_MS} ms`);
        await sleep(200);
      }
    }
  }

  /** Patroni's view of the cluster (`GET /cluster` on the first node that answers). */
  async members(): Promise<PatroniClusterMember[] | undefined> {
    for (const host of hostsOf(this.options.plan, 'postgres')) {
      const res = await fetch(`http://${host.address}:${HOST_PORTS.patroni}/cluster`, {
        signal: AbortSignal.timeout(2000),
      }).catch(() => undefined);
      if (res?.ok) return ((await res.json()) as { members?: PatroniClusterMember[] }).members ?? [];
    }
    return undefined;
  }

  /** Empty when a primary runs and every other node streams from it, one of them synchronously; else why not. */
  async unhealthy(): Promise<string> {
    const members = await this.members();
    if (!members) return 'no Patroni node answers';
    const nodes = hostsOf(this.options.plan, 'postgres').length;
    const leader = members.find((m) => m.role === 'leader' || m.role === 'master' || m.role === 'primary');
    if (!leader || leader.state !== 'running') return `no running primary (${describe(members)})`;
    if (members.length !== nodes) return `${members.length} of ${nodes} nodes in the cluster (${describe(members)})`;
    const replicas = members.filter((m) => m !== leader);
    if (!replicas.every((m) => m.state === 'running' || m.state === 'streaming'))
      return `a replica is not streaming (${describe(members)})`;
    if (!replicas.some((m) => m.role === 'sync_standby')) return `no synchronous standby (${describe(members)})`;
    if (!replicas.every((m) => m.timeline === leader.timeline))
      return `a replica is not on the primary's timeline yet (${describe(members)})`;
    return '';
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const why = await this.unhealthy();
      if (why === '') return;
      if (Date.now() > deadline) throw new Error(`the Patroni cluster is not healthy after ${timeoutMs} ms: ${why}`);
      await sleep(250);
    }
  }

  /** The node Patroni has as the running primary, or undefined. */
  async primary(): Promise<ClusterHost | undefined> {
    for (const host of hostsOf(this.options.plan, 'postgres')) {
      const member = await patroniMember(host);
      if (member?.role === 'primary' && member.state === 'running') return host;
    }
    return undefined;
  }

  /** The synchronous standby by Patroni's view, or undefined. */
  async syncStandby(): Promise<ClusterHost | undefined> {
    const name = (await this.members())?.find((m) => m.role === 'sync_standby')?.name;
    return hostsOf(this.options.plan, 'postgres').find((h) => h.name === name);
  }

  /** A superuser connection string to one node directly (not through the load balancer). */
  nodeUrl(host: ClusterHost, database = 'sumstream'): string {
    const { username, password } = PATRONI_CLUSTER.superuser;
    return `postgres://${username}:${password}@${host.address}:${HOST_PORTS.postgres}/${database}`;
  }

  /** Creates SumStream's role and database on the primary (what roles.sql does on one server). */
  async createRole(): Promise<void> {
    const primary = await this.primary();
    if (!primary) throw new Error('no primary to create the sumstream role on');
    const client = new pg.Client({ connectionString: this.nodeUrl(primary, 'postgres') });
    await client.connect();
    try {
      await client.query("CREATE ROLE sumstream LOGIN SUPERUSER REPLICATION PASSWORD 'sumstream'");
      await client.query('CREATE DATABASE sumstream OWNER sumstream');
    } finally {
      await client.end();
    }
  }

  /**
   * Makes `slot` a permanent logical slot (Patroni's dynamic configuration) and waits until every
   * node has it: the primary's is the relay's, the standbys' are copies Patroni advances.
   */
  async makeSlotPermanent(slot: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const primary = await this.primary();
    if (!primary) throw new Error('no primary to configure');
    const res = await fetch(`http://${primary.address}:${HOST_PORTS.patroni}/config`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(permanentSlot(slot)),
    });
    if (!res.ok) throw new Error(`Patroni refused the slot configuration: HTTP ${res.status} ${await res.text()}`);
    const deadline = Date.now() + timeoutMs;
    for (const host of hostsOf(this.options.plan, 'postgres')) {
      while (!(await this.hasSlot(host, slot))) {
        if (Date.now() > deadline) throw new Error(`slot ${slot} did not reach ${host.name} within ${timeoutMs} ms`);
        await sleep(500);
      }
    }
    await this.waitHealthy(timeoutMs);
  }

  /** Sets a PostgreSQL parameter on every node through Patroni's dynamic configuration; waits until the primary has it. */
  async setParameter(name: string, value: string, timeoutMs = 30_000): Promise<void> {
    const primary = await this.primary();
    if (!primary) throw new Error('no primary to configure');
    const res = await fetch(`http://${primary.address}:${HOST_PORTS.patroni}/config`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ postgresql: { parameters: { [name]: value } } }),
    });
    if (!res.ok) throw new Error(`Patroni refused ${name}=${value}: HTTP ${res.status} ${await res.text()}`);
    const client = new pg.Client({ connectionString: this.nodeUrl(primary) });
    await client.connect();
    try {
      for (const deadline = Date.now() + timeoutMs; ; await sleep(250)) {
        const { rows } = await client.query<{ setting: string }>('SELECT current_setting($1) AS setting', [name]);
        if (rows[0]?.setting === value) return;
        if (Date.now() > deadline) throw new Error(`${name} is still ${rows[0]?.setting} after ${timeoutMs} ms`);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Whether `slot` exists on this node (undefined when the node does not answer). */
  async hasSlot(host: ClusterHost, slot: string): Promise<boolean | undefined> {
    const client = new pg.Client({ connectionString: this.nodeUrl(host), connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rowCount } = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      return rowCount === 1;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Drops `slot` on this node (a chaos fault: a standby whose copy was not synced yet). */
  async dropSlot(host: ClusterHost, slot: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.nodeUrl(host), connectionTimeoutMillis: 2000 });
    await client.connect();
    try {
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** `kill -9` of the node's postmaster only (its Patroni sees it die). */
  async killPostgres(host: ClusterHost): Promise<void> {
    const pidFile = path.join(this.options.dir, host.name, 'data', 'postmaster.pid');
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
    if (!(pid > 0)) throw new Error(`${host.name}: no postmaster.pid`);
    process.kill(pid, 'SIGKILL');
  }

  /** `kill -9` of everything on the host (Patroni and PostgreSQL: the machine died). */
  async killHost(host: ClusterHost): Promise<void> {
    for (const pid of await namespacePids(host.ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (let i = 0; i < 50 && (await namespacePids(host.ns)).length > 0; i++) await sleep(100);
  }

  /** Starts the host's Patroni (or etcd) again after killHost. */
  startHost(host: ClusterHost): void {
    if (host.role === 'etcd') this.spawnEtcd(host);
    else this.spawnPatroni(host);
  }

  /** A planned switchover to `candidate` (Patroni's REST API on the primary). */
  async switchover(primary: ClusterHost, candidate: ClusterHost): Promise<void> {
    const res = await fetch(`http://${primary.address}:${HOST_PORTS.patroni}/switchover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ leader: primary.name, candidate: candidate.name }),
      signal: AbortSignal.timeout(60_000),
    });
    if (!res.ok)
      throw new Error(`switchover ${primary.name} -> ${candidate.name}: HTTP ${res.status} ${await res.text()}`);
  }

  /** Stops Patroni (which stops its PostgreSQL) and etcd. */
  async stop(): Promise<void> {
    for (const host of [...hostsOf(this.options.plan, 'postgres'), ...hostsOf(this.options.plan, 'etcd')]) {
      for (const pid of await namespacePids(host.ns)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
    const deadline = Date.now() + 20_000;
    for (const host of hostsOf(this.options.plan, 'postgres'))
      while ((await namespacePids(host.ns)).length > 0 && Date.now() < deadline) await sleep(200);
  }
}

function describe(members: readonly PatroniClusterMember[]): string {
  return members.map((m) => `${m.name} ${m.role} ${m.state} tl ${m.timeline ?? '?'}`).join('; ');
}

async function osUser(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runOk('id', ['-u', name]), runOk('id', ['-g', name])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}
