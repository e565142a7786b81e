/**
 * A project-owned PostgreSQL server (not the system service), configured for logical decoding.
 *
 * Layout for dataDir = <base>/data:
 *   <base>/data   cluster (initdb), owned by the OS user that runs PostgreSQL
 *   <base>/run    unix socket directory (falls back to a short /tmp path if the socket path would be too long)
 *   <base>/logs   postgresql.log (server output)
 *
 * When running as root, PostgreSQL refuses to run as root, so it is run as the OS user `postgres`
 * (created by the Debian `postgresql` package) via `runuser -u postgres --`. <base> and its subfolders are
 * chowned to that user; every ancestor of <base> must be traversable by it (o+x), which is the case for
 * the default layout under the repository (`<repo>/.sumstream/...`) unless the repo lives in a 0700 home.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { isPortOpen, run, runOk, tailFile, type RunResult } from './exec.js';
import { inNamespace } from './netns.js';

/**
 * The server's defaults. `maxSlotWalKeepSize`: the most WAL a replication slot may hold back
 * (`max_slot_wal_keep_size`); past it PostgreSQL invalidates the slot at its next checkpoint instead of
 * filling the disk (docs/operations.md, "WAL: the slot's bound"). 4GB: at about 0.6 kB of WAL per
 * addition, some 6 hours of a stopped relay at the load tool's 300 additions a second, and still small
 * beside a laptop's free disk.
 */
export const POSTGRES_DEFAULTS = { maxSlotWalKeepSize: '4GB' } as const;

export interface PostgresInstanceOptions {
  /** Absolute path of the cluster directory; created and initdb'ed if missing or empty. */
  dataDir: string;
  /** TCP port to listen on. */
  port: number;
  /** Address to listen on (listen_addresses). Default '127.0.0.1'. */
  host?: string;
  /** Network namespace the server runs in. Default: the caller's. */
  netns?: string;
  /** Another network (CIDR) allowed in, with the role's password (scram-sha-256). Default: loopback only. */
  clientCidr?: string;
  /**
   * `max_slot_wal_keep_size`: a PostgreSQL size (`4GB`, `512MB`, a number of MB) or `-1` for unlimited.
   * Default `POSTGRES_DEFAULTS.maxSlotWalKeepSize`.
   */
  maxSlotWalKeepSize?: string;
  /** More postgresql.conf settings, e.g. `{ wal_sender_timeout: '5s' }`; they win over the ones above. */
  settings?: Readonly<Record<string, string>>;
  /** Folder holding pg_ctl, initdb and postgres (`SUMSTREAM_PG_BIN`). Default: the highest /usr/lib/postgresql/<version>/bin. */
  binDir?: string | undefined;
  /** Receives progress lines. Default: discard. */
  log?: (line: string) => void;
}

export interface PostgresInstance {
  /** postgres://sumstream:sumstream@HOST:PORT/sumstream (superuser with REPLICATION). */
  url: string;
  dataDir: string;
  port: number;
  /** Server log file. */
  logFile: string;
  /** `pg_ctl stop -m fast`; no-op when not running. */
  stop(): Promise<void>;
  /** `pg_ctl restart`; mode 'immediate' simulates a crash (WAL recovery on start). Default 'fast'. */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
}

const ROLE = 'sumstream';
const PG_OS_USER = 'postgres';

/** `binDir` when given (it must hold pg_ctl), else the highest /usr/lib/postgresql/<version>/bin containing pg_ctl. */
export function findPostgresBin(binDir?: string): string {
  if (binDir) {
    if (existsSync(path.join(binDir, 'pg_ctl'))) return binDir;
    throw new Error(`SUMSTREAM_PG_BIN=${binDir} has no pg_ctl; unset it or point it at a PostgreSQL bin directory`);
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const best = versions[0];
  if (best === undefined) {
    throw new Error(
      'PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/pg_ctl). ' +
        'Run `bash scripts/ensure-system-deps.sh` (installs the Debian `postgresql` package) or set SUMSTREAM_PG_BIN.',
    );
  }
  return path.join(root, best, 'bin');
}

export async function startPostgres(options: PostgresInstanceOptions): Promise<PostgresInstance> {
  const { dataDir, port } = options;
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => {});
  const maxSlotWalKeepSize = options.maxSlotWalKeepSize ?? POSTGRES_DEFAULTS.maxSlotWalKeepSize;
  if (!isPostgresSize(maxSlotWalKeepSize))
    throw new Error(
      `max_slot_wal_keep_size must be a PostgreSQL size such as 4GB or 512MB, or -1 for unlimited; got ${JSON.stringify(maxSlotWalKeepSize)}.`,
    );
  if (!path.isAbsolute(dataDir)) throw new Error(`postgres dataDir must be absolute, got ${dataDir}`);
  const bin = findPostgresBin(options.binDir);
  const base = path.dirname(dataDir);
  const logFile = path.join(base, 'logs', 'postgresql.log');
  const asRoot = process.getuid?.() === 0;

  /** Runs a PostgreSQL binary as the right OS user, in a new session. */
  const pgRun = (tool: string, args: string[]): Promise<RunResult> => {
    const full = path.join(bin, tool);
    const [command, wrapped] = asRoot
      ? inNamespace(options.netns, 'runuser', ['-u', PG_OS_USER, '--', full, ...args])
      : inNamespace(options.netns, full, args);
    return run(command, wrapped, { cwd: base, detached: true });
  };
  const pgOk = async (tool: string, args: string[]): Promise<string> => {
    const r = await pgRun(tool, args);
    if (r.code !== 0) {
      const tail = await tailFile(logFile);
      throw new Error(
        `${tool} ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}${r.stdout}\n${tail ? `--- ${logFile} ---\n${tail}` : ''}`,
      );
    }
    return r.stdout;
  };

  const { socketDir, owner } = await prepareDirs(base, dataDir, port, asRoot, log);
  const writeConf = async (name: string, text: string): Promise<void> => {
    const file = path.join(dataDir, name);
    await writeFile(file, text);
    if (owner) await chown(file, owner.uid, owner.gid);
  };

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    if (readdirSync(dataDir).length > 0) {
      throw new Error(`${dataDir} is not empty and not a PostgreSQL cluster; delete it or choose another dataDir`);
    }
    const t0 = Date.now();
    log(`postgres: initdb ${dataDir}`);
    await pgOk('initdb', ['-D', dataDir, '-U', ROLE, '--auth=trust', '--encoding=UTF8', '--no-locale']);
    const conf = await readFile(path.join(dataDir, 'postgresql.conf'), 'utf8');
    await writeConf(
      'postgresql.conf',
      `${conf}\n# SumStream settings (rewritten on every start)\ninclude_if_exists = 'sumstream.conf'\n`,
    );
    log(`postgres: initdb done in ${Date.now() - t0} ms`);
  }
  const running = await runningPort(dataDir, pgRun);
  if (running !== undefined && running !== port) {
    throw new Error(
      `PostgreSQL from ${dataDir} is already running on port ${running}, not ${port}. ` +
        `Stop it (${path.join(bin, 'pg_ctl')} stop -D ${dataDir}) or use port ${running}.`,
    );
  }
  if (running === undefined) {
    if (await isPortOpen(port, host)) {
      throw new Error(
        `port ${port} on ${host} is already in use by another process; choose another port or stop that process`,
      );
    }
    await writeConf('pg_hba.conf', hba(options.clientCidr));
    await writeConf(
      'sumstream.conf',
      serverConf(host, port, socketDir, { max_slot_wal_keep_size: `'${maxSlotWalKeepSize}'`, ...options.settings }),
    );
    const t0 = Date.now();
    await pgOk('pg_ctl', ['start', '-w', '-t', '120', '-D', dataDir, '-l', logFile]);
    log(`postgres: started on ${host}:${port} in ${Date.now() - t0} ms (log: ${logFile})`);
  } else {
    log(`postgres: already running on ${host}:${port} from ${dataDir}`);
  }
  await ensureRoleAndDatabase(socketDir, port);

  return {
    url: `postgres://${ROLE}:${ROLE}@${host.includes(':') ? `[${host}]` : host}:${port}/${ROLE}`,
    dataDir,
    port,
    logFile,
    async stop() {
      const r = await pgRun('pg_ctl', ['stop', '-w', '-t', '120', '-m', 'fast', '-D', dataDir]);
      if (r.code !== 0 && !/is the server running|does not exist/i.test(r.stderr + r.stdout)) {
        throw new Error(`pg_ctl stop failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
      }
      log(`postgres: stopped (${dataDir})`);
    },
    async restart(mode = 'fast') {
      await pgOk('pg_ctl', ['restart', '-w', '-t', '120', '-m', mode, '-D', dataDir, '-l', logFile]);
      log(`postgres: restarted (${mode})`);
    },
  };
}

interface Prepared {
  socketDir: string;
  /** Set when running as root: the postgres OS user that must own the cluster files. */
  owner?: { uid: number; gid: number };
}

/** Creates <base>/{data,run,logs}; when root, hands them to the postgres OS user. */
async function prepareDirs(
  base: string,
  dataDir: string,
  port: number,
  asRoot: boolean,
  log: (l: string) => void,
): Promise<Prepared> {
  let socketDir = path.join(base, 'run');
  // Unix socket paths are limited to 107 bytes.
  if (Buffer.byteLength(path.join(socketDir, `.s.PGSQL.${port}.lock`)) > 100) {
    const hash = createHash('sha1').update(dataDir).digest('hex').slice(0, 12);
    socketDir = path.join(tmpdir(), `sumstream-pg-${hash}`);
    log(`postgres: ${base}/run is too long for a unix socket path; using ${socketDir}`);
  }
  const dirs = [base, dataDir, socketDir, path.join(base, 'logs')];
  for (const d of dirs) await mkdir(d, { recursive: true, mode: 0o755 });
  await chmod(dataDir, 0o700); // PostgreSQL refuses group/world-accessible data directories
  if (!asRoot) return { socketDir };

  const ids = (await runOk('id', [PG_OS_USER]).catch(() => '')).match(/uid=(\d+).*?gid=(\d+)/);
  if (!ids?.[1] || !ids[2]) {
    throw new Error(
      `running as root, so PostgreSQL must run as OS user '${PG_OS_USER}', which does not exist. ` +
        'Install the Debian postgresql package (bash scripts/ensure-system-deps.sh) or run as a non-root user.',
    );
  }
  const [uid, gid] = [Number(ids[1]), Number(ids[2])];
  for (const d of dirs) await chown(d, uid, gid);
  // Every ancestor must be traversable by the postgres user; on failure, name the first one that is not.
  const canTraverse = async (d: string): Promise<boolean> =>
    (await run('runuser', ['-u', PG_OS_USER, '--', 'test', '-x', d])).code === 0;
  if (!(await canTraverse(base))) {
    const chain: string[] = [];
    for (let d = base; ; d = path.dirname(d)) {
      chain.unshift(d);
      if (d === path.dirname(d)) break;
    }
    let culprit = base;
    for (const d of chain) {
      if (!(await canTraverse(d))) {
        culprit = d;
        break;
      }
    }
    throw new Error(
      `OS user '${PG_OS_USER}' (PostgreSQL cannot run as root) cannot traverse ${culprit}, so it cannot reach ${dataDir}. ` +
        `Fix with \`chmod o+x ${culprit}\` or choose a dataDir under a world-traversable directory (e.g. /var/tmp).`,
    );
  }
  return { socketDir, owner: { uid, gid } };
}

/** Port from postmaster.pid when the cluster is running, else undefined. */
async function runningPort(
  dataDir: string,
  pgRun: (tool: string, args: string[]) => Promise<RunResult>,
): Promise<number | undefined> {
  const status = await pgRun('pg_ctl', ['status', '-D', dataDir]);
  if (status.code !== 0) return undefined;
  const lines = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  return Number(lines[3]);
}

/** A PostgreSQL size (`4GB`, `512MB`, `64kB`, or a plain number in the setting's unit), or -1. */
export function isPostgresSize(value: string): boolean {
  return /^(-1|\d+(kB|MB|GB|TB)?)$/.test(value);
}

function serverConf(host: string, port: number, socketDir: string, settings: Readonly<Record<string, string>>): string {
  return [
    `listen_addresses = '${host}'`,
    `port = ${port}`,
    `unix_socket_directories = '${socketDir}'`,
    `wal_level = logical`,
    `max_replication_slots = 20`,
    `max_wal_senders = 20`,
    `fsync = on`,
    `max_connections = 300`,
    `shared_buffers = 256MB`,
    `log_line_prefix = '%m [%p] %q%u@%d '`,
    ...Object.entries(settings).map(([name, value]) => `${name} = ${value}`),
    '',
  ].join('\n');
}

function hba(clientCidr: string | undefined): string {
  const network = clientCidr
    ? [
        `host    all          all   ${clientCidr}  scram-sha-256`,
        `host    replication  all   ${clientCidr}  scram-sha-256`,
      ]
    : [];
  return `# SumStream dev/test cluster: trust on loopback only (rewritten on every start)
local   all          all                 trust
host    all          all   127.0.0.1/32  trust
host    all          all   ::1/128       trust
local   replication  all                 trust
host    replication  all   127.0.0.1/32  trust
host    replication  all   ::1/128       trust
${network.map((line) => `${line}\n`).join('')}`;
}

/** Sets the sumstream role's password/attributes and creates the sumstream database (idempotent). */
async function ensureRoleAndDatabase(socketDir: string, port: number): Promise<void> {
  // Over the unix socket: trusted, and reachable even when the server listens in another namespace.
  const client = new pg.Client({ host: socketDir, port, user: ROLE, database: 'postgres' });
  await client.connect();
  try {
    await client.query(`ALTER ROLE ${ROLE} WITH SUPERUSER REPLICATION LOGIN PASSWORD '${ROLE}'`);
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [ROLE]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${ROLE} OWNER ${ROLE}`);
  } finally {
    await client.end();
  }
}
